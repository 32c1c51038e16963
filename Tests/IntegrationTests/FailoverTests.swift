import Foundation
import StrataTestSupport
import Synchronization
import XCTest

/// The whole stack on highly available PostgreSQL: a Patroni cluster (etcd,
/// a primary and a synchronous standby on loopback), the data tier given
/// the primary as a multi-host URL and the standby as its replica.
final class FailoverTests: XCTestCase {
    private var tiers: Tiers!
    private var cluster: PatroniCluster!
    private var bouncers: [PgBouncer] = []
    private let migrations = repositoryRoot.appendingPathComponent("Migrations").path

    override func setUpWithError() throws {
        tiers = try Tiers(secret: "integration-test-secret-0123456789")
        guard let cluster = try PatroniCluster.startIfAvailable() else { throw XCTSkip("Patroni and etcd are not installed") }
        self.cluster = cluster
    }

    override func tearDown() {
        tiers?.stop()
        for bouncer in bouncers { bouncer.stop() }
        cluster?.stop()
    }

    /// Migrates, then starts data (primary and replica), app and web; returns
    /// the web port and the data tier's health address (for its metrics).
    /// With `throughBouncers`, the data tier reaches each node through a
    /// PgBouncer of its own in transaction pooling mode (one beside each
    /// database, as such clusters are often run), its URLs listing the bouncers.
    private func startStack(throughBouncers: Bool = false) throws -> (port: Int, health: String) {
        let migrate = try tiers.start("strata-data", ["migrate", "up", "--database", cluster.primaryURL, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(seconds: 60), 0, migrate.output.joined(separator: "\n"))
        var database = ["--database", cluster.primaryURL, "--replicas", cluster.replicaURL]
        if throughBouncers {
            for node in cluster.nodes {
                guard let bouncer = try PgBouncer.startIfAvailable(inFrontOfPort: node.port) else { throw XCTSkip("pgbouncer is not installed") }
                bouncers.append(bouncer)
            }
            let hosts = bouncers.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
            database = [
                "--database", "postgres://strata@\(hosts)/postgres?target_session_attrs=read-write&connect_timeout=2",
                "--replicas", "postgres://strata@\(hosts)/postgres?target_session_attrs=prefer-standby&connect_timeout=2",
                "--prepared-statements", "off",
            ]
        }
        let data = try tiers.start(
            "strata-data", ["serve", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0"] + database + ["--migrations", migrations])
        let dataAddress = try data.waitForReady()
        let healthLine = try data.waitForLine(containing: "health=")
        let health = String(try XCTUnwrap(healthLine.split(separator: " ").first { $0.hasPrefix("health=") }).dropFirst("health=".count))
        let app = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress])
        let appAddress = try app.waitForReady()
        let web = try tiers.start("strata-web", ["serve", "--port", "0", "--app", appAddress, "--rate-limit", "0", "--log-level", "warning"])
        let port = try XCTUnwrap(try web.waitForReady().split(separator: ":").last.flatMap { Int($0) })
        return (port, health)
    }

    /// A signed-up user's API token, made on the account page.
    private func apiToken(port: Int, email: String) throws -> String {
        let user = Browser(try TestHTTPClient(port: port), address: "203.0.113.9")
        try user.signUp(email: email, name: "Writer")
        return try user.makeAPIToken(named: "load")
    }

    /// The data tier's `strata_sql_reads_total` by who served them.
    private func reads(health: String) throws -> (replica: Int, primary: Int) {
        let port = try XCTUnwrap(health.split(separator: ":").last.flatMap { Int($0) })
        let text = try TestHTTPClient(port: port).request("GET", "/metrics").text
        func value(_ servedBy: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix("strata_sql_reads_total{served_by=\"\(servedBy)\"}") }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) } ?? -1
        }
        return (value("replica"), value("primary"))
    }

    private static func post(_ title: String, port: Int, token: String) -> Int? {
        guard let client = try? TestHTTPClient(port: port),
            let response = try? client.request(
                "POST", "/api/todos", headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"title":"\#(title)"}"#)
        else { return nil }
        return response.status
    }

    private static func list(port: Int, token: String? = nil) -> String? {
        guard let client = try? TestHTTPClient(port: port),
            let response = try? client.request("GET", "/api/todos", headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []),
            response.status == 200
        else { return nil }
        return response.text
    }

    func testReadsGoToTheReplicaAndEachWriterReadsItsOwnWrites() throws {
        let (port, health) = try startStack()
        let token = try apiToken(port: port, email: "reader-writer@example.com")
        let before = try reads(health: health)
        var missing: [String] = []
        for index in 0..<100 {
            let title = "ryw-\(index)"
            XCTAssertEqual(Self.post(title, port: port, token: token), 200)
            // The very next read, by the same caller, must see the write.
            if !(Self.list(port: port, token: token) ?? "").contains(#""title":"\#(title)""#) { missing.append(title) }
        }
        XCTAssertEqual(missing, [], "a writer's next read did not show its write")
        for _ in 0..<50 { XCTAssertNotNil(Self.list(port: port)) }
        let after = try reads(health: health)
        print("plain reads: \(after.replica - before.replica) on the replica, \(after.primary - before.primary) on the primary")
        XCTAssertGreaterThan(after.replica - before.replica, 0, "no read went to the replica")
        XCTAssertGreaterThan(after.primary - before.primary, 0, "no read stayed on the primary after a write")
    }

    func testKillingThePrimaryPostmasterLosesNoAcknowledgedWriteAndReadsGoOn() throws {
        try killThePrimaryUnderLoad(throughBouncers: false)
    }

    func testTheSameThroughPgBouncersInTransactionPooling() throws {
        try killThePrimaryUnderLoad(throughBouncers: true)
    }

    /// Through a bouncer beside each node, the roles swap for certain: the
    /// bouncers still replay the parameters of the roles before (pgbouncer
    /// issue 859), so only asking the servers finds the new primary.
    func testASwitchoverThroughPgBouncersLosesNoAcknowledgedWrite() throws {
        try killThePrimaryUnderLoad(throughBouncers: true, switchover: true)
    }

    private func killThePrimaryUnderLoad(throughBouncers: Bool, switchover: Bool = false) throws {
        let (port, health) = try startStack(throughBouncers: throughBouncers)
        let token = try apiToken(port: port, email: "failover@example.com")
        let load = FailoverLoad()
        let group = DispatchGroup()
        for writer in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                var sequence = 0
                while !load.stopped.load(ordering: .relaxed) {
                    sequence += 1
                    let title = "w\(writer)-\(sequence)"
                    let started = Date()
                    let ok = Self.post(title, port: port, token: token) == 200
                    load.writes.withLock { $0.append((started, Date(), ok)) }
                    if ok {
                        load.acknowledged.withLock { $0.append(title) }
                    } else {
                        usleep(20_000)
                    }
                }
            }.start()
        }
        for _ in 0..<2 {
            group.enter()
            Thread {
                defer { group.leave() }
                while !load.stopped.load(ordering: .relaxed) {
                    let answered = Self.list(port: port) != nil
                    load.reads.withLock { $0.append((Date(), answered)) }
                    if !answered { usleep(20_000) }
                }
            }.start()
        }
        defer {
            load.stopped.store(true, ordering: .relaxed)
            _ = group.wait(timeout: .now() + 30)
        }
        let warmUp = Date()
        while load.acknowledged.withLock({ $0.count }) < 200 && Date().timeIntervalSince(warmUp) < 30 { usleep(10_000) }
        XCTAssertGreaterThanOrEqual(load.acknowledged.withLock { $0.count }, 200, "the writers got too few writes through before the kill")

        let leader = try XCTUnwrap(cluster.leader())
        let postmaster = try XCTUnwrap(cluster.postmasterPID(of: leader))
        let readsAtKill = try reads(health: health)
        let killed = Date()
        if switchover {
            let candidate = try XCTUnwrap(cluster.nodes.first { $0.name != leader.name })
            XCTAssertTrue(cluster.switchover(to: candidate), "Patroni refused the switchover")
        } else {
            XCTAssertEqual(kill(postmaster, SIGKILL), 0)
        }
        // Writes fail once the server is gone (orphaned backends may finish a
        // few first); recovered is the first write that began after the last
        // failure and succeeded.
        var recovered: Date?
        while recovered == nil && Date().timeIntervalSince(killed) < 30 {
            usleep(50_000)
            recovered = load.writes.withLock { writes in
                let after = writes.filter { $0.started > killed }
                guard let lastFailure = after.last(where: { !$0.ok }) else {
                    // No failure yet: done once writes have gone through for 10 s.
                    return Date().timeIntervalSince(killed) > 10 ? after.first(where: \.ok)?.ended : nil
                }
                return after.first { $0.ok && $0.started > lastFailure.ended }?.ended
            }
        }
        let readsAtRecovery = try reads(health: health)
        Thread.sleep(forTimeInterval: 2)
        load.stopped.store(true, ordering: .relaxed)
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)

        let recovery = try XCTUnwrap(recovered, "no write succeeded within 30 s of the kill").timeIntervalSince(killed)
        let acknowledged = load.acknowledged.withLock { $0 }
        let failedWrites = load.writes.withLock { $0.filter { !$0.ok }.count }
        let stored = try XCTUnwrap(Self.list(port: port, token: token), "the todos could not be listed after the failover")
        let lost = acknowledged.filter { !stored.contains(#""title":"\#($0)""#) }
        let during = load.reads.withLock { $0.filter { $0.at > killed && $0.at < (recovered ?? Date()) } }
        let members = cluster.members().map { "\($0.name) \($0.role)" }.joined(separator: ", ")
        print(
            "\(switchover ? "switchover from" : "SIGKILL of the primary's postmaster") (\(leader.name))\(throughBouncers ? ", PgBouncer in front of each node," : "") under 4 writers and 2 readers: \(acknowledged.count) writes acknowledged, \(lost.count) lost, \(failedWrites) refused; "
                + "writes again after \(String(format: "%.2f", recovery)) s; while down \(during.filter(\.answered).count) of \(during.count) reads answered, "
                + "\(readsAtRecovery.replica - readsAtKill.replica) of them on the replica; cluster now: \(members)")
        XCTAssertEqual(lost, [], "acknowledged but not stored")
        XCTAssertLessThan(recovery, 15, "writes must succeed again within 15 s of the kill")
        XCTAssertGreaterThan(during.filter(\.answered).count, 0, "no read was answered while the primary was down")
        XCTAssertGreaterThan(readsAtRecovery.replica - readsAtKill.replica, 0, "the replica served no read during the failover")
    }
}

/// What the failover test's clients saw.
private final class FailoverLoad: Sendable {
    let acknowledged = Mutex<[String]>([])
    let writes = Mutex<[(started: Date, ended: Date, ok: Bool)]>([])
    let reads = Mutex<[(at: Date, answered: Bool)]>([])
    let stopped = Atomic<Bool>(false)
}
