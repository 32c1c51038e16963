import XCTest
@testable import StrataTemplates

/// Cases from the core modules of the Mustache specification (interpolation,
/// sections, inverted sections, comments, delimiters, partials), chosen for
/// the whitespace and lookup rules that are easiest to get wrong.
final class TemplateSpecTests: XCTestCase {
    private func check(_ cases: [(String, String, String, [String: String], String)], file: StaticString = #filePath, line: UInt = #line) throws {
        for (name, template, json, partials, expected) in cases {
            var sources = partials
            sources["main"] = template
            let data = try JSONDecoder().decode(TemplateValue.self, from: Data(json.utf8))
            let output = String(decoding: try TemplateLibrary(sources: sources).render("main", data), as: UTF8.self)
            XCTAssertEqual(output, expected, name, file: file, line: line)
        }
    }

    func testInterpolation() throws {
        try check([
            ("No Interpolation", "Hello from {Mustache}!\n", "{}", [:], "Hello from {Mustache}!\n"),
            ("Basic Decimal", "\"{{power}} jiggawatts!\"", #"{"power":1.21}"#, [:], "\"1.21 jiggawatts!\""),
            ("Basic Integer", "\"{{mph}} miles an hour!\"", #"{"mph":85}"#, [:], "\"85 miles an hour!\""),
            ("Basic Null", "I ({{cannot}}) be seen!", #"{"cannot":null}"#, [:], "I () be seen!"),
            ("Dotted Names - Broken Chains", "\"{{a.b.c}}\" == \"\"", #"{"a":{}}"#, [:], "\"\" == \"\""),
            ("Dotted Names - Broken Chain Resolution", "\"{{a.b.c.name}}\" == \"\"", #"{"a":{"b":{}},"c":{"name":"Jim"}}"#, [:], "\"\" == \"\""),
            ("Dotted Names - Initial Resolution", "\"{{#a}}{{b.c.d.e.name}}{{/a}}\" == \"Phil\"",
             #"{"a":{"b":{"c":{"d":{"e":{"name":"Phil"}}}}},"b":{"c":{"d":{"e":{"name":"Wrong"}}}}}"#, [:], "\"Phil\" == \"Phil\""),
            ("Dotted Names - Context Precedence", "{{#a}}{{b.c}}{{/a}}", #"{"a":{"b":{}},"b":{"c":"ERROR"}}"#, [:], ""),
            ("Implicit Iterators - Basic Interpolation", "Hello, {{.}}!\n", #""world""#, [:], "Hello, world!\n"),
            ("Interpolation - Standalone", "  {{string}}\n", #"{"string":"---"}"#, [:], "  ---\n"),
            ("Ampersand - Standalone", "  {{&string}}\n", #"{"string":"---"}"#, [:], "  ---\n"),
            ("Interpolation With Padding", "|{{ string }}|", #"{"string":"---"}"#, [:], "|---|"),
        ])
    }

    func testSections() throws {
        try check([
            ("Context", "\"{{#context}}Hi {{name}}.{{/context}}\"", #"{"context":{"name":"Joe"}}"#, [:], "\"Hi Joe.\""),
            ("Deeply Nested Contexts", "{{#a}}{{one}}{{#b}}{{one}}{{two}}{{#c}}{{one}}{{two}}{{three}}{{/c}}{{/b}}{{/a}}",
             #"{"a":{"one":1},"b":{"two":2},"c":{"three":3}}"#, [:], "112123"),
            ("List of lists", "{{#list}}({{#.}}{{.}}{{/.}}){{/list}}", #"{"list":[[1,2],[3]]}"#, [:], "(12)(3)"),
            ("Variable", "\"{{#foo}}{{.}} is {{foo}}{{/foo}}\"", #"{"foo":"bar"}"#, [:], "\"bar is bar\""),
            ("Dotted Names - Truthy", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"Here\"", #"{"a":{"b":{"c":true}}}"#, [:], "\"Here\" == \"Here\""),
            ("Dotted Names - Broken Chains", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", #"{"a":{}}"#, [:], "\"\" == \"\""),
            ("Surrounding Whitespace", " | {{#boolean}}\t|\t{{/boolean}} | \n", #"{"boolean":true}"#, [:], " | \t|\t | \n"),
            ("Internal Whitespace", " | {{#boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n", #"{"boolean":true}"#, [:], " |  \n  | \n"),
            ("Indented Inline Sections", " {{#boolean}}YES{{/boolean}}\n {{#boolean}}GOOD{{/boolean}}\n", #"{"boolean":true}"#, [:], " YES\n GOOD\n"),
            ("Standalone Lines", "| This Is\n{{#boolean}}\n|\n{{/boolean}}\n| A Line\n", #"{"boolean":true}"#, [:], "| This Is\n|\n| A Line\n"),
            ("Indented Standalone Lines", "| This Is\n  {{#boolean}}\n|\n  {{/boolean}}\n| A Line\n", #"{"boolean":true}"#, [:], "| This Is\n|\n| A Line\n"),
            ("Standalone Without Previous Line", "  {{#boolean}}\n#{{/boolean}}\n/", #"{"boolean":true}"#, [:], "#\n/"),
            ("Standalone Without Newline", "#{{#boolean}}\n/\n  {{/boolean}}", #"{"boolean":true}"#, [:], "#\n/\n"),
            ("Inverted - Context Misses", "[{{^missing}}Found key 'missing'!{{/missing}}]", "{}", [:], "[Found key 'missing'!]"),
        ])
    }

    func testCommentsDelimitersAndPartials() throws {
        try check([
            ("Multiline comment", "12345{{!\n  This is a\n  multi-line comment...\n}}67890\n", "{}", [:], "1234567890\n"),
            ("Standalone comment", "Begin.\n{{! Comment Block! }}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
            ("Indented Inline comment", "  12 {{! 34 }}\n", "{}", [:], "  12 \n"),
            ("Standalone Multiline comment", "Begin.\n{{!\nSomething's going on here...\n}}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
            ("Delimiters - Sections", "[\n{{#section}}\n  {{data}}\n  |data|\n{{/section}}\n{{= | | =}}\n|#section|\n  {{data}}\n  |data|\n|/section|\n]\n",
             #"{"section":true,"data":"I got interpolated."}"#, [:], "[\n  I got interpolated.\n  |data|\n  {{data}}\n  I got interpolated.\n]\n"),
            ("Delimiters - Partial Inheritance", "[ {{>include}} ]\n{{= | | =}}\n[ |>include| ]\n", #"{"value":"yes"}"#, ["include": ".{{value}}."],
             "[ .yes. ]\n[ .yes. ]\n"),
            ("Delimiters - Standalone Tag", "Begin.\n{{=@ @=}}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
            ("Partials - Context", "\"{{>partial}}\"", #"{"text":"content"}"#, ["partial": "*{{text}}*"], "\"*content*\""),
            ("Partials - Recursion", "{{>node}}", #"{"content":"X","nodes":[{"content":"Y","nodes":[]}]}"#,
             ["node": "{{content}}<{{#nodes}}{{>node}}{{/nodes}}>"], "X<Y<>>"),
            ("Partials - Inline Indentation", "  {{data}}  {{> partial}}\n", #"{"data":"|"}"#, ["partial": ">\n>"], "  |  >\n>\n"),
            ("Partials - Padding Whitespace", "|{{> partial }}|", #"{"boolean":true}"#, ["partial": "[]"], "|[]|"),
        ])
    }
}
