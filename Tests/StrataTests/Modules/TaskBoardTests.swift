import StrataTestSupport
import StrataTesting
import Tasks
import XCTest

/// The sample task board through `StrataTesting`, on SQLite and on
/// PostgreSQL: projects, members and visibility, tasks with typed field
/// errors, search and pages, comments, and the JSON API over the same methods.
final class TaskBoardTests: XCTestCase {
    func testMembersSeeTheirProjectsTasksCommentsAndTheSameDataAsJSONOnSQLite() async throws {
        try await board(try await TestApp(modules: [Tasks()]))
    }

    func testMembersSeeTheirProjectsTasksCommentsAndTheSameDataAsJSONOnPostgreSQL() async throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        try await board(try await TestApp(modules: [Tasks()], database: server.url))
    }

    private func board(_ app: TestApp) async throws {
        let visitor = app.client()
        let landing = await visitor.get("/")
        XCTAssertTrue(landing.text.contains("A task board for your team"), "visitors see what the board is")
        // The module's own stylesheet travels with its templates and is served fingerprinted.
        let stylesheet = String(try XCTUnwrap(landing.text.firstMatch(of: /href="(\/static\/modules\/tasks\.[0-9a-f]{10}\.css)"/)?.1, landing.text))
        let css = await visitor.get(stylesheet)
        XCTAssertEqual(css.status, 200)
        XCTAssertEqual(css.header("Content-Type"), "text/css; charset=utf-8")
        XCTAssertEqual(css.header("Cache-Control"), "public, max-age=31536000, immutable")
        XCTAssertTrue(css.text.contains("table.tasks"))
        let escape = await visitor.get("/static/modules/..%2Fstrata.css")
        XCTAssertEqual(escape.status, 404)

        let annUser = try await app.createUser(email: "ann@example.com", name: "Ann")
        let ann = try await app.client(signedInAs: annUser)
        let bobUser = try await app.createUser(email: "bob@example.com", name: "Bob")
        let bob = try await app.client(signedInAs: bobUser)

        // Ann starts a project; it is hers alone until she adds Bob.
        let created = await ann.post("/projects", form: ["name": "Launch", "description": "Ship it"])
        XCTAssertEqual(created.status, 303)
        let project = try XCTUnwrap(created.location)
        XCTAssertTrue(project.hasPrefix("/projects/"), project)
        let home = await ann.get("/")
        XCTAssertTrue(home.text.contains(#"<a href="\#(project)"><strong>Launch</strong></a>"#))
        let hidden = await bob.get(project)
        XCTAssertEqual(hidden.status, 404, "a project is invisible to non-members")
        let bobsHome = await bob.get("/")
        XCTAssertFalse(bobsHome.text.contains("Launch"))

        let stranger = await ann.post(project + "/members", form: ["email": "nobody@example.com"])
        XCTAssertEqual(stranger.status, 422)
        XCTAssertTrue(stranger.text.contains("Email does not belong to anyone here yet"), stranger.text)
        let added = await ann.post(project + "/members", form: ["email": "BOB@example.com"])
        XCTAssertEqual(added.status, 303)
        let visible = await bob.get(project)
        XCTAssertEqual(visible.status, 200)
        let notOwner = await bob.post(project + "/members", form: ["email": "ann@example.com"])
        XCTAssertEqual(notOwner.status, 403, "only the owner adds members")

        // Tasks: typed field errors keep the input; then a real one, assigned and due.
        let bad = await ann.post(project + "/tasks", form: ["title": "", "description": "kept", "due_date": "soon"])
        XCTAssertEqual(bad.status, 422)
        XCTAssertTrue(bad.text.contains("Title is required"))
        XCTAssertTrue(bad.text.contains("Due date must be a date like 2026-12-31"))
        XCTAssertTrue(bad.text.contains(">kept</textarea>"))
        let task = await ann.post(project + "/tasks", form: ["title": "Write <docs>", "description": "", "assignee": "", "due_date": "2026-12-01"])
        XCTAssertEqual(task.status, 303)
        let taskPath = try XCTUnwrap(task.location)
        for n in 1...21 {
            _ = await ann.post(project + "/tasks", form: ["title": "Chore \(n)", "description": "", "assignee": "", "due_date": ""])
        }
        let first = await ann.get(project)
        XCTAssertTrue(first.text.contains("Write &lt;docs&gt;"), "titles are escaped")
        XCTAssertTrue(first.text.contains("?page=2"), "22 tasks make two pages")
        let second = await ann.get(project + "?page=2")
        XCTAssertFalse(second.text.contains("?page=3"))
        let search = await ann.get(project + "?q=DOCS")
        XCTAssertTrue(search.text.contains("Write &lt;docs&gt;"))
        XCTAssertFalse(search.text.contains("Chore 1<"), "search narrows the list")
        let percent = await ann.get(project + "?q=%25")
        XCTAssertTrue(percent.text.contains("No tasks"), "a % typed by the user matches itself")
        let pageZero = await ann.get(project + "?page=0")
        XCTAssertEqual(pageZero.status, 422)

        // Bob moves the task along and comments; the comment is escaped.
        let eveUser = try await app.createUser(email: "eve@example.com", name: "Eve")
        let eve = try await app.client(signedInAs: eveUser)
        let peek = await eve.get(taskPath)
        XCTAssertEqual(peek.status, 404)
        let moved = await bob.post(
            taskPath, form: ["title": "Write <docs>", "status": "doing", "assignee": String(bobUser.id), "due_date": "2026-12-02"])
        XCTAssertEqual(moved.status, 303)
        let detail = await bob.get(taskPath)
        XCTAssertTrue(detail.text.contains(#"<span class="badge doing">doing</span>"#))
        XCTAssertTrue(detail.text.contains("Assigned to Bob · due 2026-12-02"))
        let comment = await bob.post(taskPath + "/comments", form: ["body": "On it <b>now</b>"])
        XCTAssertEqual(comment.location, taskPath + "#comments")
        let seen = await ann.get(taskPath)
        XCTAssertTrue(seen.text.contains("On it &lt;b&gt;now&lt;/b&gt;"))

        // The JSON API: a token for Ann, the same data, typed errors as JSON.
        let script = app.client()
        let annToken = try await app.apiToken(for: annUser)
        let projects = await script.api("GET", "/api/projects", token: annToken)
        XCTAssertEqual(projects.status, 200)
        XCTAssertTrue(projects.text.contains(#""name":"Launch""#), projects.text)
        let projectID = String(project.dropFirst("/projects/".count))
        let viaAPI = await script.api(
            "POST", "/api/projects/\(projectID)/tasks", json: #"{"title":"From a script","due_date":"2027-01-15"}"#, token: annToken)
        XCTAssertEqual(viaAPI.status, 200, viaAPI.text)
        let newID = try XCTUnwrap(viaAPI.text.firstMatch(of: /"id":(\d+)/)?.1)
        let patched = await script.api("PATCH", "/api/tasks/\(newID)", json: #"{"status":"done"}"#, token: annToken)
        XCTAssertEqual(patched.status, 200, patched.text)
        let fetched = await script.api("GET", "/api/tasks/\(newID)", token: annToken)
        XCTAssertTrue(fetched.text.contains(#""status":"done""#) && fetched.text.contains(#""due_date":"2027-01-15""#), fetched.text)
        let invalid = await script.api("POST", "/api/projects/\(projectID)/tasks", json: #"{"title":"","due_date":"x"}"#, token: annToken)
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains(#""fields":{"#) && invalid.text.contains(#""title":"is required""#), invalid.text)
        let wrongType = await script.api("PATCH", "/api/tasks/\(newID)", json: #"{"status":"finished"}"#, token: annToken)
        XCTAssertEqual(wrongType.status, 422, wrongType.text)
        let notJSON = await script.api("POST", "/api/projects/\(projectID)/tasks", json: "[1,2]", token: annToken)
        XCTAssertEqual(notJSON.status, 400)
        let anonymous = await app.client().api("GET", "/api/tasks/\(newID)")
        XCTAssertEqual(anonymous.status, 401)
        // With the cookie instead of a token, a state change needs the page's CSRF token as a header.
        let cookieOnly = await ann.api("PATCH", "/api/tasks/\(newID)", json: "{}", csrf: false)
        XCTAssertEqual(cookieOnly.status, 403)
        let withHeader = await ann.api("PATCH", "/api/tasks/\(newID)", json: "{}")
        XCTAssertEqual(withHeader.status, 200, withHeader.text)
        // Another user's token sees nothing of Ann's project.
        let evesToken = try await app.apiToken(for: eveUser)
        let probe = await script.api("GET", "/api/tasks/\(newID)", token: evesToken)
        XCTAssertEqual(probe.status, 404)
    }
}
