import Foundation
import StrataTestSupport
import XCTest

/// The sample task board through the real tiers: projects, members and
/// visibility, tasks with typed field errors, search and pages, comments,
/// and the JSON API over the same methods.
final class TaskBoardTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "task-board-test-secret-0123456") }

    override func tearDown() { tiers.stop() }

    func testMembersSeeTheirProjectsTasksCommentsAndTheSameDataAsJSONOnSQLite() throws {
        try board(database: tiers.folder.path + "/board.db")
    }

    func testMembersSeeTheirProjectsTasksCommentsAndTheSameDataAsJSONOnPostgreSQL() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        try board(database: server.url)
    }

    private func board(database: String) throws {
        let (port, _) = try tiers.startStack(database: database)
        let ann = Browser(try TestHTTPClient(port: port), address: "192.0.2.1")
        let bob = Browser(try TestHTTPClient(port: port), address: "192.0.2.2")

        let landing = try ann.go("GET", "/")
        XCTAssertTrue(landing.text.contains("A task board for your team"), "visitors see what the board is")
        // The module's own stylesheet travels with its templates and is served fingerprinted.
        let stylesheet = String(try XCTUnwrap(landing.text.firstMatch(of: /href="(\/static\/modules\/tasks\.[0-9a-f]{10}\.css)"/)?.1, landing.text))
        let css = try ann.go("GET", stylesheet)
        XCTAssertEqual(css.status, 200)
        XCTAssertEqual(css.header("Content-Type"), "text/css; charset=utf-8")
        XCTAssertEqual(css.header("Cache-Control"), "public, max-age=31536000, immutable")
        XCTAssertTrue(css.text.contains("table.tasks"))
        XCTAssertEqual(try ann.go("GET", "/static/modules/..%2Fstrata.css").status, 404)
        try ann.signUp(email: "ann@example.com", name: "Ann")
        try bob.signUp(email: "bob@example.com", name: "Bob")

        // Ann starts a project; it is hers alone until she adds Bob.
        let created = try ann.go("POST", "/projects", form: [("_csrf", try ann.token(on: "/")), ("name", "Launch"), ("description", "Ship it")])
        XCTAssertEqual(created.status, 303)
        let project = try XCTUnwrap(created.header("Location"))
        XCTAssertTrue(project.hasPrefix("/projects/"), project)
        XCTAssertTrue(try ann.go("GET", "/").text.contains(#"<a href="\#(project)"><strong>Launch</strong></a>"#))
        XCTAssertEqual(try bob.go("GET", project).status, 404, "a project is invisible to non-members")
        XCTAssertFalse(try bob.go("GET", "/").text.contains("Launch"))

        var csrf = try ann.token(on: project)
        let stranger = try ann.go("POST", project + "/members", form: [("_csrf", csrf), ("email", "nobody@example.com")])
        XCTAssertEqual(stranger.status, 422)
        XCTAssertTrue(stranger.text.contains("Email does not belong to anyone here yet"), stranger.text)
        XCTAssertEqual(try ann.go("POST", project + "/members", form: [("_csrf", csrf), ("email", "BOB@example.com")]).status, 303)
        XCTAssertEqual(try bob.go("GET", project).status, 200)
        let bobsToken = try bob.token(on: project)
        XCTAssertEqual(
            try bob.go("POST", project + "/members", form: [("_csrf", bobsToken), ("email", "ann@example.com")]).status, 403,
            "only the owner adds members")

        // Tasks: typed field errors keep the input; then a real one, assigned and due.
        let bad = try ann.go("POST", project + "/tasks", form: [("_csrf", csrf), ("title", ""), ("description", "kept"), ("due_date", "soon")])
        XCTAssertEqual(bad.status, 422)
        XCTAssertTrue(bad.text.contains("Title is required"))
        XCTAssertTrue(bad.text.contains("Due date must be a date like 2026-12-31"))
        XCTAssertTrue(bad.text.contains(">kept</textarea>"))
        let task = try ann.go(
            "POST", project + "/tasks",
            form: [("_csrf", csrf), ("title", "Write <docs>"), ("description", ""), ("assignee", ""), ("due_date", "2026-12-01")])
        XCTAssertEqual(task.status, 303)
        let taskPath = try XCTUnwrap(task.header("Location"))
        for n in 1...21 {
            _ = try ann.go(
                "POST", project + "/tasks", form: [("_csrf", csrf), ("title", "Chore \(n)"), ("description", ""), ("assignee", ""), ("due_date", "")])
        }
        let first = try ann.go("GET", project)
        XCTAssertTrue(first.text.contains("Write &lt;docs&gt;"), "titles are escaped")
        XCTAssertTrue(first.text.contains("?page=2"), "22 tasks make two pages")
        XCTAssertFalse(try ann.go("GET", project + "?page=2").text.contains("?page=3"))
        let search = try ann.go("GET", project + "?q=DOCS")
        XCTAssertTrue(search.text.contains("Write &lt;docs&gt;"))
        XCTAssertFalse(search.text.contains("Chore 1<"), "search narrows the list")
        XCTAssertTrue(try ann.go("GET", project + "?q=%25").text.contains("No tasks"), "a % typed by the user matches itself")
        XCTAssertEqual(try ann.go("GET", project + "?page=0").status, 422)

        // Bob moves the task along and comments; the comment is escaped.
        csrf = try bob.token(on: taskPath)
        let stranger2 = Browser(try TestHTTPClient(port: port), address: "192.0.2.3")
        try stranger2.signUp(email: "eve@example.com", name: "Eve")
        XCTAssertEqual(try stranger2.go("GET", taskPath).status, 404)
        let bobID = try XCTUnwrap(try bob.go("GET", "/api/me").text.firstMatch(of: /"id":(\d+)/)?.1)
        let moved = try bob.go(
            "POST", taskPath,
            form: [("_csrf", csrf), ("title", "Write <docs>"), ("status", "doing"), ("assignee", String(bobID)), ("due_date", "2026-12-02")])
        XCTAssertEqual(moved.status, 303)
        let detail = try bob.go("GET", taskPath)
        XCTAssertTrue(detail.text.contains(#"<span class="badge doing">doing</span>"#))
        XCTAssertTrue(detail.text.contains("Assigned to Bob · due 2026-12-02"))
        XCTAssertEqual(
            try bob.go("POST", taskPath + "/comments", form: [("_csrf", csrf), ("body", "On it <b>now</b>")]).header("Location"),
            taskPath + "#comments")
        XCTAssertTrue(try ann.go("GET", taskPath).text.contains("On it &lt;b&gt;now&lt;/b&gt;"))

        // The JSON API: a token for Ann, the same data, typed errors as JSON.
        csrf = try ann.token(on: "/account")
        _ = try ann.go("POST", "/account/tokens", form: [("_csrf", csrf), ("name", "script")])
        let token = String(try XCTUnwrap(try ann.go("GET", "/account").text.firstMatch(of: /(strata_[0-9a-f]{64})/)?.1))
        let api = try TestHTTPClient(port: port)
        let auth = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
        let projects = try api.request("GET", "/api/projects", headers: auth)
        XCTAssertEqual(projects.status, 200)
        XCTAssertTrue(projects.text.contains(#""name":"Launch""#), projects.text)
        let projectID = String(project.dropFirst("/projects/".count))
        let viaAPI = try api.request(
            "POST", "/api/projects/\(projectID)/tasks", headers: auth, body: #"{"title":"From a script","due_date":"2027-01-15"}"#)
        XCTAssertEqual(viaAPI.status, 200, viaAPI.text)
        let newID = try XCTUnwrap(viaAPI.text.firstMatch(of: /"id":(\d+)/)?.1)
        let patched = try api.request("PATCH", "/api/tasks/\(newID)", headers: auth, body: #"{"status":"done"}"#)
        XCTAssertEqual(patched.status, 200, patched.text)
        let fetched = try api.request("GET", "/api/tasks/\(newID)", headers: auth)
        XCTAssertTrue(fetched.text.contains(#""status":"done""#) && fetched.text.contains(#""due_date":"2027-01-15""#), fetched.text)
        let invalid = try api.request("POST", "/api/projects/\(projectID)/tasks", headers: auth, body: #"{"title":"","due_date":"x"}"#)
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains(#""fields":{"#) && invalid.text.contains(#""title":"is required""#), invalid.text)
        let wrongType = try api.request("PATCH", "/api/tasks/\(newID)", headers: auth, body: #"{"status":"finished"}"#)
        XCTAssertEqual(wrongType.status, 422, wrongType.text)
        let notJSON = try api.request("POST", "/api/projects/\(projectID)/tasks", headers: auth, body: "[1,2]")
        XCTAssertEqual(notJSON.status, 400)
        XCTAssertEqual(try api.request("GET", "/api/tasks/\(newID)").status, 401)
        // With the cookie instead of a token, a state change needs the page's CSRF token as a header.
        let cookieOnly = try ann.go("PATCH", "/api/tasks/\(newID)", headers: [("Content-Type", "application/json")])
        XCTAssertEqual(cookieOnly.status, 403)
        let page = try ann.go("GET", "/")
        _ = page
        let withHeader = try ann.go(
            "PATCH", "/api/tasks/\(newID)", headers: [("Content-Type", "application/json"), ("X-CSRF-Token", try ann.token(on: "/"))])
        XCTAssertEqual(withHeader.status, 200, withHeader.text)
        // Another user's token sees nothing of Ann's project.
        let eveCSRF = try stranger2.token(on: "/account")
        _ = try stranger2.go("POST", "/account/tokens", form: [("_csrf", eveCSRF), ("name", "probe")])
        let eveToken = String(try XCTUnwrap(try stranger2.go("GET", "/account").text.firstMatch(of: /(strata_[0-9a-f]{64})/)?.1))
        XCTAssertEqual(try api.request("GET", "/api/tasks/\(newID)", headers: [("Authorization", "Bearer \(eveToken)")]).status, 404)
    }
}
