import StrataRPC
import XCTest

@testable import StrataApp

/// The manifest's version, which the web tier polls to notice new routes or templates.
final class ManifestVersionTests: XCTestCase {
    private let form = RouteDescriptor(kind: .form, path: "/notes", calls: "notes.add", redirect: "/notes/{id}", shownOn: "/notes")

    func testEveryFieldOfARouteCounts() {
        let base = AppRuntime.digest([form], [:], [:])
        var moved = form
        moved.shownOn = "/notes/new"
        XCTAssertNotEqual(AppRuntime.digest([moved], [:], [:]), base, "shownOn decides which page a failed form re-renders")
        var verb = RouteDescriptor(kind: .api, path: "/api/notes", calls: "notes.add", verb: "POST")
        let post = AppRuntime.digest([verb], [:], [:])
        verb.verb = "PUT"
        XCTAssertNotEqual(AppRuntime.digest([verb], [:], [:]), post)
    }

    func testTheSameContentGivesTheSameVersionWhateverTheOrderOfItsMaps() {
        let templates = ["notes/index": "<ul></ul>", "notes/new": "<form></form>", "layout": "{{$body}}{{/body}}"]
        let assets = ["notes.css": Array("ul {}".utf8), "notes.js": Array("//".utf8)]
        let version = AppRuntime.digest([form], templates, assets)
        XCTAssertEqual(version.count, 16)
        // Dictionaries built in another order (as another process would) digest alike.
        let reordered = Dictionary(uniqueKeysWithValues: templates.sorted { $0.key > $1.key })
        XCTAssertEqual(AppRuntime.digest([form], reordered, assets), version)
        XCTAssertNotEqual(AppRuntime.digest([form], templates.merging(["layout": "{{$body}}!{{/body}}"]) { $1 }, assets), version)
        XCTAssertNotEqual(AppRuntime.digest([form], templates, ["notes.css": Array("ol {}".utf8)]), version)
    }
}
