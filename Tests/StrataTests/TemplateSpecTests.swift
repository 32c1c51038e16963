import XCTest

@testable import StrataTemplates

/// Every case of the Mustache specification's required modules
/// (interpolation, sections, inverted, comments, partials, delimiters), one
/// table per module under the spec's own case names, so a case the spec adds
/// or an engine change breaks is found by name.
final class TemplateSpecTests: XCTestCase {
    private typealias Case = (name: String, template: String, data: String, partials: [String: String], expected: String)

    private func check(_ module: String, cases: [Case], count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(cases.count, count, "the spec's \(module) module has \(count) cases", file: file, line: line)
        XCTAssertEqual(Set(cases.map(\.name)).count, cases.count, "\(module): a case is listed twice", file: file, line: line)
        for (name, template, json, partials, expected) in cases {
            var sources = partials
            sources["main"] = template
            let data = try JSONDecoder().decode(TemplateValue.self, from: Data(json.utf8))
            let output = String(decoding: try TemplateLibrary(sources: sources).render("main", data), as: UTF8.self)
            XCTAssertEqual(output, expected, "\(module): \(name)", file: file, line: line)
        }
    }

    func testInterpolation() throws {
        let forbidden = #"{"forbidden":"& \" < >"}"#
        try check(
            "interpolation",
            cases: [
                ("No Interpolation", "Hello from {Mustache}!\n", "{}", [:], "Hello from {Mustache}!\n"),
                ("Basic Interpolation", "Hello, {{subject}}!\n", #"{"subject":"world"}"#, [:], "Hello, world!\n"),
                ("No Re-interpolation", "{{template}}: {{planet}}", #"{"template":"{{planet}}","planet":"Earth"}"#, [:], "{{planet}}: Earth"),
                (
                    "HTML Escaping", "These characters should be HTML escaped: {{forbidden}}\n", forbidden, [:],
                    "These characters should be HTML escaped: &amp; &quot; &lt; &gt;\n"
                ),
                (
                    "Triple Mustache", "These characters should not be HTML escaped: {{{forbidden}}}\n", forbidden, [:],
                    "These characters should not be HTML escaped: & \" < >\n"
                ),
                (
                    "Ampersand", "These characters should not be HTML escaped: {{&forbidden}}\n", forbidden, [:],
                    "These characters should not be HTML escaped: & \" < >\n"
                ),
                ("Basic Integer Interpolation", "\"{{mph}} miles an hour!\"", #"{"mph":85}"#, [:], "\"85 miles an hour!\""),
                ("Triple Mustache Integer Interpolation", "\"{{{mph}}} miles an hour!\"", #"{"mph":85}"#, [:], "\"85 miles an hour!\""),
                ("Ampersand Integer Interpolation", "\"{{&mph}} miles an hour!\"", #"{"mph":85}"#, [:], "\"85 miles an hour!\""),
                ("Basic Decimal Interpolation", "\"{{power}} jiggawatts!\"", #"{"power":1.21}"#, [:], "\"1.21 jiggawatts!\""),
                ("Triple Mustache Decimal Interpolation", "\"{{{power}}} jiggawatts!\"", #"{"power":1.21}"#, [:], "\"1.21 jiggawatts!\""),
                ("Ampersand Decimal Interpolation", "\"{{&power}} jiggawatts!\"", #"{"power":1.21}"#, [:], "\"1.21 jiggawatts!\""),
                ("Basic Null Interpolation", "I ({{cannot}}) be seen!", #"{"cannot":null}"#, [:], "I () be seen!"),
                ("Triple Mustache Null Interpolation", "I ({{{cannot}}}) be seen!", #"{"cannot":null}"#, [:], "I () be seen!"),
                ("Ampersand Null Interpolation", "I ({{&cannot}}) be seen!", #"{"cannot":null}"#, [:], "I () be seen!"),
                ("Basic Context Miss Interpolation", "I ({{cannot}}) be seen!", "{}", [:], "I () be seen!"),
                ("Triple Mustache Context Miss Interpolation", "I ({{{cannot}}}) be seen!", "{}", [:], "I () be seen!"),
                ("Ampersand Context Miss Interpolation", "I ({{&cannot}}) be seen!", "{}", [:], "I () be seen!"),
                (
                    "Dotted Names - Basic Interpolation", "\"{{person.name}}\" == \"{{#person}}{{name}}{{/person}}\"", #"{"person":{"name":"Joe"}}"#,
                    [:],
                    "\"Joe\" == \"Joe\""
                ),
                (
                    "Dotted Names - Triple Mustache Interpolation", "\"{{{person.name}}}\" == \"{{#person}}{{{name}}}{{/person}}\"",
                    #"{"person":{"name":"Joe"}}"#, [:], "\"Joe\" == \"Joe\""
                ),
                (
                    "Dotted Names - Ampersand Interpolation", "\"{{&person.name}}\" == \"{{#person}}{{&name}}{{/person}}\"",
                    #"{"person":{"name":"Joe"}}"#, [:],
                    "\"Joe\" == \"Joe\""
                ),
                (
                    "Dotted Names - Arbitrary Depth", "\"{{a.b.c.d.e.name}}\" == \"Phil\"", #"{"a":{"b":{"c":{"d":{"e":{"name":"Phil"}}}}}}"#, [:],
                    "\"Phil\" == \"Phil\""
                ),
                ("Dotted Names - Broken Chains", "\"{{a.b.c}}\" == \"\"", #"{"a":{}}"#, [:], "\"\" == \"\""),
                ("Dotted Names - Broken Chain Resolution", "\"{{a.b.c.name}}\" == \"\"", #"{"a":{"b":{}},"c":{"name":"Jim"}}"#, [:], "\"\" == \"\""),
                (
                    "Dotted Names - Initial Resolution", "\"{{#a}}{{b.c.d.e.name}}{{/a}}\" == \"Phil\"",
                    #"{"a":{"b":{"c":{"d":{"e":{"name":"Phil"}}}}},"b":{"c":{"d":{"e":{"name":"Wrong"}}}}}"#, [:], "\"Phil\" == \"Phil\""
                ),
                ("Dotted Names - Context Precedence", "{{#a}}{{b.c}}{{/a}}", #"{"a":{"b":{}},"b":{"c":"ERROR"}}"#, [:], ""),
                ("Dotted Names are never single keys", "{{a.b}}", #"{"a.b":"c"}"#, [:], ""),
                ("Dotted Names - No Masking", "{{a.b}}", #"{"a.b":"c","a":{"b":"d"}}"#, [:], "d"),
                ("Implicit Iterators - Basic Interpolation", "Hello, {{.}}!\n", #""world""#, [:], "Hello, world!\n"),
                (
                    "Implicit Iterators - HTML Escaping", "These characters should be HTML escaped: {{.}}\n", #""& \" < >""#, [:],
                    "These characters should be HTML escaped: &amp; &quot; &lt; &gt;\n"
                ),
                (
                    "Implicit Iterators - Triple Mustache", "These characters should not be HTML escaped: {{{.}}}\n", #""& \" < >""#, [:],
                    "These characters should not be HTML escaped: & \" < >\n"
                ),
                (
                    "Implicit Iterators - Ampersand", "These characters should not be HTML escaped: {{&.}}\n", #""& \" < >""#, [:],
                    "These characters should not be HTML escaped: & \" < >\n"
                ),
                ("Implicit Iterators - Basic Integer Interpolation", "\"{{.}} miles an hour!\"", "85", [:], "\"85 miles an hour!\""),
                ("Interpolation - Surrounding Whitespace", "| {{string}} |", #"{"string":"---"}"#, [:], "| --- |"),
                ("Triple Mustache - Surrounding Whitespace", "| {{{string}}} |", #"{"string":"---"}"#, [:], "| --- |"),
                ("Ampersand - Surrounding Whitespace", "| {{&string}} |", #"{"string":"---"}"#, [:], "| --- |"),
                ("Interpolation - Standalone", "  {{string}}\n", #"{"string":"---"}"#, [:], "  ---\n"),
                ("Triple Mustache - Standalone", "  {{{string}}}\n", #"{"string":"---"}"#, [:], "  ---\n"),
                ("Ampersand - Standalone", "  {{&string}}\n", #"{"string":"---"}"#, [:], "  ---\n"),
                ("Interpolation With Padding", "|{{ string }}|", #"{"string":"---"}"#, [:], "|---|"),
                ("Triple Mustache With Padding", "|{{{ string }}}|", #"{"string":"---"}"#, [:], "|---|"),
                ("Ampersand With Padding", "|{{& string }}|", #"{"string":"---"}"#, [:], "|---|"),
            ], count: 42)
    }

    func testSections() throws {
        let escapable = #"{"list":["&","\"","<",">"]}"#
        try check(
            "sections",
            cases: [
                ("Truthy", "\"{{#boolean}}This should be rendered.{{/boolean}}\"", #"{"boolean":true}"#, [:], "\"This should be rendered.\""),
                ("Falsey", "\"{{#boolean}}This should not be rendered.{{/boolean}}\"", #"{"boolean":false}"#, [:], "\"\""),
                ("Null is falsey", "\"{{#null}}This should not be rendered.{{/null}}\"", #"{"null":null}"#, [:], "\"\""),
                ("Context", "\"{{#context}}Hi {{name}}.{{/context}}\"", #"{"context":{"name":"Joe"}}"#, [:], "\"Hi Joe.\""),
                (
                    "Parent contexts", "\"{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}\"", #"{"a":"foo","b":"wrong","sec":{"b":"bar"},"c":{"d":"baz"}}"#,
                    [:],
                    "\"foo, bar, baz\""
                ),
                ("Variable test", "\"{{#foo}}{{.}} is {{foo}}{{/foo}}\"", #"{"foo":"bar"}"#, [:], "\"bar is bar\""),
                (
                    "List Contexts",
                    "{{#tops}}{{#middles}}{{tname.lower}}{{mname}}.{{#bottoms}}{{tname.upper}}{{mname}}{{bname}}.{{/bottoms}}{{/middles}}{{/tops}}",
                    #"{"tops":[{"tname":{"upper":"A","lower":"a"},"middles":[{"mname":"1","bottoms":[{"bname":"x"},{"bname":"y"}]}]}]}"#, [:],
                    "a1.A1x.A1y."
                ),
                (
                    "Deeply Nested Contexts",
                    """
                    {{#a}}
                    {{one}}
                    {{#b}}
                    {{one}}{{two}}{{one}}
                    {{#c}}
                    {{one}}{{two}}{{three}}{{two}}{{one}}
                    {{#d}}
                    {{one}}{{two}}{{three}}{{four}}{{three}}{{two}}{{one}}
                    {{#five}}
                    {{one}}{{two}}{{three}}{{four}}{{five}}{{four}}{{three}}{{two}}{{one}}
                    {{one}}{{two}}{{three}}{{four}}{{.}}6{{.}}{{four}}{{three}}{{two}}{{one}}
                    {{one}}{{two}}{{three}}{{four}}{{five}}{{four}}{{three}}{{two}}{{one}}
                    {{/five}}
                    {{one}}{{two}}{{three}}{{four}}{{three}}{{two}}{{one}}
                    {{/d}}
                    {{one}}{{two}}{{three}}{{two}}{{one}}
                    {{/c}}
                    {{one}}{{two}}{{one}}
                    {{/b}}
                    {{one}}
                    {{/a}}

                    """,
                    #"{"a":{"one":1},"b":{"two":2},"c":{"three":3,"d":{"four":4,"five":5}}}"#, [:],
                    "1\n121\n12321\n1234321\n123454321\n12345654321\n123454321\n1234321\n12321\n121\n1\n"
                ),
                ("List", "\"{{#list}}{{item}}{{/list}}\"", #"{"list":[{"item":1},{"item":2},{"item":3}]}"#, [:], "\"123\""),
                ("Empty List", "\"{{#list}}Yay lists!{{/list}}\"", #"{"list":[]}"#, [:], "\"\""),
                (
                    "Doubled", "{{#bool}}\n* first\n{{/bool}}\n* {{two}}\n{{#bool}}\n* third\n{{/bool}}\n", #"{"bool":true,"two":"second"}"#, [:],
                    "* first\n* second\n* third\n"
                ),
                ("Nested (Truthy)", "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":true}"#, [:], "| A B C D E |"),
                ("Nested (Falsey)", "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":false}"#, [:], "| A  E |"),
                ("Context Misses", "[{{#missing}}Found key 'missing'!{{/missing}}]", "{}", [:], "[]"),
                ("Implicit Iterator - String", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":["a","b","c","d","e"]}"#, [:], "\"(a)(b)(c)(d)(e)\""),
                ("Implicit Iterator - Integer", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":[1,2,3,4,5]}"#, [:], "\"(1)(2)(3)(4)(5)\""),
                (
                    "Implicit Iterator - Decimal", "\"{{#list}}({{.}}){{/list}}\"", #"{"list":[1.1,2.2,3.3,4.4,5.5]}"#, [:],
                    "\"(1.1)(2.2)(3.3)(4.4)(5.5)\""
                ),
                (
                    "Implicit Iterator - Array", "\"{{#list}}({{#.}}{{.}}{{/.}}){{/list}}\"", #"{"list":[[1,2,3],["a","b","c"]]}"#, [:],
                    "\"(123)(abc)\""
                ),
                ("Implicit Iterator - HTML Escaping", "\"{{#list}}({{.}}){{/list}}\"", escapable, [:], "\"(&amp;)(&quot;)(&lt;)(&gt;)\""),
                ("Implicit Iterator - Triple mustache", "\"{{#list}}({{{.}}}){{/list}}\"", escapable, [:], "\"(&)(\")(<)(>)\""),
                ("Implicit Iterator - Ampersand", "\"{{#list}}({{&.}}){{/list}}\"", escapable, [:], "\"(&)(\")(<)(>)\""),
                ("Implicit Iterator - Root-level", "\"{{#.}}({{value}}){{/.}}\"", #"[{"value":"a"},{"value":"b"}]"#, [:], "\"(a)(b)\""),
                ("Dotted Names - Truthy", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"Here\"", #"{"a":{"b":{"c":true}}}"#, [:], "\"Here\" == \"Here\""),
                ("Dotted Names - Falsey", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", #"{"a":{"b":{"c":false}}}"#, [:], "\"\" == \"\""),
                ("Dotted Names - Broken Chains", "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", #"{"a":{}}"#, [:], "\"\" == \"\""),
                ("Surrounding Whitespace", " | {{#boolean}}\t|\t{{/boolean}} | \n", #"{"boolean":true}"#, [:], " | \t|\t | \n"),
                ("Internal Whitespace", " | {{#boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n", #"{"boolean":true}"#, [:], " |  \n  | \n"),
                (
                    "Indented Inline Sections", " {{#boolean}}YES{{/boolean}}\n {{#boolean}}GOOD{{/boolean}}\n", #"{"boolean":true}"#, [:],
                    " YES\n GOOD\n"
                ),
                ("Standalone Lines", "| This Is\n{{#boolean}}\n|\n{{/boolean}}\n| A Line\n", #"{"boolean":true}"#, [:], "| This Is\n|\n| A Line\n"),
                (
                    "Indented Standalone Lines", "| This Is\n  {{#boolean}}\n|\n  {{/boolean}}\n| A Line\n", #"{"boolean":true}"#, [:],
                    "| This Is\n|\n| A Line\n"
                ),
                ("Standalone Line Endings", "|\r\n{{#boolean}}\r\n{{/boolean}}\r\n|", #"{"boolean":true}"#, [:], "|\r\n|"),
                ("Standalone Without Previous Line", "  {{#boolean}}\n#{{/boolean}}\n/", #"{"boolean":true}"#, [:], "#\n/"),
                ("Standalone Without Newline", "#{{#boolean}}\n/\n  {{/boolean}}", #"{"boolean":true}"#, [:], "#\n/\n"),
                ("Padding", "|{{# boolean }}={{/ boolean }}|", #"{"boolean":true}"#, [:], "|=|"),
            ], count: 34)
    }

    func testInverted() throws {
        try check(
            "inverted",
            cases: [
                ("Falsey", "\"{{^boolean}}This should be rendered.{{/boolean}}\"", #"{"boolean":false}"#, [:], "\"This should be rendered.\""),
                ("Truthy", "\"{{^boolean}}This should not be rendered.{{/boolean}}\"", #"{"boolean":true}"#, [:], "\"\""),
                ("Null is falsey", "\"{{^null}}This should be rendered.{{/null}}\"", #"{"null":null}"#, [:], "\"This should be rendered.\""),
                ("Context", "\"{{^context}}Hi {{name}}.{{/context}}\"", #"{"context":{"name":"Joe"}}"#, [:], "\"\""),
                ("List", "\"{{^list}}{{n}}{{/list}}\"", #"{"list":[{"n":1},{"n":2},{"n":3}]}"#, [:], "\"\""),
                ("Empty List", "\"{{^list}}Yay lists!{{/list}}\"", #"{"list":[]}"#, [:], "\"Yay lists!\""),
                (
                    "Doubled", "{{^bool}}\n* first\n{{/bool}}\n* {{two}}\n{{^bool}}\n* third\n{{/bool}}\n", #"{"bool":false,"two":"second"}"#, [:],
                    "* first\n* second\n* third\n"
                ),
                ("Nested (Falsey)", "| A {{^bool}}B {{^bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":false}"#, [:], "| A B C D E |"),
                ("Nested (Truthy)", "| A {{^bool}}B {{^bool}}C{{/bool}} D{{/bool}} E |", #"{"bool":true}"#, [:], "| A  E |"),
                ("Context Misses", "[{{^missing}}Found key 'missing'!{{/missing}}]", "{}", [:], "[Found key 'missing'!]"),
                ("Dotted Names - Truthy", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"\"", #"{"a":{"b":{"c":true}}}"#, [:], "\"\" == \"\""),
                (
                    "Dotted Names - Falsey", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", #"{"a":{"b":{"c":false}}}"#, [:],
                    "\"Not Here\" == \"Not Here\""
                ),
                (
                    "Dotted Names - Broken Chains", "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", #"{"a":{}}"#, [:],
                    "\"Not Here\" == \"Not Here\""
                ),
                ("Surrounding Whitespace", " | {{^boolean}}\t|\t{{/boolean}} | \n", #"{"boolean":false}"#, [:], " | \t|\t | \n"),
                (
                    "Internal Whitespace", " | {{^boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n", #"{"boolean":false}"#, [:],
                    " |  \n  | \n"
                ),
                (
                    "Indented Inline Sections", " {{^boolean}}NO{{/boolean}}\n {{^boolean}}WAY{{/boolean}}\n", #"{"boolean":false}"#, [:],
                    " NO\n WAY\n"
                ),
                ("Standalone Lines", "| This Is\n{{^boolean}}\n|\n{{/boolean}}\n| A Line\n", #"{"boolean":false}"#, [:], "| This Is\n|\n| A Line\n"),
                (
                    "Standalone Indented Lines", "| This Is\n  {{^boolean}}\n|\n  {{/boolean}}\n| A Line\n", #"{"boolean":false}"#, [:],
                    "| This Is\n|\n| A Line\n"
                ),
                ("Standalone Line Endings", "|\r\n{{^boolean}}\r\n{{/boolean}}\r\n|", #"{"boolean":false}"#, [:], "|\r\n|"),
                ("Standalone Without Previous Line", "  {{^boolean}}\n^{{/boolean}}\n/", #"{"boolean":false}"#, [:], "^\n/"),
                ("Standalone Without Newline", "^{{^boolean}}\n/\n  {{/boolean}}", #"{"boolean":false}"#, [:], "^\n/\n"),
                ("Padding", "|{{^ boolean }}={{/ boolean }}|", #"{"boolean":false}"#, [:], "|=|"),
            ], count: 22)
    }

    func testComments() throws {
        try check(
            "comments",
            cases: [
                ("Inline", "12345{{! Comment Block! }}67890", "{}", [:], "1234567890"),
                ("Multiline", "12345{{!\n  This is a\n  multi-line comment...\n}}67890\n", "{}", [:], "1234567890\n"),
                ("Standalone", "Begin.\n{{! Comment Block! }}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
                ("Indented Standalone", "Begin.\n  {{! Indented Comment Block! }}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
                ("Standalone Line Endings", "|\r\n{{! Standalone Comment }}\r\n|", "{}", [:], "|\r\n|"),
                ("Standalone Without Previous Line", "  {{! I'm Still Standalone }}\n!", "{}", [:], "!"),
                ("Standalone Without Newline", "!\n  {{! I'm Still Standalone }}", "{}", [:], "!\n"),
                ("Multiline Standalone", "Begin.\n{{!\nSomething's going on here...\n}}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
                ("Indented Multiline Standalone", "Begin.\n  {{!\n    Something's going on here...\n  }}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
                ("Indented Inline", "  12 {{! 34 }}\n", "{}", [:], "  12 \n"),
                ("Surrounding Whitespace", "12345 {{! Comment Block! }} 67890", "{}", [:], "12345  67890"),
                (
                    "Variable Name Collision", "comments never show: >{{! comment }}<", #"{"! comment":1,"! comment ":2,"!comment":3,"comment":4}"#,
                    [:],
                    "comments never show: ><"
                ),
            ], count: 12)
    }

    func testPartials() throws {
        try check(
            "partials",
            cases: [
                ("Basic Behavior", "\"{{>text}}\"", "{}", ["text": "from partial"], "\"from partial\""),
                ("Failed Lookup", "\"{{>text}}\"", "{}", [:], "\"\""),
                ("Context", "\"{{>partial}}\"", #"{"text":"content"}"#, ["partial": "*{{text}}*"], "\"*content*\""),
                (
                    "Recursion", "{{>node}}", #"{"content":"X","nodes":[{"content":"Y","nodes":[]}]}"#,
                    ["node": "{{content}}<{{#nodes}}{{>node}}{{/nodes}}>"], "X<Y<>>"
                ),
                ("Nested", "{{>outer}}", #"{"a":"hello","b":"world"}"#, ["outer": "*{{a}} {{>inner}}*", "inner": "{{b}}!"], "*hello world!*"),
                ("Surrounding Whitespace", "| {{>partial}} |", "{}", ["partial": "\t|\t"], "| \t|\t |"),
                ("Inline Indentation", "  {{data}}  {{> partial}}\n", #"{"data":"|"}"#, ["partial": ">\n>"], "  |  >\n>\n"),
                ("Standalone Line Endings", "|\r\n{{>partial}}\r\n|", "{}", ["partial": ">"], "|\r\n>|"),
                ("Standalone Without Previous Line", "  {{>partial}}\n>", "{}", ["partial": ">\n>"], "  >\n  >>"),
                ("Standalone Without Newline", ">\n  {{>partial}}", "{}", ["partial": ">\n>"], ">\n  >\n  >"),
                (
                    "Standalone Indentation", "\\\n {{>partial}}\n/\n", #"{"content":"<\n->"}"#, ["partial": "|\n{{{content}}}\n|\n"],
                    "\\\n |\n <\n->\n |\n/\n"
                ),
                ("Padding Whitespace", "|{{> partial }}|", #"{"boolean":true}"#, ["partial": "[]"], "|[]|"),
            ], count: 12)
    }

    func testDelimiters() throws {
        let interpolated = "[\n  I got interpolated.\n  |data|\n  {{data}}\n  I got interpolated.\n]\n"
        try check(
            "delimiters",
            cases: [
                ("Pair Behavior", "{{=<% %>=}}(<%text%>)", #"{"text":"Hey!"}"#, [:], "(Hey!)"),
                ("Special Characters", "({{=[ ]=}}[text])", #"{"text":"It worked!"}"#, [:], "(It worked!)"),
                (
                    "Sections", "[\n{{#section}}\n  {{data}}\n  |data|\n{{/section}}\n{{= | | =}}\n|#section|\n  {{data}}\n  |data|\n|/section|\n]\n",
                    #"{"section":true,"data":"I got interpolated."}"#, [:], interpolated
                ),
                (
                    "Inverted Sections",
                    "[\n{{^section}}\n  {{data}}\n  |data|\n{{/section}}\n{{= | | =}}\n|^section|\n  {{data}}\n  |data|\n|/section|\n]\n",
                    #"{"section":false,"data":"I got interpolated."}"#, [:], interpolated
                ),
                (
                    "Partial Inheritence", "[ {{>include}} ]\n{{= | | =}}\n[ |>include| ]\n", #"{"value":"yes"}"#, ["include": ".{{value}}."],
                    "[ .yes. ]\n[ .yes. ]\n"
                ),
                (
                    "Post-Partial Behavior", "[ {{>include}} ]\n[ .{{value}}.  .|value|. ]\n", #"{"value":"yes"}"#,
                    ["include": ".{{value}}. {{= | | =}} .|value|."], "[ .yes.  .yes. ]\n[ .yes.  .|value|. ]\n"
                ),
                ("Surrounding Whitespace", "| {{=@ @=}} |", "{}", [:], "|  |"),
                ("Outlying Whitespace (Inline)", " | {{=@ @=}}\n", "{}", [:], " | \n"),
                ("Standalone Tag", "Begin.\n{{=@ @=}}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
                ("Indented Standalone Tag", "Begin.\n  {{=@ @=}}\nEnd.\n", "{}", [:], "Begin.\nEnd.\n"),
                ("Standalone Line Endings", "|\r\n{{= @ @ =}}\r\n|", "{}", [:], "|\r\n|"),
                ("Standalone Without Previous Line", "  {{=@ @=}}\n=", "{}", [:], "="),
                ("Standalone Without Newline", "=\n  {{=@ @=}}", "{}", [:], "=\n"),
                ("Pair with Padding", "|{{= @   @ =}}|", "{}", [:], "||"),
            ], count: 14)
    }
}
