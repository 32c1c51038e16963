import Foundation
import StrataTestSupport
import Synchronization
import XCTest

/// The whole stack with PgBouncer in transaction pooling mode between the
/// data tier and PostgreSQL: a statement outside a transaction, or a
/// transaction, may reach any of the bouncer's few server connections, so
/// nothing may rely on session state across them (prepared statements are
/// turned off with `--prepared-statements off`).
final class PgBouncerTests: XCTestCase {
    func testTheStackWorksThroughATransactionPoolingBouncer() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        guard let bouncer = try PgBouncer.startIfAvailable(inFrontOf: server, serverConnections: 2) else {
            throw XCTSkip("pgbouncer is not installed")
        }
        defer { bouncer.stop() }
        let tiers = try Tiers(secret: "integration-test-secret-0123456789")
        defer { tiers.stop() }
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        // Migrations hold an advisory lock for the session: they go to the server itself.
        let migrate = try tiers.start("strata-data", ["migrate", "up", "--database", server.url, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(seconds: 60), 0, migrate.output.joined(separator: "\n"))
        let data = try tiers.start(
            "strata-data",
            [
                "serve", "--listen", "127.0.0.1:0", "--database", bouncer.url, "--prepared-statements", "off", "--pool", "8",
                "--migrations", migrations,
            ])
        let dataAddress = try data.waitForReady()
        let app = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress])
        let web = try tiers.start(
            "strata-web", ["serve", "--port", "0", "--app", try app.waitForReady(), "--rate-limit", "0", "--log-level", "warning"])
        let port = try XCTUnwrap(try web.waitForReady().split(separator: ":").last.flatMap { Int($0) })

        // Sign-up and token: transactions and writes through the bouncer.
        let user = Browser(try TestHTTPClient(port: port), address: "203.0.113.11")
        try user.signUp(email: "bounced@example.com", name: "Bounced")
        let token = try user.makeAPIToken(named: "api")

        // Eight clients at once over two server connections: statements of
        // different data-tier connections interleave on the same server ones.
        let statuses = Mutex<[Int]>([])
        let group = DispatchGroup()
        for client in 0..<8 {
            group.enter()
            Thread {
                defer { group.leave() }
                for index in 0..<25 {
                    let status =
                        (try? TestHTTPClient(port: port).request(
                            "POST", "/api/todos", headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                            body: #"{"title":"b\#(client)-\#(index)"}"#
                        ).status) ?? 0
                    let listed = (try? TestHTTPClient(port: port).request("GET", "/api/todos").status) ?? 0
                    statuses.withLock { $0 += [status, listed] }
                }
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        let answered = statuses.withLock { $0 }
        XCTAssertEqual(answered.count, 400)
        XCTAssertEqual(answered.filter { $0 != 200 }, [], "every call through the bouncer answered 200")
        let listed = try TestHTTPClient(port: port).request("GET", "/api/todos").text
        let missing = (0..<8).flatMap { client in (0..<25).map { "b\(client)-\($0)" } }.filter { !listed.contains(#""title":"\#($0)""#) }
        XCTAssertEqual(missing, [])
        XCTAssertEqual(data.output.filter { $0.contains("prepared statement") }, [], "no prepared statement crossed server connections")
    }
}
