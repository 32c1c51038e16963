import StrataProtocol
import StrataRPC
import XCTest

@testable import StrataApp

/// The manifest's version, which the web tier polls to notice new routes or templates.
final class ManifestVersionTests: XCTestCase {
    private let form = RouteDescriptor(kind: .form, path: "/notes", calls: "notes.add", shownOn: "/notes")

    func testEveryFieldOfARouteCounts() {
        let base = AppRuntime.digest([form], nil, [], [:], [:])
        var moved = form
        moved.shownOn = "/notes/new"
        XCTAssertNotEqual(AppRuntime.digest([moved], nil, [], [:], [:]), base, "shownOn decides which page a failed form re-renders")
        var verb = RouteDescriptor(kind: .api, path: "/api/notes", calls: "notes.add", verb: "POST")
        let post = AppRuntime.digest([verb], nil, [], [:], [:])
        verb.verb = "PUT"
        XCTAssertNotEqual(AppRuntime.digest([verb], nil, [], [:], [:]), post)
        let limited = RouteDescriptor(kind: .form, path: "/notes", calls: "notes.add", shownOn: "/notes", attemptLimited: true)
        XCTAssertNotEqual(AppRuntime.digest([limited], nil, [], [:], [:]), base, "attempt limits are part of the route")
        XCTAssertNotEqual(AppRuntime.digest([form], "/login", [], [:], [:]), base, "the sign-in page counts")
        XCTAssertNotEqual(AppRuntime.digest([form], nil, ["/old/=http://127.0.0.1:8001"], [:], [:]), base, "proxy routes count")
    }

    func testTheSameContentGivesTheSameVersionWhateverTheOrderOfItsMaps() {
        let templates = ["notes/index": "<ul></ul>", "notes/new": "<form></form>", "layout": "{{$body}}{{/body}}"]
        let assets = ["notes.css": Array("ul {}".utf8), "notes.js": Array("//".utf8)]
        let version = AppRuntime.digest([form], nil, [], templates, assets)
        XCTAssertEqual(version.count, 16)
        // Dictionaries built in another order (as another process would) digest alike.
        let reordered = Dictionary(uniqueKeysWithValues: templates.sorted { $0.key > $1.key })
        XCTAssertEqual(AppRuntime.digest([form], nil, [], reordered, assets), version)
        XCTAssertNotEqual(AppRuntime.digest([form], nil, [], templates.merging(["layout": "{{$body}}!{{/body}}"]) { $1 }, assets), version)
        XCTAssertNotEqual(AppRuntime.digest([form], nil, [], templates, ["notes.css": Array("ol {}".utf8)]), version)
    }
}
