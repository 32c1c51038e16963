import Foundation
import StrataTestSupport
import Synchronization
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Restarts under a steady load on a page that crosses all three tiers:
/// nothing a browser sends may fail. Each scenario prints its figures.
final class RestartTests: XCTestCase {
    private var tiers: Tiers!
    private let migrations = repositoryRoot.appendingPathComponent("Migrations").path

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    /// Data on SQLite and two app replicas on fixed ports; returns their ports, processes and the data tier's address.
    private func startDataAndApps() throws -> (ports: [Int], apps: [TierProcess], data: String) {
        let database = tiers.folder.path + "/strata.db"
        XCTAssertEqual(try tiers.start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations]).waitForExit(), 0)
        let data = try tiers.start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataAddress = try data.waitForReady()
        let ports = [Loopback.freePort(), Loopback.freePort()]
        let apps = try ports.map { port in
            let app = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:\(port)", "--data", dataAddress])
            _ = try app.waitForReady()
            return app
        }
        return (ports, apps, dataAddress)
    }

    private func startWeb(port: Int, appPorts: [Int]) throws -> TierProcess {
        let web = try tiers.start(
            "strata-web",
            [
                "serve", "--port", "\(port)", "--app", appPorts.map { "127.0.0.1:\($0)" }.joined(separator: ","), "--rate-limit", "0", "--log-level",
                "warning",
            ])
        _ = try web.waitForReady()
        return web
    }

    /// Waits while the load runs, so each step happens under traffic.
    private func underLoad(_ load: SteadyLoad, seconds: Double) {
        let before = load.soFar.answered
        Thread.sleep(forTimeInterval: seconds)
        XCTAssertGreaterThan(load.soFar.answered, before, "the load should be running")
    }

    func testRollingAppRestartsAndAKilledReplicaFailNoRequest() throws {
        let (appPorts, startedApps, dataAddress) = try startDataAndApps()
        var apps = startedApps
        let webPort = Loopback.freePort()
        _ = try startWeb(port: webPort, appPorts: appPorts)
        let load = SteadyLoad(port: webPort, path: "/guestbook", clients: 8)
        underLoad(load, seconds: 1)

        // (a) Each replica in turn: SIGTERM (it sends GOAWAY and finishes its calls), then a new one on its port.
        for index in apps.indices {
            apps[index].send(SIGTERM)
            XCTAssertEqual(apps[index].waitForExit(seconds: 15), 0, "replica \(index) should drain and exit 0")
            underLoad(load, seconds: 0.5)
            apps[index] = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:\(appPorts[index])", "--data", dataAddress])
            _ = try apps[index].waitForReady()
            underLoad(load, seconds: 1.5)
        }
        let rolling = load.soFar
        print("rolling restart of 2 app replicas under 8 clients: \(rolling)")
        XCTAssertEqual(rolling.failed, [], "\(rolling)")

        // (c) kill -9 of one replica: its calls in flight are pages (idempotent), retried on the other.
        apps[1].send(SIGKILL)
        XCTAssertNotNil(apps[1].waitForExit(seconds: 5))
        underLoad(load, seconds: 2)
        let result = load.stop()
        print("then kill -9 of one app replica: \(result)")
        XCTAssertEqual(result.failed, [], "\(result)")
        XCTAssertGreaterThan(result.answered, 200)
    }

    func testAWebRestartOnTheSamePortFailsNoRequest() throws {
        let (appPorts, _, _) = try startDataAndApps()
        let webPort = Loopback.freePort()
        let old = try startWeb(port: webPort, appPorts: appPorts)
        let load = SteadyLoad(port: webPort, path: "/guestbook", clients: 8)
        underLoad(load, seconds: 1)
        // (b) The new process binds the same port beside the old one (SO_REUSEPORT); then the old one drains and exits.
        _ = try startWeb(port: webPort, appPorts: appPorts)
        underLoad(load, seconds: 1)
        old.send(SIGTERM)
        XCTAssertEqual(old.waitForExit(seconds: 15), 0)
        underLoad(load, seconds: 1.5)
        let result = load.stop()
        print("web restart on one port under 8 clients: \(result)")
        XCTAssertEqual(result.failed, [], "\(result)")
        XCTAssertGreaterThan(result.answered, 200)
    }
}

