import Foundation
import StrataTestSupport
import XCTest

/// `strata-web template render|check`, run as the real executable.
final class TemplateCommandTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder.remove() }

    private func write(_ name: String, _ text: String) throws {
        let url = folder.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func testRenderPrintsExactlyTheRendering() throws {
        try write("page.mustache", "{{<layouts/base}}{{$body}}Hi {{name}}{{/body}}{{/layouts/base}}")
        try write("partials/layouts/base.mustache", "<p>{{$body}}{{/body}}</p>")
        try write("data.json", #"{"name": "<Ann>"}"#)
        let process = try TierProcess(
            "strata-web",
            [
                "template", "render", folder.path + "/page.mustache", "--data", folder.path + "/data.json", "--partials", folder.path + "/partials",
            ])
        XCTAssertEqual(process.waitForExit(), 0)
        XCTAssertEqual(process.output, ["<p>Hi &lt;Ann&gt;</p>"], "no newline or anything else added")
    }

    func testCheckReportsEveryBrokenTemplateWithItsPosition() throws {
        try write("t/good.mustache", "{{#a}}{{/a}}")
        try write("t/bad.mustache", "line one\n  {{#items}}\n")
        try write("t/nested/worse.mustache", "{{#a}}{{/b}}")
        try write("t/uses.mustache", "x\n{{>nested/absent}}")
        let process = try TierProcess("strata-web", ["template", "check", folder.path + "/t"])
        XCTAssertEqual(process.waitForExit(), 1)
        let output = process.output.joined(separator: "\n")
        XCTAssertTrue(output.contains("/t/bad.mustache:2:3: {{#items}} is never closed"), output)
        XCTAssertTrue(output.contains("/t/nested/worse.mustache:1:7: closing tag {{/b}} does not match {{#a}}"), output)
        XCTAssertTrue(output.contains("/t/uses.mustache:2:1: unknown partial 'nested/absent'"), output)
        XCTAssertTrue(output.contains("4 template(s), 3 error(s)"), output)
    }

    func testRenderNamesTheFileOfAMalformedTemplate() throws {
        try write("broken.mustache", "ok\n{{#open}}")
        let process = try TierProcess("strata-web", ["template", "render", folder.path + "/broken.mustache"])
        XCTAssertEqual(process.waitForExit(), 1)
        XCTAssertEqual(process.output.count, 1)
        XCTAssertTrue(process.output[0].contains("broken.mustache:2:1: {{#open}} is never closed"), "\(process.output)")
    }
}
