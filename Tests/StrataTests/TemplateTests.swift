import XCTest

@testable import StrataTemplates

final class TemplateTests: XCTestCase {
    private func render(_ source: String, _ data: TemplateValue, partials: [String: String] = [:]) throws -> String {
        var sources = partials
        sources["main"] = source
        let library = try TemplateLibrary(sources: sources)
        return String(decoding: try library.render("main", data), as: UTF8.self)
    }

    private func json(_ text: String) throws -> TemplateValue {
        try JSONDecoder().decode(TemplateValue.self, from: Data(text.utf8))
    }

    func testInterpolationEscapesByDefault() throws {
        let data = try json(#"{"x": "<b>\"Tom\" & 'Jerry'</b>"}"#)
        XCTAssertEqual(try render("{{x}}", data), "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;")
        XCTAssertEqual(try render("{{{x}}}", data), "<b>\"Tom\" & 'Jerry'</b>")
        XCTAssertEqual(try render("{{& x }}", data), "<b>\"Tom\" & 'Jerry'</b>")
    }

    func testScriptClosingAndAttributeBreakoutAreEscaped() throws {
        let data = try json(#"{"v": "</script><script>alert(1)</script>", "a": "\" onmouseover=\"x"}"#)
        let out = try render(#"<script>var s = "{{v}}";</script><a title="{{a}}">"#, data)
        XCTAssertFalse(out.contains("</script><script>"))
        XCTAssertFalse(out.contains("\" onmouseover"))
    }

    func testValuesAndDottedNames() throws {
        let data = try json(#"{"n": 42, "d": 1.5, "t": true, "nil": null, "person": {"name": "Ann", "address": {"city": "Oslo"}}}"#)
        XCTAssertEqual(try render("{{n}} {{d}} {{t}} [{{nil}}] [{{missing}}]", data), "42 1.5 true [] []")
        XCTAssertEqual(try render("{{person.name}} in {{person.address.city}}; [{{person.age}}]", data), "Ann in Oslo; []")
    }

    func testSectionsIterateAndPushContext() throws {
        let data = try json(#"{"items": [{"name": "a"}, {"name": "b"}], "title": "T", "list": [1, 2, 3], "empty": [], "obj": {"k": "v"}}"#)
        XCTAssertEqual(try render("{{#items}}{{name}}/{{title}};{{/items}}", data), "a/T;b/T;")
        XCTAssertEqual(try render("{{#list}}{{.}},{{/list}}", data), "1,2,3,")
        XCTAssertEqual(try render("{{#empty}}x{{/empty}}{{^empty}}none{{/empty}}", data), "none")
        XCTAssertEqual(try render("{{#obj}}{{k}}{{/obj}}", data), "v")
        XCTAssertEqual(try render("{{^missing}}shown{{/missing}}", data), "shown")
    }

    func testFalseyRules() throws {
        let data = try json(#"{"f": false, "z": 0, "s": "", "n": null, "e": []}"#)
        XCTAssertEqual(try render("{{#f}}1{{/f}}{{#z}}2{{/z}}{{#s}}3{{/s}}{{#n}}4{{/n}}{{#e}}5{{/e}}", data), "2")
    }

    func testStandaloneLinesDisappear() throws {
        let data = try json(#"{"items": ["a", "b"]}"#)
        let source = "<ul>\n  {{#items}}\n  <li>{{.}}</li>\n  {{/items}}\n  {{! a comment }}\n</ul>\n"
        XCTAssertEqual(try render(source, data), "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n")
        XCTAssertEqual(try render("| {{#items}}x{{/items}} |\n", data), "| xx |\n", "tags sharing a line with text are not standalone")
        XCTAssertEqual(try render("a\r\n{{#items}}\r\nb\r\n{{/items}}\r\n", try json(#"{"items": true}"#)), "a\r\nb\r\n")
    }

    func testPartialsWithIndentation() throws {
        let data = try json(#"{"name": "Ann"}"#)
        let out = try render("<div>\n  {{>greeting}}\n</div>", data, partials: ["greeting": "Hello\n{{name}}!\n"])
        XCTAssertEqual(out, "<div>\n  Hello\n  Ann!\n</div>")
        XCTAssertEqual(try render("[{{>missing}}]", data), "[]")
    }

    func testIndentationAppliesToPartialLinesNotToInterpolatedValues() throws {
        // The specification's "Standalone Indentation" case.
        let data = try json(#"{"content": "<\n->"}"#)
        XCTAssertEqual(try render("\\\n {{>partial}}\n/\n", data, partials: ["partial": "|\n{{{content}}}\n|\n"]), "\\\n |\n <\n->\n |\n/\n")
        // Nested standalone partials add up their indentation.
        XCTAssertEqual(
            try render("a\n  {{>outer}}\nb\n", data, partials: ["outer": "o1\n  {{>inner}}\no2\n", "inner": "i1\ni2\n"]),
            "a\n  o1\n    i1\n    i2\n  o2\nb\n")
        // "Standalone Without Newline"
        XCTAssertEqual(try render(">\n  {{>partial}}", data, partials: ["partial": ">\n>"]), ">\n  >\n  >")
    }

    func testSetDelimiters() throws {
        let data = try json(#"{"x": "y"}"#)
        XCTAssertEqual(try render("{{=<% %>=}}<% x %> {{x}}<%={{ }}=%> {{x}}", data), "y {{x}} y")
    }

    func testMalformedTemplatesNameLineAndColumn() {
        func error(_ source: String) -> TemplateError? {
            do {
                _ = try Template(name: "page", source: source)
                return nil
            } catch {
                return error
            }
        }
        let unclosed = error("a\n  {{#items}}\nx")
        XCTAssertEqual(unclosed?.line, 2)
        XCTAssertEqual(unclosed?.column, 3)
        XCTAssertTrue(unclosed?.message.contains("never closed") ?? false)
        XCTAssertEqual(unclosed?.description.hasPrefix("page:2:3:"), true)

        let mismatched = error("{{#a}}\n{{/b}}")
        XCTAssertEqual(mismatched?.line, 2)
        XCTAssertTrue(mismatched?.message.contains("does not match {{#a}}") ?? false)

        XCTAssertTrue(error("{{/a}}")?.message.contains("no open section") ?? false)
        XCTAssertTrue(error("x {{name")?.message.contains("unclosed tag") ?? false)
        XCTAssertTrue(error("{{=<%>=}}")?.message.contains("set-delimiter") ?? false)
        XCTAssertTrue(error("{{}}")?.message.contains("empty tag") ?? false)
        XCTAssertTrue(error("{{a b}}")?.message.contains("whitespace") ?? false)
    }

    func testStrictModeReportsUnknownPartialsAndParentsWhereTheyAre() {
        XCTAssertNoThrow(try TemplateLibrary(sources: ["page": "{{>missing}}"]), "lenient by default, as the spec requires")
        XCTAssertThrowsError(try TemplateLibrary(sources: ["page": "a\n{{#x}}\n  {{>missing}}\n{{/x}}"], strict: true)) { error in
            XCTAssertEqual("\(error)", "page:3:3: unknown partial 'missing'")
        }
        XCTAssertThrowsError(
            try TemplateLibrary(sources: ["page": "{{<layout}}{{$b}}{{>inner}}{{/b}}{{/layout}}", "layout": "{{$b}}{{/b}}"], strict: true)
        ) { error in
            XCTAssertTrue("\(error)".contains("unknown partial 'inner'"), "\(error)")
        }
        XCTAssertThrowsError(try TemplateLibrary(sources: ["page": "{{<nolayout}}{{/nolayout}}"], strict: true)) { error in
            XCTAssertTrue("\(error)".contains("unknown parent template 'nolayout'"))
        }
        XCTAssertNoThrow(try TemplateLibrary(sources: ["page": "{{>*dynamic}}"], strict: true), "dynamic names are resolved at render time")
    }

    func testSelfIncludingPartialStopsWithAnError() throws {
        let library = try TemplateLibrary(sources: ["loop": "x{{>loop}}"])
        XCTAssertThrowsError(try library.render("loop", .null)) { error in
            XCTAssertTrue("\(error)".contains("nested more than"))
        }
        XCTAssertThrowsError(try library.render("nope", .null))
    }

    /// Random template sources: compiling and rendering either succeed or
    /// throw a TemplateError, never trap.
    func testMutatedTemplatesNeverCrash() {
        let seeds = ["{{#a}}{{b}}{{/a}}", "{{=<% %>=}}<%x%>", "  {{>p}}\n", "{{{raw}}}{{^n}}x{{/n}}"]
        let pieces = ["{{", "}}", "{", "}", "#", "/", "^", ">", "=", "!", "&", " ", "\n", "a", ".", "<%", "%>"]
        var rng = SplitMix64(seed: 42)
        for i in 0..<5_000 {
            var source = seeds[i % seeds.count]
            for _ in 0..<(1 + rng.next() % 4) {
                let piece = pieces[Int(rng.next() % UInt64(pieces.count))]
                let offset = Int(rng.next() % UInt64(source.count + 1))
                source.insert(contentsOf: piece, at: source.index(source.startIndex, offsetBy: offset))
            }
            do {
                let library = try TemplateLibrary(sources: ["main": source, "p": source])
                _ = try library.render("main", .object(["a": .array([.object(["b": .string("x")])]), "raw": .string("<")]))
            } catch {
                XCTAssertFalse(error.message.isEmpty)
            }
        }
    }
}

final class TemplateFolderTests: XCTestCase {
    func testAChangedTemplateIsRecompiled() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("notes"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("notes/show.mustache")
        try "v1 {{x}}".write(to: file, atomically: true, encoding: .utf8)
        let templates = try TemplateFolder(path: folder.path, interval: .zero)
        func show() throws -> String { String(decoding: try templates.library().render("notes/show", .object(["x": .int(1)])), as: UTF8.self) }
        XCTAssertEqual(try show(), "v1 1")

        try "v2 {{x}}".write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file.path)
        XCTAssertEqual(try show(), "v2 1")

        try "{{#broken}}".write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(10)], ofItemAtPath: file.path)
        XCTAssertThrowsError(try show()) { XCTAssertTrue("\($0)".hasPrefix("notes/show:1:1:")) }

        try "v3".write(to: folder.appendingPathComponent("notes/new.mustache"), atomically: true, encoding: .utf8)
        try "fixed {{x}}".write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(15)], ofItemAtPath: file.path)
        XCTAssertEqual(try show(), "fixed 1")
        XCTAssertNotNil(try templates.library().template(named: "notes/new"))
    }
}

final class TemplateValueTests: XCTestCase {
    struct Note: Encodable {
        let title: String
        let tags: [String]
        let pinned: Bool
        let rating: Double?
        let created: Date
    }

    func testGlobalsReachEveryTemplateBelowThePageData() throws {
        // The web tier's injection point for assets, the request id and (with
        // sessions) the CSRF field, user and flash messages.
        let library = try TemplateLibrary(sources: [
            "layout": "<head>{{assets.app_css}}</head>{{$content}}{{/content}}<form>{{{csrf_field}}}</form>",
            "page": "{{<layout}}{{$content}}{{#user}}Hi {{name}}{{/user}} {{flash}} {{request_id}}{{/content}}{{/layout}}",
        ])
        let globals = TemplateValue.object([
            "assets": .object(["app_css": .string("/static/app.1a2b.css")]),
            "csrf_field": .string(#"<input type="hidden" name="_csrf" value="t0k3n">"#),
            "user": .object(["name": .string("<Ada>")]), "flash": .string("saved"), "request_id": .string("r1"),
        ])
        let page = TemplateValue.object(["flash": .string("page wins")])
        let output = String(decoding: try library.render("page", page, globals: globals), as: UTF8.self)
        XCTAssertEqual(
            output, #"<head>/static/app.1a2b.css</head>Hi &lt;Ada&gt; page wins r1<form><input type="hidden" name="_csrf" value="t0k3n"></form>"#)
    }

    func testEncodableValuesBecomeTemplateData() throws {
        let note = Note(title: "<Hi>", tags: ["a", "b"], pinned: false, rating: nil, created: Date(timeIntervalSince1970: 0))
        let value = try TemplateValue(encoding: note)
        let library = try TemplateLibrary(sources: [
            "n": "{{title}}|{{#tags}}{{.}},{{/tags}}|{{^pinned}}unpinned{{/pinned}}|{{^rating}}unrated{{/rating}}|{{created}}"
        ])
        XCTAssertEqual(String(decoding: try library.render("n", value), as: UTF8.self), "&lt;Hi&gt;|a,b,|unpinned|unrated|1970-01-01T00:00:00Z")
        XCTAssertEqual(try TemplateValue(encoding: ["k": 1]), .object(["k": .int(1)]))
    }
}
