import StrataTesting
import Todos
import XCTest

/// The Todos example module through `StrataTesting`: its page, forms and JSON API.
final class TodosTests: XCTestCase {
    struct Todo: Decodable, Equatable {
        let id: Int64
        let title: String
    }

    func testAddListAndDeleteThroughThePage() async throws {
        let app = try await TestApp(modules: [Todos()])
        let browser = app.client()
        let added = await browser.post("/todos", form: ["title": "Buy <milk>"])
        XCTAssertEqual(added.status, 303)
        XCTAssertEqual(added.location, "/todos")
        let page = await browser.follow(added)
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("Buy &lt;milk&gt;"), "titles are escaped")
        XCTAssertTrue(page.text.contains(#"action="/todos/1/delete""#))

        let deleted = await browser.post("/todos/1/delete", form: [:])
        XCTAssertEqual(deleted.status, 303)
        let after = await browser.follow(deleted)
        XCTAssertTrue(after.text.contains("Deleted “Buy &lt;milk&gt;”."), "the flash shows once")
        XCTAssertFalse(after.text.contains(#"action="/todos/1/delete""#))
        let again = await browser.get("/todos")
        XCTAssertFalse(again.text.contains("Deleted “"), "and only once")
        let left = try await app.query(Todo.self, "SELECT id, title FROM todos")
        XCTAssertEqual(left, [])
    }

    func testAnEmptyTitleShowsTheFormAgainAndAFormWithoutTokenIsRefused() async throws {
        let app = try await TestApp(modules: [Todos()])
        let browser = app.client()
        let invalid = await browser.post("/todos", form: ["title": "   "])
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains("Title is required"), invalid.text)

        let forged = await browser.post("/todos", form: ["title": "from another site"], csrf: false)
        XCTAssertEqual(forged.status, 403)
        let missing = await browser.post("/todos/99/delete", form: [:])
        XCTAssertEqual(missing.status, 404)
        let stored = try await app.query(Todo.self, "SELECT id, title FROM todos")
        XCTAssertEqual(stored, [], "nothing was written")
    }

    func testTheJSONAPI() async throws {
        let app = try await TestApp(modules: [Todos()])
        let client = app.client()
        let created = await client.api("POST", "/api/todos", json: #"{"title": "Ship it"}"#)
        XCTAssertEqual(created.status, 200)
        XCTAssertEqual(try created.json(Todo.self), Todo(id: 1, title: "Ship it"))
        struct List: Decodable { let todos: [Todo] }
        let list = await client.api("GET", "/api/todos")
        XCTAssertEqual(try list.json(List.self).todos, [Todo(id: 1, title: "Ship it")])

        let invalid = await client.api("POST", "/api/todos", json: #"{"title": 5}"#)
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains(#""title":"must be text""#), invalid.text)
        let deleted = await client.api("DELETE", "/api/todos/1")
        XCTAssertEqual(deleted.status, 200)
        let again = await client.api("DELETE", "/api/todos/1")
        XCTAssertEqual(again.status, 404)
    }
}
