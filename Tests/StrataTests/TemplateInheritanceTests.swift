import XCTest

@testable import StrataTemplates

/// Every case of the Mustache specification's optional inheritance and
/// dynamic-names modules, under the spec's case names (the inheritance module
/// names two cases "Text inside parent"; the second is told apart here).
final class TemplateInheritanceTests: XCTestCase {
    private struct Case {
        let name: String
        let template: String
        var data = "{}"
        var partials: [String: String] = [:]
        let expected: String
    }

    private func check(_ cases: [Case], count: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        if let count { XCTAssertEqual(cases.count, count, "the spec module has \(count) cases", file: file, line: line) }
        for test in cases {
            var sources = test.partials
            sources["main"] = test.template
            let library = try TemplateLibrary(sources: sources)
            let data = try JSONDecoder().decode(TemplateValue.self, from: Data(test.data.utf8))
            let output = String(decoding: try library.render("main", data), as: UTF8.self)
            XCTAssertEqual(output, test.expected, test.name, file: file, line: line)
        }
    }

    func testInheritance() throws {
        try check(
            [
                Case(name: "Default", template: "{{$title}}Default title{{/title}}\n", expected: "Default title\n"),
                Case(
                    name: "Variable", template: "{{$foo}}default {{bar}} content{{/foo}}\n", data: #"{"bar":"baz"}"#,
                    expected: "default baz content\n"),
                Case(
                    name: "Triple Mustache", template: "{{$foo}}default {{{bar}}} content{{/foo}}\n", data: #"{"bar":"<baz>"}"#,
                    expected: "default <baz> content\n"),
                Case(
                    name: "Sections", template: "{{$foo}}default {{#bar}}{{baz}}{{/bar}} content{{/foo}}\n", data: #"{"bar":{"baz":"qux"}}"#,
                    expected: "default qux content\n"),
                Case(
                    name: "Negative Sections", template: "{{$foo}}default {{^bar}}{{baz}}{{/bar}} content{{/foo}}\n", data: #"{"baz":"three"}"#,
                    expected: "default three content\n"),
                Case(
                    name: "Mustache Injection", template: "{{$foo}}default {{#bar}}{{baz}}{{/bar}} content{{/foo}}\n",
                    data: #"{"bar":{"baz":"{{qux}}"}}"#, expected: "default {{qux}} content\n"),
                Case(
                    name: "Inherit", template: "{{<include}}{{/include}}\n", partials: ["include": "{{$foo}}default content{{/foo}}"],
                    expected: "default content"),
                Case(
                    name: "Overridden content", template: "{{<super}}{{$title}}sub template title{{/title}}{{/super}}",
                    partials: ["super": "...{{$title}}Default title{{/title}}..."], expected: "...sub template title..."),
                Case(
                    name: "Data does not override block", template: "{{<include}}{{$var}}var in template{{/var}}{{/include}}",
                    data: #"{"var":"var in data"}"#, partials: ["include": "{{$var}}var in include{{/var}}"], expected: "var in template"),
                Case(
                    name: "Data does not override block default", template: "{{<include}}{{/include}}", data: #"{"var":"var in data"}"#,
                    partials: ["include": "{{$var}}var in include{{/var}}"], expected: "var in include"),
                Case(
                    name: "Overridden parent", template: "test {{<parent}}{{$stuff}}override{{/stuff}}{{/parent}}",
                    partials: ["parent": "{{$stuff}}...{{/stuff}}"], expected: "test override"),
                Case(
                    name: "Two overridden parents",
                    template: "test {{<parent}}{{$stuff}}override1{{/stuff}}{{/parent}} {{<parent}}{{$stuff}}override2{{/stuff}}{{/parent}}\n",
                    partials: ["parent": "|{{$stuff}}...{{/stuff}}{{$default}} default{{/default}}|"],
                    expected: "test |override1 default| |override2 default|\n"),
                Case(
                    name: "Override parent with newlines", template: "{{<parent}}{{$ballmer}}\npeaked\n\n:(\n{{/ballmer}}{{/parent}}",
                    partials: ["parent": "{{$ballmer}}peaking{{/ballmer}}"], expected: "peaked\n\n:(\n"),
                Case(
                    name: "Inherit indentation", template: "{{<parent}}{{$nineties}}hammer time{{/nineties}}{{/parent}}",
                    partials: ["parent": "stop:\n  {{$nineties}}collaborate and listen{{/nineties}}\n"], expected: "stop:\n  hammer time\n"),
                Case(
                    name: "Only one override", template: "{{<parent}}{{$stuff2}}override two{{/stuff2}}{{/parent}}",
                    partials: ["parent": "{{$stuff}}new default one{{/stuff}}, {{$stuff2}}new default two{{/stuff2}}"],
                    expected: "new default one, override two"),
                Case(
                    name: "Parent template", template: "{{>parent}}|{{<parent}}{{/parent}}", partials: ["parent": "{{$foo}}default content{{/foo}}"],
                    expected: "default content|default content"),
                Case(
                    name: "Recursion", template: "{{<parent}}{{$foo}}override{{/foo}}{{/parent}}",
                    partials: [
                        "parent": "{{$foo}}default content{{/foo}} {{$bar}}{{<parent2}}{{/parent2}}{{/bar}}",
                        "parent2": "{{$foo}}parent2 default content{{/foo}} {{<parent}}{{$bar}}don't recurse{{/bar}}{{/parent}}",
                    ], expected: "override override override don't recurse"),
                Case(
                    name: "Multi-level inheritance", template: "{{<parent}}{{$a}}c{{/a}}{{/parent}}",
                    partials: [
                        "parent": "{{<older}}{{$a}}p{{/a}}{{/older}}", "older": "{{<grandParent}}{{$a}}o{{/a}}{{/grandParent}}",
                        "grandParent": "{{$a}}g{{/a}}",
                    ], expected: "c"),
                Case(
                    name: "Multi-level inheritance, no sub child", template: "{{<parent}}{{/parent}}",
                    partials: [
                        "parent": "{{<older}}{{$a}}p{{/a}}{{/older}}", "older": "{{<grandParent}}{{$a}}o{{/a}}{{/grandParent}}",
                        "grandParent": "{{$a}}g{{/a}}",
                    ], expected: "p"),
                Case(
                    name: "Text inside parent", template: "{{<parent}} asdfasd {{$foo}}hmm{{/foo}} asdfasdfasdf {{/parent}}",
                    partials: ["parent": "{{$foo}}default content{{/foo}}"], expected: "hmm"),
                Case(
                    name: "Text inside parent, no blocks", template: "{{<parent}} asdfasd asdfasdfasdf {{/parent}}",
                    partials: ["parent": "{{$foo}}default content{{/foo}}"], expected: "default content"),
                Case(
                    name: "Block scope", template: "{{<parent}}{{$block}}I say {{fruit}}.{{/block}}{{/parent}}",
                    data: #"{"fruit":"apples","nested":{"fruit":"bananas"}}"#,
                    partials: ["parent": "{{#nested}}{{$block}}You say {{fruit}}.{{/block}}{{/nested}}"], expected: "I say bananas."),
                Case(
                    name: "Standalone block", template: "{{<parent}}{{$block}}\none\ntwo{{/block}}\n{{/parent}}\n",
                    partials: ["parent": "Hi,\n  {{$block}}{{/block}}\n"], expected: "Hi,\n  one\n  two\n"),
                Case(
                    name: "Block reindentation", template: "{{<parent}}{{$block}}\n    one\n    two\n{{/block}}{{/parent}}\n",
                    partials: ["parent": "Hi,\n  {{$block}}\n  {{/block}}\n"], expected: "Hi,\n  one\n  two\n"),
                Case(
                    name: "Intrinsic indentation", template: "{{<parent}}{{$block}}\none\ntwo\n{{/block}}{{/parent}}\n",
                    partials: ["parent": "Hi,\n{{$block}}\n  default\n{{/block}}\n"], expected: "Hi,\n  one\n  two\n"),
                Case(
                    name: "Standalone parent", template: "Hi,\n  {{<parent}}{{/parent}}\n", partials: ["parent": "one\ntwo\n"],
                    expected: "Hi,\n  one\n  two\n"),
                Case(
                    name: "Nested block reindentation", template: "{{<parent}}{{$nested}}\nthree\n{{/nested}}{{/parent}}\n",
                    partials: [
                        "parent": "{{<grandparent}}{{$block}}\n  one\n  {{$nested}}\n    two\n  {{/nested}}\n{{/block}}{{/grandparent}}\n",
                        "grandparent": "{{$block}}default{{/block}}",
                    ], expected: "one\n  three\n"),
            ], count: 27)
    }

    func testDynamicNames() throws {
        try check(
            [
                Case(
                    name: "Basic Behavior - Partial", template: "\"{{>*dynamic}}\"", data: #"{"dynamic":"content"}"#,
                    partials: ["content": "Hello, world!"], expected: "\"Hello, world!\""),
                Case(
                    name: "Basic Behavior - Name Resolution", template: "\"{{>*dynamic}}\"", data: #"{"dynamic":"content","*dynamic":"wrong"}"#,
                    partials: ["content": "Hello, world!", "wrong": "Invisible"], expected: "\"Hello, world!\""),
                Case(name: "Context Misses - Partial", template: "\"{{>*missing}}\"", partials: ["missing": "Hello, world!"], expected: "\"\""),
                Case(
                    name: "Failed Lookup - Partial", template: "\"{{>*dynamic}}\"", data: #"{"dynamic":"content"}"#,
                    partials: ["foobar": "Hello, world!"], expected: "\"\""),
                Case(
                    name: "Context", template: "\"{{>*example}}\"", data: #"{"text":"Hello, world!","example":"partial"}"#,
                    partials: ["partial": "*{{text}}*"], expected: "\"*Hello, world!*\""),
                Case(
                    name: "Dotted Names", template: "\"{{>*foo.bar.baz}}\"", data: #"{"text":"Hello, world!","foo":{"bar":{"baz":"partial"}}}"#,
                    partials: ["partial": "*{{text}}*"], expected: "\"*Hello, world!*\""),
                Case(
                    name: "Dotted Names - Operator Precedence", template: "\"{{>*foo.bar.baz}}\"",
                    data: #"{"text":"Hello, world!","foo":"test","test":{"bar":{"baz":"partial"}}}"#,
                    partials: ["partial": "*{{text}}*"], expected: "\"\""),
                Case(
                    name: "Dotted Names - Failed Lookup", template: "\"{{>*foo.bar.baz}}\"",
                    data: #"{"foo":{"text":"Hello, world!","bar":{"baz":"partial"}}}"#,
                    partials: ["partial": "*{{text}}*"], expected: "\"**\""),
                Case(
                    name: "Dotted names - Context Stacking", template: "{{#section1}}{{>*section2.dynamic}}{{/section1}}",
                    data: #"{"section1":{"value":"section1"},"section2":{"dynamic":"partial","value":"section2"}}"#,
                    partials: ["partial": "\"{{value}}\""], expected: "\"section1\""),
                Case(
                    name: "Dotted names - Context Stacking Under Repetition", template: "{{#section1}}{{>*section2.dynamic}}{{/section1}}",
                    data: #"{"value":"test","section1":[1,2],"section2":{"dynamic":"partial","value":"section2"}}"#,
                    partials: ["partial": "{{value}}"], expected: "testtest"),
                Case(
                    name: "Dotted names - Context Stacking Failed Lookup", template: "{{#section1}}{{>*section2.dynamic}}{{/section1}}",
                    data: #"{"section1":[1,2],"section2":{"dynamic":"partial","value":"section2"}}"#, partials: ["partial": "\"{{value}}\""],
                    expected: "\"\"\"\""),
                Case(
                    name: "Recursion", template: "{{>*template}}", data: #"{"template":"node","content":"X","nodes":[{"content":"Y","nodes":[]}]}"#,
                    partials: ["node": "{{content}}<{{#nodes}}{{>*template}}{{/nodes}}>"], expected: "X<Y<>>"),
                Case(
                    name: "Dynamic Names - Double Dereferencing", template: "\"{{>**dynamic}}\"", data: #"{"dynamic":"test","test":"content"}"#,
                    partials: ["content": "Hello, world!"], expected: "\"\""),
                Case(
                    name: "Dynamic Names - Composed Dereferencing", template: "\"{{>*foo.*bar}}\"",
                    data: #"{"foo":"fizz","bar":"buzz","fizz":{"buzz":{"content":null}}}"#,
                    partials: ["content": "Hello, world!"], expected: "\"\""),
                Case(
                    name: "Surrounding Whitespace", template: "| {{>*partial}} |", data: #"{"partial":"foobar"}"#, partials: ["foobar": "\t|\t"],
                    expected: "| \t|\t |"),
                Case(
                    name: "Inline Indentation", template: "  {{data}}  {{>*dynamic}}\n", data: #"{"dynamic":"partial","data":"|"}"#,
                    partials: ["partial": ">\n>"], expected: "  |  >\n>\n"),
                Case(
                    name: "Standalone Line Endings", template: "|\r\n{{>*dynamic}}\r\n|", data: #"{"dynamic":"partial"}"#, partials: ["partial": ">"],
                    expected: "|\r\n>|"),
                Case(
                    name: "Standalone Without Previous Line", template: "  {{>*dynamic}}\n>", data: #"{"dynamic":"partial"}"#,
                    partials: ["partial": ">\n>"], expected: "  >\n  >>"),
                Case(
                    name: "Standalone Without Newline", template: ">\n  {{>*dynamic}}", data: #"{"dynamic":"partial"}"#,
                    partials: ["partial": ">\n>"], expected: ">\n  >\n  >"),
                Case(
                    name: "Standalone Indentation", template: "\\\n {{>*dynamic}}\n/\n", data: #"{"dynamic":"partial","content":"<\n->"}"#,
                    partials: ["partial": "|\n{{{content}}}\n|\n"], expected: "\\\n |\n <\n->\n |\n/\n"),
                Case(
                    name: "Padding Whitespace", template: "|{{> * dynamic }}|", data: #"{"dynamic":"partial","boolean":true}"#,
                    partials: ["partial": "[]"], expected: "|[]|"),
            ], count: 21)
    }

    /// Not a spec case: the spec says engines with inheritance SHOULD take
    /// dynamic names in parent tags too.
    func testADynamicNameSelectsTheParent() throws {
        try check([
            Case(
                name: "Dynamic parent", template: "{{<*layout}}{{$body}}page{{/body}}{{/*layout}}", data: #"{"layout":"base"}"#,
                partials: ["base": "[{{$body}}default{{/body}}]"], expected: "[page]")
        ])
    }

    func testMismatchedParentAndBlockClosingTagsAreReported() {
        XCTAssertThrowsError(try Template(name: "page", source: "{{<layout}}\n{{$body}}x{{/layout}}")) { error in
            XCTAssertTrue("\(error)".contains("does not match {{$body}}"), "\(error)")
        }
        XCTAssertThrowsError(try Template(name: "page", source: "{{<layout}}")) { error in
            XCTAssertTrue("\(error)".contains("{{<layout}} is never closed"), "\(error)")
        }
    }

    func testABlockThatContainsItselfStopsWithAnError() throws {
        // Found by the template fuzz target: this used to recurse until the stack overflowed.
        let library = try TemplateLibrary(sources: ["main": "{{<layout}}{{$b}}[{{$b}}inner{{/b}}]{{/b}}{{/layout}}", "layout": "{{$b}}x{{/b}}"])
        XCTAssertThrowsError(try library.render("main", .null)) { error in
            XCTAssertTrue("\(error)".contains("expands into itself"), "\(error)")
        }
    }

    func testASiteLayoutWithBlocks() throws {
        let library = try TemplateLibrary(sources: [
            "layout": "<title>{{$title}}Strata{{/title}}</title>\n<main>\n{{$content}}{{/content}}\n</main>\n",
            "page": "{{<layout}}\n{{$title}}Notes · Strata{{/title}}\n{{$content}}<h1>{{heading}}</h1>{{/content}}\n{{/layout}}\n",
        ])
        let html = String(decoding: try library.render("page", .object(["heading": .string("<Notes>")])), as: UTF8.self)
        XCTAssertEqual(html, "<title>Notes · Strata</title>\n<main>\n<h1>&lt;Notes&gt;</h1>\n</main>\n")
    }
}
