import Foundation
import StrataTestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Starts the real executables on ephemeral loopback ports against a
/// temporary SQLite file and speaks real HTTP to them.
final class StackTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var processes: [TierProcess] = []

    override func setUpWithError() throws {
        folder = try TemporaryFolder()
    }

    override func tearDown() {
        for process in processes.reversed() { process.stop() }
        processes.removeAll()
        folder.remove()
    }

    private var migrations: String { repositoryRoot.appendingPathComponent("Migrations").path }
    private var database: String { folder.path + "/strata.db" }
    /// The migration files the repository ships.
    private var migrationCount: Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: migrations)) ?? []).filter { $0.hasSuffix(".sql") }.count
    }

    /// The tiers of one test share this secret, as `strata up` arranges.
    private let secret = ["STRATA_RPC_SECRET": "integration-test-secret-0123456789"]

    private func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> TierProcess {
        let process = try TierProcess(executable, arguments, environment: environment ?? secret, directory: folder.url)
        processes.append(process)
        return process
    }

    /// The session cookie a page set and the CSRF token in its form, to post as that browser.
    private func formCredentials(_ page: TestHTTPClient.Response) throws -> (cookie: String, token: String) {
        let cookie = try XCTUnwrap(page.header("Set-Cookie")?.split(separator: ";").first.map(String.init), "no session cookie")
        let token = try XCTUnwrap(page.text.firstMatch(of: /name="_csrf" value="([0-9a-f]+)"/)?.1, "no CSRF field in:\n\(page.text)")
        return (cookie, String(token))
    }

    private func port(of address: String) throws -> Int {
        guard let text = address.split(separator: ":").last, let port = Int(text) else {
            throw TestHTTPClient.Failure(description: "no port in \(address)")
        }
        return port
    }

    func testThreeTiersServeThePageAcceptTheFormAndShowTheEntry() throws {
        let migrate = try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        XCTAssertTrue(migrate.output.contains { $0.contains("applied 0001_create_guestbook") })

        let data = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataAddress = try data.waitForReady()
        let app = try start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress])
        let appAddress = try app.waitForReady()
        let web = try start("strata-web", ["serve", "--port", "0", "--app", appAddress])
        let webPort = try port(of: try web.waitForReady())

        let client = try TestHTTPClient(port: webPort)
        let empty = try client.request("GET", "/guestbook")
        XCTAssertEqual(empty.status, 200)
        XCTAssertEqual(empty.header("Content-Type"), "text/html; charset=utf-8")
        XCTAssertTrue(empty.text.contains("No entries yet"))
        let stylesheet = try XCTUnwrap(
            empty.text.firstMatch(of: /<link rel="stylesheet" href="(\/static\/strata\.[0-9a-f]{10}\.css)">/)?.1,
            "the layout links the fingerprinted stylesheet:\n\(empty.text)")

        // The page set the session cookie and put this session's CSRF token in the form.
        let cookie = try XCTUnwrap(empty.header("Set-Cookie"))
        XCTAssertTrue(cookie.hasSuffix("; Path=/; HttpOnly; SameSite=Lax"), cookie)
        let (session, token) = try formCredentials(empty)
        let form = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", session)]

        let forged = try client.request(
            "POST", "/guestbook", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "name=Mallory&message=forged")
        XCTAssertEqual(forged.status, 403, "a form without this browser's token is refused")
        let wrongToken = try client.request(
            "POST", "/guestbook", headers: form, body: "_csrf=\(String(repeating: "0", count: 40))&name=Mallory&message=x")
        XCTAssertEqual(wrongToken.status, 403)

        let posted = try client.request(
            "POST", "/guestbook", headers: form,
            body: "_csrf=\(token)&name=Ada+Lovelace&message=Hello+%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        XCTAssertEqual(posted.status, 303)
        XCTAssertEqual(posted.header("Location"), "/guestbook#entry-1")

        let page = try client.request("GET", "/guestbook")
        XCTAssertTrue(page.text.contains("Ada Lovelace"))
        XCTAssertTrue(page.text.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;"), "user input must be escaped")
        XCTAssertFalse(page.text.contains("<script>alert(1)"))

        let css = try client.request("GET", String(stylesheet))
        XCTAssertEqual(css.status, 200)
        XCTAssertEqual(css.header("Content-Type"), "text/css; charset=utf-8")
        XCTAssertEqual(css.header("Cache-Control"), "public, max-age=31536000, immutable")
        XCTAssertEqual(try client.request("GET", "/static/strata.css").header("Cache-Control"), "no-cache")

        let missing = try client.request("GET", "/no/such/page")
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.text.contains("Not Found"))
        XCTAssertNotNil(missing.header("X-Request-ID"))

        // Invalid input: the page comes back with the problem next to the field and the input kept.
        let invalid = try client.request("POST", "/guestbook", headers: form, body: "_csrf=\(token)&name=&message=Kept+%3Cb%3Etext%3C%2Fb%3E")
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains(#"<p class="field-error">Name is required</p>"#), invalid.text)
        XCTAssertTrue(invalid.text.contains(">Kept &lt;b&gt;text&lt;/b&gt;</textarea>"), "the input is kept, escaped")
        XCTAssertTrue(invalid.text.contains("Ada Lovelace"), "the rest of the page is there too")
        XCTAssertTrue(invalid.text.contains(#"name="_csrf""#), "and the form can be sent again")

        let wrongMethod = try client.request("DELETE", "/guestbook")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.header("Allow"), "GET, HEAD, POST, OPTIONS")

        // The entry is really in the SQLite file.
        let status = try start("strata-data", ["migrate", "status", "--database", database, "--migrations", migrations])
        XCTAssertEqual(status.waitForExit(), 0)
        XCTAssertTrue(status.output.contains { $0.contains("\(migrationCount) applied, 0 pending") }, "\(status.output)")

        for tier in [web, app, data] {
            tier.send(SIGTERM)
            XCTAssertEqual(tier.waitForExit(), 0, "\(tier.output.suffix(80).joined(separator: "\n"))")
        }
    }

    func testTheWebTierLimitsEachClientsRequestRate() throws {
        let web = try start("strata-web", ["serve", "--port", "0", "--app", "127.0.0.1:1", "--rate-limit", "1"])
        let client = try TestHTTPClient(port: try port(of: try web.waitForReady()))
        // Pages (503 here: no app tier) count against the limit.
        let codes = try (0..<3).map { _ in try client.request("GET", "/").status }
        XCTAssertEqual(codes, [503, 503, 429], "a burst of twice the rate, then 429")
        let refused = try client.request("GET", "/")
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.header("Retry-After"), "1")
        XCTAssertEqual(try client.request("GET", "/healthz").status, 200, "health checks are never limited")
        XCTAssertEqual(try client.request("GET", "/static/strata.css").status, 200, "nor are static assets")
    }

    func testMigrateCommandsForOperators() throws {
        let dir = folder.path + "/migrations"
        func migrate(_ arguments: [String]) throws -> (status: Int32?, output: String) {
            let process = try start("strata-data", ["migrate"] + arguments + ["--database", database, "--migrations", dir])
            let status = process.waitForExit()
            return (status, process.output.joined(separator: "\n"))
        }
        let created = try migrate(["create", "add_notes"])
        XCTAssertEqual(created.status, 0, created.output)
        XCTAssertTrue(created.output.contains("0001_add_notes.sql"), created.output)
        try "-- migrate:up\nCREATE TABLE notes (body TEXT);\n-- migrate:down\nDROP TABLE notes;\n"
            .write(toFile: dir + "/0001_add_notes.sql", atomically: true, encoding: .utf8)
        try "-- migrate:up\nCREATE TABLE tags (name TEXT);\n".write(toFile: dir + "/0002_add_tags.sql", atomically: true, encoding: .utf8)

        let plan = try migrate(["up", "--dry-run"])
        XCTAssertEqual(plan.status, 0)
        XCTAssertTrue(
            plan.output.contains("CREATE TABLE notes (body TEXT);") && plan.output.contains("-- up ")
                && plan.output.contains("INSERT INTO strata_migrations"), plan.output)
        XCTAssertTrue(try migrate(["status"]).output.contains("0 applied, 2 pending"), "a dry run changes nothing")

        let up = try migrate(["up", "--to", "1"])
        XCTAssertTrue(up.output.contains("applied 0001_add_notes in"), up.output)
        let json = try migrate(["status", "--json"])
        XCTAssertTrue(json.output.contains(#""missingFile":false"#) && json.output.contains(#""version":2"#), json.output)
        XCTAssertEqual(try migrate(["up"]).status, 0)

        // 0002 has no down part: rolling it back is refused, naming the file.
        let refused = try migrate(["down"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("0002_add_tags.sql") && refused.output.contains("no '-- migrate:down' part"), refused.output)
        XCTAssertEqual(try migrate(["down", "--to", "0", "--dry-run"]).status, 1, "the plan is refused as a whole")

        try FileManager.default.removeItem(atPath: dir + "/0002_add_tags.sql")
        let missing = try migrate(["validate"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.output.contains("version 2 (add_tags) is applied but has no file"), missing.output)

        try "-- migrate:up\nCREATE TABLE tags (name TEXT);\n-- migrate:down\nDROP TABLE tags;\n".write(
            toFile: dir + "/0002_add_tags.sql", atomically: true, encoding: .utf8)
        let changed = try migrate(["validate"])
        XCTAssertTrue(changed.output.contains("0002_add_tags.sql: changed after it was applied"), changed.output)

        // Put the recorded file back (same bytes as applied) and roll back for real.
        try "-- migrate:up\nCREATE TABLE tags (name TEXT);\n".write(toFile: dir + "/0002_add_tags.sql", atomically: true, encoding: .utf8)
        XCTAssertEqual(try migrate(["validate"]).status, 0)
        let redo = try migrate(["redo"])
        XCTAssertEqual(redo.status, 1, "0002 still has no down part: \(redo.output)")
        let downOne = try migrate(["down", "--to", "1", "--dry-run"])
        XCTAssertEqual(downOne.status, 1)
        XCTAssertTrue(try migrate(["status"]).output.contains("2 applied, 0 pending"))
    }

    func testThreeTiersOnPostgreSQL() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        let migrate = try start("strata-data", ["migrate", "up", "--database", server.url, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        XCTAssertTrue(migrate.output.contains { $0.contains("applied 0002_guestbook_ids_on_postgres") }, "\(migrate.output)")

        let data = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", server.url, "--migrations", migrations])
        let dataAddress = try data.waitForReady()
        XCTAssertFalse(data.output.joined().contains("postgres://strata@127.0.0.1:\(server.port)/postgres\""), "no raw URL in logs")
        let app = try start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress])
        let appAddress = try app.waitForReady()
        let web = try start("strata-web", ["serve", "--port", "0", "--app", appAddress])
        let client = try TestHTTPClient(port: try port(of: try web.waitForReady()))

        let (session, token) = try formCredentials(try client.request("GET", "/guestbook"))
        for name in ["Ada", "Grace"] {
            let posted = try client.request(
                "POST", "/guestbook", headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", session)],
                body: "_csrf=\(token)&name=\(name)&message=Hello+from+PostgreSQL")
            XCTAssertEqual(posted.status, 303)
        }
        let page = try client.request("GET", "/guestbook")
        XCTAssertTrue(page.text.contains("Grace") && page.text.contains("Ada") && page.text.contains("Hello from PostgreSQL"), page.text)
        XCTAssertTrue(page.text.contains("entry-2"), "ids come from the identity column")

        let status = try start("strata-data", ["migrate", "status", "--database", server.url, "--migrations", migrations])
        XCTAssertEqual(status.waitForExit(), 0)
        XCTAssertTrue(status.output.contains { $0.contains("\(migrationCount) applied, 0 pending") }, "\(status.output)")
    }

    func testOperatorsCallTierMethodsWithStrataRPCCall() throws {
        let migrate = try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0)
        let data = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataAddress = try data.waitForReady()
        let app = try start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress])
        let appAddress = try app.waitForReady()

        func call(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32?, output: String) {
            let process = try start("strata", ["rpc", "call"] + arguments, environment: environment)
            let status = process.waitForExit()
            return (status, process.output.joined(separator: "\n"))
        }
        let health = try call([appAddress, "health.check"])
        XCTAssertEqual(health.status, 0, health.output)
        XCTAssertTrue(health.output.contains(#"{"status":"serving"}"#), health.output)
        let methods = try call([dataAddress, "rpc.methods"])
        XCTAssertTrue(
            methods.output.contains(#""idempotent":true,"maxConcurrent":null,"name":"sql.query""#)
                || methods.output.contains(#""idempotent":true,"name":"sql.query""#), methods.output)
        let rows = try call([dataAddress, "sql.query", #"{"sql": "SELECT count(*) AS n FROM guestbook_entries", "parameters": []}"#])
        XCTAssertEqual(rows.status, 0, rows.output)
        XCTAssertTrue(rows.output.contains(#"{"columns":["n"],"rows":[[{"i":0}]]}"#), rows.output)
        let unknown = try call([dataAddress, "no.such"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.output.contains("strata rpc call: unimplemented: no method named 'no.such'"), unknown.output)
        let refused = try call([dataAddress, "health.check"], environment: ["STRATA_RPC_SECRET": "not-the-secret-of-these-tiers"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("unauthenticated"), refused.output)
        let malformed = try call([dataAddress, "sql.query", "{not json"])
        XCTAssertEqual(malformed.status, 64)
        XCTAssertTrue(malformed.output.contains("not valid JSON"), malformed.output)

        // With the data tier gone the app tier reports itself not serving.
        data.stop()
        let degraded = try call([appAddress, "health.check"])
        XCTAssertTrue(degraded.output.contains("notServing"), degraded.output)
    }

    func testTiersRefuseToStartWithoutASecretAndPeersWithAnotherOne() throws {
        let migrate = try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0)
        let unconfigured = try start(
            "strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations], environment: [:])
        XCTAssertEqual(unconfigured.waitForExit(), 1)
        XCTAssertTrue(unconfigured.output.joined().contains("STRATA_RPC_SECRET is not set"), "\(unconfigured.output)")

        let data = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataAddress = try data.waitForReady()
        let intruder = try start(
            "strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress],
            environment: ["STRATA_RPC_SECRET": "some-other-secret-0123456789"])
        XCTAssertEqual(intruder.waitForExit(), 1)
        let output = intruder.output.joined(separator: "\n")
        XCTAssertTrue(output.contains("STRATA_RPC_SECRET"), output)
        XCTAssertEqual(intruder.output.filter { !$0.isEmpty }.count, 1, output)
    }

    func testDataTierRefusesToServeWhenMigrationsArePending() throws {
        let data = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        XCTAssertEqual(data.waitForExit(), 1)
        let output = data.output.joined(separator: "\n")
        XCTAssertTrue(output.contains("schema is behind"), output)
        XCTAssertTrue(output.contains("strata-data migrate up"), output)
    }

    func testBadFlagsAndUnreachablePeersGiveOneLineErrors() throws {
        for (executable, arguments, code) in [
            ("strata-web", ["serve", "--bogus"], Int32(64)),
            ("strata-app", ["serve", "--data", "not-an-address"], Int32(1)),
            ("strata-data", ["migrate", "sideways"], Int32(64)),
            ("strata", ["up", "--port", "99999"], Int32(64)),
            ("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", "127.0.0.1:1"], Int32(1)),
        ] {
            let process = try start(executable, arguments)
            XCTAssertEqual(process.waitForExit(), code, "\(executable) \(arguments)")
            let lines = process.output.filter { !$0.isEmpty }
            XCTAssertEqual(lines.count, 1, "\(executable) \(arguments): \(lines)")
            XCTAssertTrue(lines.first.map { $0.hasPrefix(executable + ": ") || $0.hasPrefix(executable + " ") } ?? false, "\(lines)")
        }
    }

    /// Asks `path` until `accept` likes the answer, for at most 15 seconds.
    private func poll(
        _ client: () throws -> TestHTTPClient, _ path: String, until accept: (TestHTTPClient.Response) -> Bool
    ) throws -> TestHTTPClient.Response {
        var last: TestHTTPClient.Response?
        for _ in 0..<75 {
            if let response = try? client().request("GET", path) {
                last = response
                if accept(response) { return response }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw TestHTTPClient.Failure(
            description: "GET \(path) never gave the expected answer; last: \(last.map { "\($0.status) \($0.text.prefix(200))" } ?? "none")")
    }

    func testWebTierWaitsForTheAppTierFollowsItsRestartsAndReloadsTemplatesInDevelopment() throws {
        let migrate = try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0)
        let data = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataAddress = try data.waitForReady()
        let appAddress = "127.0.0.1:\(Loopback.freePort())"

        // The web tier starts first: static files and health work, pages say 503.
        let web = try start("strata-web", ["serve", "--port", "0", "--app", appAddress, "--discovery-interval", "1"])
        let webPort = try port(of: try web.waitForReady())
        let connect = { try TestHTTPClient(port: webPort) }
        let waiting = try connect().request("GET", "/guestbook")
        XCTAssertEqual(waiting.status, 503)
        XCTAssertEqual(waiting.header("Retry-After"), "5")
        XCTAssertEqual(try connect().request("GET", "/static/strata.css").status, 200)
        XCTAssertEqual(try connect().request("GET", "/healthz").status, 200)
        XCTAssertEqual(try connect().request("GET", "/readyz").status, 503, "alive but not ready without the app tier")

        // The app tier arrives, in development mode with a template override.
        let overrides = folder.url.appendingPathComponent("templates/guestbook")
        try FileManager.default.createDirectory(at: overrides, withIntermediateDirectories: true)
        let page = overrides.appendingPathComponent("index.mustache")
        try "<p>first edition: {{#entries}}{{name}}{{/entries}}</p>\n".write(to: page, atomically: true, encoding: .utf8)
        var app = try start(
            "strata-app",
            [
                "serve", "--listen", appAddress, "--data", dataAddress, "--dev",
                "--templates", folder.url.appendingPathComponent("templates").path,
            ])
        _ = try app.waitForReady()
        _ = try poll(connect, "/guestbook") { $0.status == 200 && $0.text.contains("first edition") }
        _ = try poll(connect, "/readyz") { $0.status == 200 }
        // Error pages are templates a site may override, per status.
        let errors = folder.url.appendingPathComponent("templates/strata")
        try FileManager.default.createDirectory(at: errors, withIntermediateDirectories: true)
        try "<p>Lost? ({{status}}, request {{request_id}})</p>\n".write(
            to: errors.appendingPathComponent("error-404.mustache"), atomically: true, encoding: .utf8)
        let custom = try poll(connect, "/no/such/page") { $0.text.contains("Lost?") }
        XCTAssertEqual(custom.status, 404)
        XCTAssertTrue(custom.text.contains("(404, request \(custom.header("X-Request-ID") ?? "?"))"), custom.text)

        // An edited template is served without restarting anything.
        try "<p>second edition</p>\n".write(to: page, atomically: true, encoding: .utf8)
        _ = try poll(connect, "/guestbook") { $0.text.contains("second edition") }

        // The app tier goes away: pages answer 503, static files still work.
        app.stop()
        let gone = try poll(connect, "/guestbook") { $0.status == 503 }
        _ = try poll(connect, "/readyz") { $0.status == 503 }
        XCTAssertFalse(gone.text.contains("second edition"))
        XCTAssertEqual(try connect().request("GET", "/static/strata.css").status, 200)

        // It comes back as a new version (the module's own templates): the web tier follows.
        app = try start("strata-app", ["serve", "--listen", appAddress, "--data", dataAddress])
        _ = try app.waitForReady()
        let back = try poll(connect, "/guestbook") { $0.status == 200 && !$0.text.contains("edition") }
        XCTAssertTrue(back.text.contains("No entries yet"), back.text)
    }

    func testEveryExecutableDocumentsItsFlagsAndVariables() throws {
        for (executable, arguments, expected) in [
            ("strata", ["up", "--help"], ["--port", "STRATA_WEB_PORT", "--database", "STRATA_DATABASE_URL"]),
            ("strata-web", ["serve", "--help"], ["--port", "STRATA_WEB_PORT", "--app", "STRATA_APP_URL"]),
            ("strata-app", ["serve", "--help"], ["--listen", "STRATA_APP_LISTEN", "--data", "STRATA_DATA_URL"]),
            ("strata-data", ["serve", "--help"], ["--listen", "STRATA_DATA_LISTEN", "--database", "STRATA_DATABASE_URL"]),
            ("strata-data", ["--help"], ["migrate up", "migrate status", "serve"]),
        ] {
            let process = try start(executable, arguments)
            XCTAssertEqual(process.waitForExit(), 0)
            let text = process.output.joined(separator: "\n")
            for word in expected { XCTAssertTrue(text.contains(word), "\(executable) help lacks \(word)") }
        }
    }

    func testStrataUpRunsTheStackAndStopsCleanlyOnSIGTERM() throws {
        let up = try start("strata", ["up", "--port", "0", "--database", database, "--migrations", migrations])
        let line = try up.waitForLine(containing: "Strata is running at http://")
        guard let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://") }),
            let port = Int(url.dropFirst("http://127.0.0.1:".count).dropLast())
        else {
            return XCTFail("no URL in \(line)")
        }
        XCTAssertTrue(up.output.contains { $0.hasPrefix("data | ") && $0.contains("msg=ready") })
        XCTAssertTrue(up.output.contains { $0.hasPrefix("app  | ") && $0.contains("msg=ready") })
        XCTAssertTrue(up.output.contains { $0.hasPrefix("web  | ") && $0.contains("msg=ready") })

        let client = try TestHTTPClient(port: port)
        XCTAssertEqual(try client.request("GET", "/guestbook").status, 200)

        up.send(SIGTERM)
        XCTAssertEqual(up.waitForExit(seconds: 30), 0, up.output.suffix(5).joined(separator: "\n"))
        XCTAssertThrowsError(try TestHTTPClient(port: port), "the web tier must be gone")
    }

    func testStrataUpStopsEverythingWhenATierDies() throws {
        let up = try start("strata", ["up", "--port", "0", "--database", database, "--migrations", migrations])
        _ = try up.waitForLine(containing: "Strata is running at")
        // Find the app tier among the launcher's children and kill it.
        let children = up.childPIDs
        let appPID = children.first { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("strata-app")
        }
        guard let appPID else { return XCTFail("no app tier among \(children)") }
        kill(appPID, SIGKILL)
        XCTAssertEqual(up.waitForExit(seconds: 30), 1)
        let output = up.output.joined(separator: "\n")
        XCTAssertTrue(output.contains("the app tier (pid \(appPID)) exited unexpectedly with signal 9"), output)
        for pid in children where pid != appPID {
            XCTAssertNotEqual(kill(pid, 0), 0, "tier \(pid) is still running")
        }
    }

    func testStrataUpReportsFailingMigrationsAndStartsNothing() throws {
        let bad = folder.url.appendingPathComponent("bad-migrations")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try "-- migrate:up\nCREATE TABLE ok (a TEXT);\nTHIS IS NOT SQL;".write(
            to: bad.appendingPathComponent("0001_broken.sql"), atomically: true, encoding: .utf8)
        let up = try start("strata", ["up", "--port", "0", "--database", database, "--migrations", bad.path])
        XCTAssertEqual(up.waitForExit(seconds: 30), 1)
        let output = up.output.joined(separator: "\n")
        XCTAssertTrue(output.contains("0001_broken.sql"), output)
        XCTAssertTrue(output.contains("migrations failed"), output)
        XCTAssertFalse(output.contains("msg=ready"))
    }
}
