import Foundation
import StrataTestSupport
import XCTest

/// Each tier's liveness and readiness as an orchestrator sees them: the
/// health port and the `probe` command a container healthcheck runs.
final class HealthTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    private var migrations: String { repositoryRoot.appendingPathComponent("Migrations").path }
    private var database: String { tiers.folder.path + "/strata.db" }

    private func start(_ executable: String, _ arguments: [String]) throws -> TierProcess { try tiers.start(executable, arguments) }

    /// Runs `executable probe arguments` to its end: the exit status and what it printed.
    private func probe(_ executable: String, _ arguments: [String]) throws -> (status: Int32?, output: String) {
        let process = try start(executable, ["probe"] + arguments)
        let status = process.waitForExit(seconds: 10)
        return (status, process.output.joined(separator: "\n"))
    }

    /// The `health=` address a tier logged when its health port opened.
    private func healthAddress(_ process: TierProcess) throws -> String {
        let line = try process.waitForLine(containing: "health=")
        let field = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("health=") }, line)
        return String(field.dropFirst("health=".count))
    }

    /// Probes until the answer's exit status is `status`, for at most 20 seconds.
    private func probe(_ executable: String, _ arguments: [String], until status: Int32) throws -> String {
        var last = ""
        for _ in 0..<40 {
            let (code, output) = try probe(executable, arguments)
            if code == status { return output }
            last = output
            Thread.sleep(forTimeInterval: 0.5)
        }
        throw TestHTTPClient.Failure(description: "\(executable) probe \(arguments) never exited \(status); last: \(last)")
    }

    func testDataAndAppTiersWaitNotReadyForWhatTheyNeedThenServe() throws {
        // The schema is not there yet: the data tier waits (not ready, saying why) instead of exiting.
        let data = try start(
            "strata-data",
            ["serve", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataHealth = try healthAddress(data)
        let waiting = try probe("strata-data", ["--health", dataHealth])
        XCTAssertEqual(waiting.status, 1, waiting.output)
        XCTAssertTrue(waiting.output.contains("migration(s) pending"), waiting.output)
        XCTAssertTrue(waiting.output.contains("strata-data migrate up"), waiting.output)
        XCTAssertEqual(try probe("strata-data", ["--health", dataHealth, "--live"]).status, 0, "a waiting tier is alive")

        // The app tier, pointed at a data tier that does not serve yet, waits likewise.
        let dataPort = Loopback.freePort()
        let app = try start(
            "strata-app", ["serve", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--data", "127.0.0.1:\(dataPort)"])
        let appHealth = try healthAddress(app)
        let appWaiting = try probe("strata-app", ["--health", appHealth])
        XCTAssertEqual(appWaiting.status, 1, appWaiting.output)
        XCTAssertTrue(appWaiting.output.contains("the data tier does not answer"), appWaiting.output)

        let migrate = try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        XCTAssertEqual(try probe("strata-data", ["--health", dataHealth], until: 0).trimmingCharacters(in: .whitespacesAndNewlines), "ready")
        XCTAssertNotNil(try data.waitForReady())

        // Another data tier on the port the app tier was given: the app tier follows once it serves.
        let second = try start(
            "strata-data", ["serve", "--listen", "127.0.0.1:\(dataPort)", "--database", database, "--migrations", migrations])
        XCTAssertNotNil(try second.waitForReady())
        XCTAssertNotNil(try probe("strata-app", ["--health", appHealth], until: 0))
        XCTAssertNotNil(try app.waitForReady())

        // The data tier going away makes the app tier not ready again, and still alive.
        second.stop()
        let orphaned = try probe("strata-app", ["--health", appHealth], until: 1)
        XCTAssertTrue(orphaned.contains("the data tier does not answer"), orphaned)
        XCTAssertEqual(try probe("strata-app", ["--health", appHealth, "--live"]).status, 0)
    }

    func testWebProbeFollowsReadinessOnTheHTTPPort() throws {
        let web = try start("strata-web", ["serve", "--port", "0", "--app", "127.0.0.1:\(Loopback.freePort())", "--discovery-interval", "1"])
        let address = try web.waitForReady()
        let port = try XCTUnwrap(address.split(separator: ":").last.map(String.init))
        let result = try probe("strata-web", ["--port", port])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("not ready: the application tier has not been reached yet"), result.output)
        XCTAssertEqual(try probe("strata-web", ["--port", port, "--live"]).status, 0)
    }

    func testMigrateWaitsForADatabaseStillStartingAndGivesUpAtItsLimit() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        try server.pause()
        let migrate = try start("strata-data", ["migrate", "up", "--database", server.url, "--migrations", migrations, "--wait", "60"])
        _ = try migrate.waitForLine(containing: "waiting up to 60.0 seconds for the database")
        try server.resume()
        XCTAssertEqual(migrate.waitForExit(seconds: 30), 0, migrate.output.joined(separator: "\n"))
        XCTAssertTrue(migrate.output.contains { $0.contains("applied 0001_create_guestbook") }, migrate.output.joined(separator: "\n"))

        try server.pause()
        let impatient = try start("strata-data", ["migrate", "status", "--database", server.url, "--migrations", migrations, "--wait", "1"])
        XCTAssertEqual(impatient.waitForExit(seconds: 30), 1)
        XCTAssertTrue(impatient.output.joined().contains("cannot connect to PostgreSQL"), impatient.output.joined(separator: "\n"))
    }

    /// A signalled tier says "draining" on its health port while it finishes
    /// what it holds, so an orchestrator sends it nothing new, and it exits
    /// once that is answered.
    func testASignalledWebTierIsNotReadyWhileItFinishesARequest() throws {
        let web = try start(
            "strata-web",
            ["serve", "--port", "0", "--health", "127.0.0.1:0", "--app", "127.0.0.1:\(Loopback.freePort())", "--discovery-interval", "1"])
        let health = try healthAddress(web)
        let address = try web.waitForReady()
        let port = try XCTUnwrap(address.split(separator: ":").last.flatMap { Int($0) })
        let healthPort = try XCTUnwrap(health.split(separator: ":").last.flatMap { Int($0) })
        func readiness() throws -> TestHTTPClient.Response { try TestHTTPClient(port: healthPort).request("GET", "/readyz") }
        XCTAssertFalse(try readiness().text.contains("draining"), "not draining before the signal")

        // A request still arriving: its body is half sent when the signal comes.
        let client = try TestHTTPClient(port: port)
        try client.send(
            "POST /guestbook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nname=")
        Thread.sleep(forTimeInterval: 0.2)
        web.send(SIGTERM)
        var said = ""
        for _ in 0..<50 {
            let answer = try readiness()
            said = "\(answer.status) \(answer.text)"
            if answer.text.contains("draining") { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(said.hasPrefix("503") && said.contains("draining"), said)
        XCTAssertNil(web.waitForExit(seconds: 0.1), "still running: a request is in flight")

        try client.send("annxy")
        let answer = try client.readResponse()
        XCTAssertNotEqual(answer.status, 0)
        XCTAssertEqual(answer.header("Connection"), "close", "the last answer of a draining server closes")
        XCTAssertEqual(web.waitForExit(seconds: 15), 0, web.output.joined(separator: "\n"))
    }

    func testProbeWithoutAnAddressIsAUsageMistake() throws {
        let result = try probe("strata-app", [])
        XCTAssertEqual(result.status, 64, result.output)
        XCTAssertTrue(result.output.contains("no health address"), result.output)
    }
}