/// (d) `kill -9` of the data tier while writes go through all three tiers:
/// no write a client saw acknowledged is lost, and the stack answers again
/// soon after the data tier is back.
final class DataTierKillTests: XCTestCase {
    private var tiers: Tiers!
    private let migrations = repositoryRoot.appendingPathComponent("Migrations").path

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    func testOnSQLite() throws {
        try killTheDataTierUnderWrites(database: tiers.folder.path + "/strata.db", engine: "SQLite")
    }

    func testOnPostgreSQL() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        try killTheDataTierUnderWrites(database: server.url, engine: "PostgreSQL")
    }

    private func killTheDataTierUnderWrites(database: String, engine: String) throws {
        XCTAssertEqual(try tiers.start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations]).waitForExit(), 0)
        let dataPort = Loopback.freePort()
        let serveData = ["serve", "--listen", "127.0.0.1:\(dataPort)", "--database", database, "--migrations", migrations]
        let data = try tiers.start("strata-data", serveData)
        _ = try data.waitForReady()
        let app = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", "127.0.0.1:\(dataPort)"])
        let appAddress = try app.waitForReady()
        let web = try tiers.start("strata-web", ["serve", "--port", "0", "--app", appAddress, "--rate-limit", "0", "--log-level", "warning"])
        let port = try XCTUnwrap(try web.waitForReady().split(separator: ":").last.flatMap { Int($0) })

        // An API token, as a user makes one on the account page.
        let user = Browser(try TestHTTPClient(port: port), address: "203.0.113.7")
        try user.signUp(email: "writer@example.com", name: "Writer")
        let token = try user.makeAPIToken(named: "load")

        // Four writers post todos through the JSON API and keep the titles answered 200.
        let acknowledged = Acknowledged()
        let writing = DispatchGroup()
        for writer in 0..<4 {
            writing.enter()
            Thread {
                defer { writing.leave() }
                var sequence = 0
                while !acknowledged.stopped.load(ordering: .relaxed) {
                    sequence += 1
                    let title = "w\(writer)-\(sequence)"
                    guard let client = try? TestHTTPClient(port: port),
                        let response = try? client.request(
                            "POST", "/api/todos", headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                            body: #"{"title":"\#(title)"}"#)
                    else { continue }
                    if response.status == 200 { acknowledged.titles.withLock { $0.append(title) } } else { usleep(20_000) }
                }
            }.start()
        }
        let warmUp = Date()
        while acknowledged.titles.withLock({ $0.count }) < 200 && Date().timeIntervalSince(warmUp) < 20 { usleep(10_000) }
        guard acknowledged.titles.withLock({ $0.count }) >= 200 else {
            acknowledged.stopped.store(true, ordering: .relaxed)
            _ = writing.wait(timeout: .now() + 15)
            return XCTFail("the writers got fewer than 200 writes acknowledged in 20 s")
        }
        data.send(SIGKILL)
        XCTAssertNotNil(data.waitForExit(seconds: 5))
        Thread.sleep(forTimeInterval: 0.5)
        let restarted = try tiers.start("strata-data", serveData)
        _ = try restarted.waitForReady()
        let back = Date()
        // The first write answered after the restart says the stack serves again.
        let before = acknowledged.titles.withLock { $0.count }
        while acknowledged.titles.withLock({ $0.count }) == before && Date().timeIntervalSince(back) < 30 { usleep(10_000) }
        let recovery = Date().timeIntervalSince(back)
        Thread.sleep(forTimeInterval: 0.5)
        acknowledged.stopped.store(true, ordering: .relaxed)
        _ = writing.wait(timeout: .now() + 15)

        let titles = acknowledged.titles.withLock { $0 }
        let listed = try TestHTTPClient(port: port).request("GET", "/api/todos").text
        let lost = titles.filter { !listed.contains(#""title":"\#($0)""#) }
        print(
            "kill -9 of the data tier (\(engine)) under 4 writers: \(titles.count) writes acknowledged, \(lost.count) lost; "
                + "serving again \(String(format: "%.2f", recovery)) s after the data tier was back")
        XCTAssertEqual(lost, [], "acknowledged but not stored")
        XCTAssertLessThan(recovery, 5, "the stack should serve again within 5 s of the data tier's restart")
    }
}

/// The titles the stack acknowledged, from every writer.
private final class Acknowledged: Sendable {
    let titles = Mutex<[String]>([])
    let stopped = Atomic<Bool>(false)
}
