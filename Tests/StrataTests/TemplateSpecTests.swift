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

    func testInterpolationVariants() throws {
        let forbidden = #"{"forbidden":"& \" < >"}"#
        try check([
            ("Basic Interpolation", "Hello, {{subject}}!\n", #"{"subject":"world"}"#, [:], "Hello, world!\n"),
            ("HTML Escaping", "These characters should be HTML escaped: {{forbidden}}\n", forbidden, [:],
             "These characters should be HTML escaped: &amp; &quot; &lt; &gt;\n"),
            ("Triple Mustache", "These characters should not be HTML escaped: {{{forbidden}}}\n", forbidden, [:],
             "These characters should not be HTML escaped: & \" < >\n"),
            ("Ampersand", "These characters should not be HTML escaped: {{&forbidden}}\n", forbidden, [:],
             "These characters should not be HTML escaped: & \" < >\n"),
            ("Triple Mustache Integer", "\"{{{mph}}} miles an hour!\"", #"{"mph":85}"#, [:], "\"85 miles an hour!\""),
            ("Ampersand Integer", "\"{{&mph}} miles an hour!\"", #"{"mph":85}"#, [:], "\"85 miles an hour!\""),
            ("Triple Mustache Decimal", "\"{{{power}}} jiggawatts!\"", #"{"power":1.21}"#, [:], "\"1.21 jiggawatts!\""),
            ("Ampersand Decimal", "\"{{&power}} jiggawatts!\"", #"{"power":1.21}"#, [:], "\"1.21 jiggawatts!\""),
            ("Triple Mustache Null", "I ({{{cannot}}}) be seen!", #"{"cannot":null}"#, [:], "I () be seen!"),
            ("Ampersand Null", "I ({{&cannot}}) be seen!", #"{"cannot":null}"#, [:], "I () be seen!"),
            ("Basic Context Miss", "I ({{cannot}}) be seen!", "{}", [:], "I () be seen!"),
            ("Triple Mustache Context Miss", "I ({{{cannot}}}) be seen!", "{}", [:], "I () be seen!"),
            ("Ampersand Context Miss", "I ({{&cannot}}) be seen!", "{}", [:], "I () be seen!"),
            ("Dotted Names - Basic", "\"{{person.name}}\" == \"{{#person}}{{name}}{{/person}}\"", #"{"person":{"name":"Joe"}}"#, [:], "\"Joe\" == \"Joe\""),
            ("Dotted Names - Triple Mustache", "\"{{{person.name}}}\" == \"{{#person}}{{{name}}}{{/person}}\"", #"{"person":{"name":"Joe"}}"#, [:], "\"Joe\" == \"Joe\""),
            ("Dotted Names - Ampersand", "\"{{&person.name}}\" == \"{{#person}}{{&name}}{{/person}}\"", #"{"person":{"name":"Joe"}}"#, [:], "\"Joe\" == \"Joe\""),
            ("Dotted Names - Arbitrary Depth", "\"{{a.b.c.d.e.name}}\" == \"Phil\"", #"{"a":{"b":{"c":{"d":{"e":{"name":"Phil"}}}}}}"#, [:], "\"Phil\" == \"Phil\""),
            ("Dotted Names are never single keys", "{{a.b}}", #"{"a.b":"c"}"#, [:], ""),
            ("Dotted Names - No Masking", "{{a.b}}", #"{"a.b":"c","a":{"b":"d"}}"#, [:], "d"),
            ("Implicit Iterators - HTML Escaping", "These characters should be HTML escaped: {{.}}\n", #""& \" < >""#, [:],
             "These characters should be HTML escaped: &amp; &quot; &lt; &gt;\n"),
            ("Implicit Iterators - Triple Mustache", "These characters should not be HTML escaped: {{{.}}}\n", #""& \" < >""#, [:],
             "These characters should not be HTML escaped: & \" < >\n"),
            ("Implicit Iterators - Ampersand", "These characters should not be HTML escaped: {{&.}}\n", #""& \" < >""#, [:],
             "These characters should not be HTML escaped: & \" < >\n"),
            ("Implicit Iterators - Basic Integer", "\"{{.}} miles an hour!\"", "85", [:], "\"85 miles an hour!\""),
            ("Interpolation - Surrounding Whitespace", "| {{string}} |", #"{"string":"---"}"#, [:], "| --- |"),
            ("Triple Mustache - Surrounding Whitespace", "| {{{string}}} |", #"{"string":"---"}"#, [:], "| --- |"),
            ("Ampersand - Surrounding Whitespace", "| {{&string}} |", #"{"string":"---"}"#, [:], "| --- |"),
            ("Triple Mustache - Standalone", "  {{{string}}}\n", #"{"string":"---"}"#, [:], "  ---\n"),
            ("Triple Mustache With Padding", "|{{{ string }}}|", #"{"string":"---"}"#, [:], "|---|"),
            ("Ampersand With Padding", "|{{& string }}|", #"{"string":"---"}"#, [:], "|---|"),
        ])
    }

    func testInvertedSections() throws {
        try check([
            ("Falsey", "\"{{^boolean}}This should be rendered.{{/boolean}}\"", #"{"boolean":false}"#, [:], "\"This should be rendered.\""),
            ("Truthy", "\"{{^boolean}}This should not be rendered.{{/boolean}}\"", #"{"boolean":true}"#, [:], "\"\""),
            ("Null is falsey", "\"{{^null}}This should be rendered.{{/null}}\"", #"{"null":null}"#, [:], "\"This should be rendered.\""),
            ("Context", "\"{{^context}}Hi {{name}}.{{/context}}\"", #"{"context":{"name":"Joe"}}"#, [:], "\"\""),
            ("List", "\"{{^list}}{{n}}{{/list}}\"", #"{"list":[{"n":1},{"n":2},{"n":3}]}"#, [:], "\"\""),
            ("Empty List", "\"{{^list}}Yay lists!{{/list}}\"", #"{"list":[]}"#, [:], "\"Yay lists!\""),
            ("Doubled", "{{^bool}}\n* first\n{{/bool}}\n* {{two}}\n{{^bool}}\n* third\n{{/bool}}\n", #"{"bool":false,"two":"second"}"#, [:],
             "* first\n* second\n* third\n"),
            ("Nested (Falsey)", "| A {{^bool}}B {{^bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":false}"#, [:], "| A B C D E |"),
            ("Nested (Truthy)", "| A {{^bool}}B {{^bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":true}"#, [:], "| A  E |"),
            ("Dotted Names - Truthy", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"\"", #"{"a":{"b":{"c":true}}}"#, [:], "\"\" == \"\""),
            ("Dotted Names - Falsey", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", #"{"a":{"b":{"c":false}}}"#, [:], "\"Not Here\" == \"Not Here\""),
            ("Dotted Names - Broken Chains", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", #"{"a":{}}"#, [:], "\"Not Here\" == \"Not Here\""),
            ("Surrounding Whitespace", " | {{^boolean}}\t|\t{{/boolean}} | \n", #"{"boolean":false}"#, [:], " | \t|\t | \n"),
            ("Internal Whitespace", " | {{^boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n", #"{"boolean":false}"#, [:], " |  \n  | \n"),
            ("Indented Inline Sections", " {{^boolean}}NO{{/boolean}}\n {{^boolean}}WAY{{/boolean}}\n", #"{"boolean":false}"#, [:], " NO\n WAY\n"),
            ("Standalone Lines", "| This Is\n{{^boolean}}\n|\n{{/boolean}}\n| A Line\n", #"{"boolean":false}"#, [:], "| This Is\n|\n| A Line\n"),
            ("Standalone Indented Lines", "| This Is\n  {{^boolean}}\n|\n  {{/boolean}}\n| A Line\n", #"{"boolean":false}"#, [:], "| This Is\n|\n| A Line\n"),
            ("Standalone Line Endings", "|\r\n{{^boolean}}\r\n{{/boolean}}\r\n|", #"{"boolean":false}"#, [:], "|\r\n|"),
            ("Standalone Without Previous Line", "  {{^boolean}}\n^{{/boolean}}\n/", #"{"boolean":false}"#, [:], "^\n/"),
            ("Standalone Without Newline", "^{{^boolean}}\n/\n  {{/boolean}}", #"{"boolean":false}"#, [:], "^\n/\n"),
            ("Padding", "|{{^ boolean }}={{/ boolean }}|", #"{"boolean":false}"#, [:], "|=|"),
        ])
    }

    func testMoreSections() throws {
        try check([
            ("Truthy", "\"{{#boolean}}This should be rendered.{{/boolean}}\"", #"{"boolean":true}"#, [:], "\"This should be rendered.\""),
            ("Falsey", "\"{{#boolean}}This should not be rendered.{{/boolean}}\"", #"{"boolean":false}"#, [:], "\"\""),
            ("Null is falsey", "\"{{#null}}This should not be rendered.{{/null}}\"", #"{"null":null}"#, [:], "\"\""),
            ("Parent contexts", "\"{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}\"", #"{"a":"foo","b":"wrong","sec":{"b":"bar"},"c":{"d":"baz"}}"#, [:],
             "\"foo, bar, baz\""),
            ("Variable test", "\"{{#foo}}{{.}} is {{foo}}{{/foo}}\"", #"{"foo":"bar"}"#, [:], "\"bar is bar\""),
            ("List", "\"{{#list}}{{item}}{{/list}}\"", #"{"list":[{"item":1},{"item":2},{"item":3}]}"#, [:], "\"123\""),
            ("Empty List", "\"{{#list}}Yay lists!{{/list}}\"", #"{"list":[]}"#, [:], "\"\""),
            ("Doubled", "{{#bool}}\n* first\n{{/bool}}\n* {{two}}\n{{#bool}}\n* third\n{{/bool}}\n", #"{"bool":true,"two":"second"}"#, [:],
             "* first\n* second\n* third\n"),
            ("Nested (Truthy)", "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":true}"#, [:], "| A B C D E |"),
            ("Nested (Falsey)", "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":false}"#, [:], "| A  E |"),
            ("Context Misses", "[{{#missing}}Found key 'missing'!{{/missing}}]", "{}", [:], "[]"),
            ("Implicit Iterator - String", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":["a","b","c","d","e"]}"#, [:], "\"(a)(b)(c)(d)(e)\""),
            ("Implicit Iterator - Integer", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":[1,2,3,4,5]}"#, [:], "\"(1)(2)(3)(4)(5)\""),
            ("Implicit Iterator - Decimal", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":[1.1,2.2,3.3]}"#, [:], "\"(1.1)(2.2)(3.3)\""),
            ("Implicit Iterator - Array", "\"{{#list}}({{#.}}{{.}}{{/.}}){{/list}}\"", #"{"list":[[1,2,3],["a","b","c"]]}"#, [:], "\"(123)(abc)\""),
            ("Implicit Iterator - HTML Escaping", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":["&","\"","<",">"]}"#, [:], "\"(&amp;)(&quot;)(&lt;)(&gt;)\""),
            ("Implicit Iterator - Triple mustache", "\"{{#list}}({{{.}}}){{/list}}\"", #"{"list":["&","\"","<",">"]}"#, [:], "\"(&)(\")(<)(>)\""),
            ("Implicit Iterator - Root-level", "\"{{#.}}({{value}}){{/.}}\"", #"[{"value":"a"},{"value":"b"}]"#, [:], "\"(a)(b)\""),
            ("Dotted Names - Falsey", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", #"{"a":{"b":{"c":false}}}"#, [:], "\"\" == \"\""),
            ("Standalone Line Endings", "|\r\n{{#boolean}}\r\n{{/boolean}}\r\n|", #"{"boolean":true}"#, [:], "|\r\n|"),
            ("Padding", "|{{# boolean }}={{/ boolean }}|", #"{"boolean":true}"#, [:], "|=|"),
        ])
    }

    func testMorePartialsCommentsAndDelimiters() throws {
        try check([
            ("Partials - Basic Behavior", "\"{{>text}}\"", "{}", ["text": "from partial"], "\"from partial\""),
            ("Partials - Failed Lookup", "\"{{>text}}\"", "{}", [:], "\"\""),
            ("Partials - Nested", "{{>outer}}", #"{"a":"hello","b":"world"}"#, ["outer": "*{{a}} {{>inner}}*", "inner": "{{b}}!"], "*hello world!*"),
            ("Partials - Surrounding Whitespace", "| {{>partial}} |", "{}", ["partial": "\t|\t"], "| \t|\t |"),
            ("Partials - Standalone Line Endings", "|\r\n{{>partial}}\r\n|", "{}", ["partial": ">"], "|\r\n>|"),
            ("Partials - Standalone Without Previous Line", "  {{>partial}}\n>", "{}", ["partial": ">\n>"], "  >\n  >>"),
            ("Partials - Standalone Without Newline", ">\n  {{>partial}}", "{}", ["partial": ">\n>"], ">\n  >\n  >"),
            ("Partials - Standalone Indentation", "\\\n {{>partial}}\n/\n", #"{"content":"<\n->"}"#, ["partial": "|\n{{{content}}}\n|\n"],
             "\\\n |\n <\n->\n |\n/\n"),
            ("Comments - Inline", "12345{{! Comment Block! }}67890", "{}", [:], "1234567890"),
            ("Comments - Indented Standalone", "Begin.\n  {{! Indented Comment Block! }}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
            ("Comments - Standalone Line Endings", "|\r\n{{! Standalone Comment }}\r\n|", "{}", [:], "|\r\n|"),
            ("Comments - Standalone Without Previous Line", "  {{! I'm Still Standalone }}\n!", "{}", [:], "!"),
            ("Comments - Standalone Without Newline", "!\n  {{! I'm Still Standalone }}", "{}", [:], "!\n"),
            ("Comments - Surrounding Whitespace", "12345 {{! Comment Block! }} 67890", "{}", [:], "12345  67890"),
            ("Comments - Variable Name Collision", "comments never show: >{{! comment }}<", #"{"! comment":1,"! comment ":2,"!comment":3,"comment":4}"#, [:],
             "comments never show: ><"),
            ("Delimiters - Pair Behavior", "{{=<% %>=}}(<%text%>)", #"{"text":"Hey!"}"#, [:], "(Hey!)"),
            ("Delimiters - Special Characters", "({{=[ ]=}}[text])", #"{"text":"It worked!"}"#, [:], "(It worked!)"),
            ("Delimiters - Inverted Sections", "[\n{{^section}}\n  {{data}}\n  |data|\n{{/section}}\n{{= | | =}}\n|^section|\n  {{data}}\n  |data|\n|/section|\n]\n",
             #"{"section":false,"data":"I got interpolated."}"#, [:], "[\n  I got interpolated.\n  |data|\n  {{data}}\n  I got interpolated.\n]\n"),
            ("Delimiters - Post-Partial Behavior", "[ {{>include}} ]\n[ .{{value}}.  .|value|. ]\n", #"{"value":"yes"}"#,
             ["include": ".{{value}}. {{= | | =}} .|value|."], "[ .yes.  .yes. ]\n[ .yes.  .|value|. ]\n"),
            ("Delimiters - Surrounding Whitespace", "| {{=@ @=}} |", "{}", [:], "|  |"),
            ("Delimiters - Outlying Whitespace (Inline)", " | {{=@ @=}}\n", "{}", [:], " | \n"),
            ("Delimiters - Indented Standalone Tag", "Begin.\n  {{=@ @=}}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
            ("Delimiters - Standalone Line Endings", "|\r\n{{= @ @ =}}\r\n|", "{}", [:], "|\r\n|"),
            ("Delimiters - Standalone Without Previous Line", "  {{=@ @=}}\n=", "{}", [:], "="),
            ("Delimiters - Standalone Without Newline", "=\n  {{=@ @=}}", "{}", [:], "=\n"),
            ("Delimiters - Pair with Padding", "|{{= @   @ =}}|", "{}", [:], "||"),
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
