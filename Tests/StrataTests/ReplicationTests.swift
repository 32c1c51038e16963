import Foundation
import StrataIO
import StrataTestSupport
import XCTest

@testable import StrataSQL

/// Read routing over a real primary and streaming replica (a Patroni
/// cluster), and the parts of it that need no server.
final class ReplicationTests: XCTestCase {
    func testWALPositionsAndReplicaListsParse() throws {
        XCTAssertEqual(ReplicaMonitor.lsn("16/B374D848"), 0x16_B374_D848)
        XCTAssertEqual(ReplicaMonitor.lsn("0/0"), 0)
        for bad in ["", "16", "/1", "1/", "x/1", "1/2/3"] { XCTAssertNil(ReplicaMonitor.lsn(bad), bad) }
        XCTAssertEqual(
            try DatabaseURL.replicas(parsing: "postgres://a:5432,b:5432/db?target_session_attrs=standby, postgresql://c/db"),
            ["postgres://a:5432,b:5432/db?target_session_attrs=standby", "postgresql://c/db"])
        let choice = try XCTUnwrap(
            HostChoice(url: "postgres://u:p%40ss@a:1,b:2/db?connect_timeout=2&target_session_attrs=read-write&sslmode=disable"))
        XCTAssertEqual(choice.wanted, .primary)
        XCTAssertEqual(
            choice.hosts,
            ["postgres://u:p%40ss@a:1/db?connect_timeout=2&sslmode=disable", "postgres://u:p%40ss@b:2/db?connect_timeout=2&sslmode=disable"])
        XCTAssertEqual(
            HostChoice(url: "postgresql://a,b,c?target_session_attrs=prefer-standby")?.hosts, ["postgresql://a", "postgresql://b", "postgresql://c"])
        XCTAssertEqual(HostChoice(url: "postgres://x@a,b/db?target_session_attrs=standby")?.wanted, .standby)
        XCTAssertNil(HostChoice(url: "postgres://x@a:1/db?target_session_attrs=read-write"), "one host: libpq's choice")
        XCTAssertNil(HostChoice(url: "postgres://x@a,b/db"), "no role asked for: libpq's choice")
        XCTAssertNil(HostChoice(url: "postgres://x@a,b/db?target_session_attrs=any"))
        XCTAssertThrowsError(try DatabaseURL.replicas(parsing: "replica.example:5432")) {
            XCTAssertTrue("\($0)".contains("is not a postgres:// URL"), "\($0)")
        }
    }

    func testReadsGoToACaughtUpReplicaAndAWritersReadsWaitForIt() async throws {
        guard let cluster = try PatroniCluster.startIfAvailable() else { throw XCTSkip("Patroni and etcd are not installed") }
        defer { cluster.stop() }
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let primary = PostgresDatabase(url: cluster.primaryURL, group: group, maxConnections: 2)
        let replica = PostgresDatabase(url: cluster.replicaURL, group: group, maxConnections: 2)
        let database = ReplicatedDatabase(primary: primary, replicas: [replica], maxLag: .seconds(2), interval: .milliseconds(100))
        defer { database.close() }
        let standby = try await replica.query("SELECT pg_is_in_recovery()", [])
        XCTAssertEqual(standby.rows.first?.first, .bool(true), "the replica URL reached the standby")
        _ = try await database.run("CREATE TABLE notes (body TEXT)", [])
        var waited = 0
        while database.replicasInRotation == 0 && waited < 100 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        XCTAssertEqual(database.replicasInRotation, 1, "the caught-up standby joins the rotation")
        let served = try await database.read("SELECT pg_is_in_recovery()", [], key: nil)
        XCTAssertEqual(served.rows.first?.first, .bool(true), "a read without a key went to the replica")
        // A SELECT that writes is refused by the replica and runs on the primary.
        _ = try await database.run("CREATE SEQUENCE tickets", [])
        // A read without a key may see the replica before it replays the sequence (a commit waits for
        // the standby's flush, not its replay), so the test waits until the standby has it.
        waited = 0
        while try await replica.query("SELECT to_regclass('tickets') IS NOT NULL", []).rows.first?.first != .bool(true) && waited < 100 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        let ticket = try await database.read("SELECT nextval('tickets'), pg_is_in_recovery()", [], key: nil)
        XCTAssertEqual(ticket.rows.first, [.int(1), .bool(false)])
        // Right after a write, the writer's read goes to the primary and sees it.
        _ = try await database.run("INSERT INTO notes VALUES ('mine')", [])
        database.noteWrite(key: "writer")
        let mine = try await database.read("SELECT body, pg_is_in_recovery() FROM notes", [], key: "writer")
        XCTAssertEqual(mine.rows.first, [.text("mine"), .bool(false)])
        // Once the monitor has seen the replica replay past it, the writer's reads may go there too.
        waited = 0
        var onReplica = false
        while !onReplica && waited < 100 {
            try await Task.sleep(for: .milliseconds(100))
            let again = try await database.read("SELECT body, pg_is_in_recovery() FROM notes", [], key: "writer")
            XCTAssertEqual(again.rows.first?.first, .text("mine"))
            onReplica = again.rows.first?.last == .bool(true)
            waited += 1
        }
        XCTAssertTrue(onReplica, "the writer's reads never went back to the replica")
        XCTAssertGreaterThan(database.readCounts.replica, 0)

        // A replica that stops replaying falls behind while writes go on, and
        // leaves the rotation once it lags more than the limit; reads then
        // go to the primary, and it comes back when it catches up.
        // (pg_wal_replay_pause() would not do: Patroni resumes replay within its loop.
        // The standby's startup process, which replays, is stopped instead.)
        let startup = try await replica.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'", [])
        let replaying = try XCTUnwrap(startup.rows.first?.first?.intValue.map { Int32($0) }, "no startup process on the standby")
        XCTAssertEqual(kill(replaying, SIGSTOP), 0)
        var resumed = false
        defer { if !resumed { kill(replaying, SIGCONT) } }
        waited = 0
        while database.replicasInRotation == 1 && waited < 100 {
            _ = try await database.run("INSERT INTO notes VALUES ('more')", [])
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        XCTAssertEqual(database.replicasInRotation, 0, "a replica lagging past the limit stayed in rotation")
        let fromPrimary = try await database.read("SELECT pg_is_in_recovery()", [], key: nil)
        XCTAssertEqual(fromPrimary.rows.first?.first, .bool(false), "a read went to the lagging replica")
        kill(replaying, SIGCONT)
        resumed = true
        waited = 0
        while database.replicasInRotation == 0 && waited < 100 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        XCTAssertEqual(database.replicasInRotation, 1, "the replica did not come back after catching up")
    }
}
