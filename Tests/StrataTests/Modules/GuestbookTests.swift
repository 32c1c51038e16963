import Guestbook
import StrataTesting
import XCTest

/// The guestbook module through `StrataTesting`: signing, escaping, the
/// redirect to the new entry, and the form shown again with its problems.
final class GuestbookTests: XCTestCase {
    func testSignedEntriesAreListedNewestFirstAndEscaped() async throws {
        let app = try await TestApp(modules: [Guestbook()])
        let visitor = app.client()
        let empty = await visitor.get("/guestbook")
        XCTAssertTrue(empty.text.contains("No entries yet"))
        let first = await visitor.post("/guestbook", form: ["name": "Ada Lovelace", "message": "Hello <script>alert(1)</script>"])
        XCTAssertEqual(first.status, 303)
        XCTAssertEqual(first.location, "/guestbook#entry-1")
        let second = await visitor.post("/guestbook", form: ["name": "  Grace  ", "message": "Second"])
        XCTAssertEqual(second.location, "/guestbook#entry-2")
        let page = await visitor.follow(second)
        XCTAssertTrue(page.text.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;"), "user input is escaped")
        XCTAssertFalse(page.text.contains("<script>alert(1)"))
        let grace = try XCTUnwrap(page.text.range(of: "— Grace,"), "names are trimmed")
        let ada = try XCTUnwrap(page.text.range(of: "— Ada Lovelace,"))
        XCTAssertLessThan(grace.lowerBound, ada.lowerBound, "newest first")
    }

    func testAnInvalidEntryShowsTheFormAgainWithTheInputKept() async throws {
        let app = try await TestApp(modules: [Guestbook()])
        let visitor = app.client()
        let invalid = await visitor.post("/guestbook", form: ["name": "", "message": "Kept <b>text</b>"])
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains(#"<p class="field-error">Name is required</p>"#), invalid.text)
        XCTAssertTrue(invalid.text.contains(">Kept &lt;b&gt;text&lt;/b&gt;</textarea>"), "the input is kept, escaped")
        XCTAssertTrue(invalid.text.contains(#"name="_csrf""#), "and the form can be sent again")
        let long = await visitor.post("/guestbook", form: ["name": String(repeating: "n", count: 81), "message": "x"])
        XCTAssertEqual(long.status, 422)
        XCTAssertTrue(long.text.contains("Name must be at most 80 characters"), long.text)
        let forged = await visitor.post("/guestbook", form: ["name": "Mallory", "message": "forged"], csrf: false)
        XCTAssertEqual(forged.status, 403)
        struct Count: Decodable { let n: Int }
        let stored = try await app.query(Count.self, "SELECT count(*) AS n FROM guestbook_entries")
        XCTAssertEqual(stored.first?.n, 0, "nothing invalid or forged was stored")
    }
}
