import Foundation
import StrataCore
import StrataIO
import StrataProtocol
import StrataRPC
import StrataSQL
import StrataTestSupport
import Synchronization
import XCTest

@testable import StrataApp
@testable import StrataData

/// Interactive transactions and batches through the data tier's RPC, on
/// SQLite and on a throwaway PostgreSQL server.
final class TransactionTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var server: PostgresServer?
    private var group: EventLoopGroup!
    private var servers: [RPCServer] = []
    private let secret = Array("transaction tests secret 0123456".utf8)

    override func setUpWithError() throws {
        folder = try TemporaryFolder()
        group = EventLoopGroup(loopCount: 2)
        server = try PostgresServer.startIfAvailable()
    }

    override func tearDown() {
        for server in servers { server.stop() }
        group.shutdown()
        server?.stop()
        folder.remove()
    }

    /// A data tier on every engine, with a `counters` table; each gives the
    /// engine, an app-tier `Database` handle, the client and the transactions registry.
    private func tiers() async throws -> [(SQLEngine, Database, RPCClient, Transactions)] {
        var databases: [any SQLDatabase] = [try SQLiteDatabase(path: folder.path + "/db-\(UUID().uuidString.prefix(6)).sqlite")]
        if let server { databases.append(PostgresDatabase(url: server.url, group: group, maxConnections: 4)) }
        var result: [(SQLEngine, Database, RPCClient, Transactions)] = []
        for database in databases {
            _ = try await database.run("DROP TABLE IF EXISTS counters", [])
            _ = try await database.run("CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))", [])
            _ = try await database.run("INSERT INTO counters VALUES ('a', 0), ('b', 0)", [])
            let transactions = Transactions(lease: .seconds(10))
            let rpc = RPCServer(
                configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret),
                service: DataService.make(database: database, logger: Logger(label: "data", level: .error), transactions: transactions),
                group: group, logger: Logger(label: "data", level: .error))
            servers.append(rpc)
            let client = RPCClient(address: try rpc.start(), group: group, callerName: "app", secret: secret)
            let handle = Database(client: client, requestID: "t", logger: Logger(label: "app", level: .error), deadline: nil)
            result.append((database.engine, handle, client, transactions))
        }
        return result
    }

    private struct Counter: Decodable { let n: Int64 }

    private func value(_ db: Database, _ name: String) async throws -> Int64 {
        try await db.query(Counter.self, "SELECT n FROM counters WHERE name = $1", .text(name)).first?.n ?? -1
    }

    func testATransactionCommitsTogetherOrNotAtAll() async throws {
        for (engine, db, _, transactions) in try await tiers() {
            try await db.transaction { tx in
                try await tx.execute("UPDATE counters SET n = n + 5 WHERE name = 'a'")
                try await tx.execute("UPDATE counters SET n = n + 5 WHERE name = 'b'")
            }
            let a = try await value(db, "a")
            XCTAssertEqual(a, 5, "\(engine)")
            struct Refused: Error {}
            do {
                try await db.transaction { tx in
                    try await tx.execute("UPDATE counters SET n = n + 1 WHERE name = 'a'")
                    let inside = try await tx.query(Counter.self, "SELECT n FROM counters WHERE name = 'a'")
                    XCTAssertEqual(inside.first?.n, 6, "the transaction sees its own write on \(engine)")
                    throw Refused()
                }
                XCTFail("the body's error was swallowed")
            } catch is Refused {}
            let after = try await value(db, "a")
            XCTAssertEqual(after, 5, "rolled back on \(engine)")
            // A check violation inside becomes failedPrecondition and rolls everything back.
            do {
                try await db.transaction { tx in
                    try await tx.execute("UPDATE counters SET n = n + 1 WHERE name = 'b'")
                    try await tx.execute("UPDATE counters SET n = -1 WHERE name = 'a'")
                }
                XCTFail("a check violation committed on \(engine)")
            } catch let error as RPCError {
                XCTAssertEqual(error.code, .failedPrecondition)
            }
            let b = try await value(db, "b")
            XCTAssertEqual(b, 5)
            XCTAssertEqual(transactions.count, 0, "nothing left open on \(engine)")
        }
    }

    func testATransactionBelongsToItsConnectionAndDiesWithIt() async throws {
        for (engine, _, client, transactions) in try await tiers() {
            let owner = try await client.pinned()
            let id: TransactionID = try await owner.call(DataMethod.begin, BeginTransaction(isolation: .serializable))
            // Another connection cannot use it.
            let stranger = RPCClient(addresses: client.addresses, group: group, callerName: "app", secret: secret)
            do {
                let _: ExecuteResult = try await stranger.call(
                    DataMethod.execute, SQLStatement("UPDATE counters SET n = 9", [], transaction: id.transaction))
                XCTFail("a stranger used the transaction on \(engine)")
            } catch {
                XCTAssertEqual(error.code, .permissionDenied)
            }
            XCTAssertEqual(transactions.count, 1)
            // The owner goes away: the transaction is rolled back and its connection returned.
            client.close()
            for _ in 0..<100 where transactions.count > 0 { try await Task.sleep(for: .milliseconds(20)) }
            XCTAssertEqual(transactions.count, 0, "\(engine)")
            let n: QueryResult = try await stranger.call(DataMethod.query, SQLStatement("SELECT count(*) FROM counters"))
            XCTAssertEqual(n.rows, [[.int(2)]], "the database is usable again on \(engine)")
            stranger.close()
        }
    }

    func testAnIdleTransactionLosesItsLease() async throws {
        for (engine, _, client, transactions) in try await tiers() {
            let owner = try await client.pinned()
            let id: TransactionID = try await owner.call(DataMethod.begin, BeginTransaction(isolation: .readCommitted))
            let _: ExecuteResult = try await owner.call(
                DataMethod.execute, SQLStatement("UPDATE counters SET n = 7 WHERE name = 'a'", [], transaction: id.transaction))
            let expired = await transactions.expire(now: .now + .seconds(11))
            XCTAssertEqual(expired, 1)
            do {
                let _: Empty = try await owner.call(DataMethod.commit, id)
                XCTFail("an expired transaction committed on \(engine)")
            } catch {
                XCTAssertEqual(error.code, .failedPrecondition)
                XCTAssertTrue(error.message.contains("lease"), error.message)
            }
            let a: QueryResult = try await client.call(DataMethod.query, SQLStatement("SELECT n FROM counters WHERE name = 'a'"))
            XCTAssertEqual(a.rows, [[.int(0)]], "the expired transaction's write was rolled back on \(engine)")
        }
    }

    func testABatchAppliesEveryStatementOrNone() async throws {
        for (engine, db, client, _) in try await tiers() {
            let batch = SQLBatch([
                SQLStatement("UPDATE counters SET n = n + 1 WHERE name = 'a'"),
                SQLStatement("INSERT INTO counters VALUES ('a', 1)"),  // duplicate key
            ])
            do {
                let _: [ExecuteResult] = try await client.call(DataMethod.batch, batch)
                XCTFail("a failing batch applied on \(engine)")
            } catch {
                XCTAssertEqual(error.code, .alreadyExists)
            }
            let a = try await value(db, "a")
            XCTAssertEqual(a, 0, "\(engine)")
            let results: [ExecuteResult] = try await client.call(
                DataMethod.batch,
                SQLBatch([
                    SQLStatement("UPDATE counters SET n = 1 WHERE name = 'a'"), SQLStatement("UPDATE counters SET n = 2"),
                ]))
            XCTAssertEqual(results.map(\.rowsAffected), [1, 2])
        }
    }

    func testIndependentReadsTravelInOneCallAndAnswerInOrder() async throws {
        for (engine, db, client, _) in try await tiers() {
            let rows = try await db.queryEach(
                Counter.self, ["b", "a", "zzz", "a"].map { SQLStatement("SELECT n FROM counters WHERE name = $1", [.text($0)]) })
            XCTAssertEqual(rows.map { $0.map(\.n) }, [[0], [0], [], [0]], "\(engine)")
            _ = try await db.execute("UPDATE counters SET n = 7 WHERE name = 'b'")
            let b = try await db.queryEach(Counter.self, [SQLStatement("SELECT n FROM counters WHERE name = 'b'")])
            XCTAssertEqual(b.first?.first?.n, 7)
            do {
                let _: [QueryResult] = try await client.call(
                    DataMethod.queryEach, SQLBatch([SQLStatement("SELECT 1"), SQLStatement("DELETE FROM counters")]))
                XCTFail("a write was accepted as a read on \(engine)")
            } catch {
                XCTAssertEqual(error.code, .invalidArgument)
            }
            let a = try await value(db, "a")
            XCTAssertEqual(a, 0, "nothing ran")
        }
    }

    func testConflictingSerializableTransactionsAreRetried() async throws {
        guard let server else { throw XCTSkip("needs PostgreSQL (SQLite serializes writers instead of aborting them)") }
        _ = server
        let tiers = try await tiers()
        guard let (_, db, _, _) = tiers.first(where: { $0.0 == .postgres }) else { return }
        // Both read, then both write the same row: one of them is aborted by
        // PostgreSQL and runs again, so no increment is lost.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await db.transaction(attempts: 10) { tx in
                        let current = try await tx.query(Counter.self, "SELECT n FROM counters WHERE name = 'a'").first?.n ?? 0
                        try await Task.sleep(for: .milliseconds(20))
                        try await tx.execute("UPDATE counters SET n = $1 WHERE name = 'a'", .int(current + 1))
                    }
                }
            }
            try await group.waitForAll()
        }
        let a = try await value(db, "a")
        XCTAssertEqual(a, 4)
    }

    func testATransactionWhoseConnectionDiesBeforeCommitRunsAgain() async throws {
        guard server != nil else { throw XCTSkip("needs PostgreSQL") }
        guard let (_, db, _, _) = try await tiers().first(where: { $0.0 == .postgres }) else { return }
        let attempts = Mutex(0)
        try await db.transaction { tx in
            let attempt = attempts.withLock { count in
                count += 1
                return count
            }
            try await tx.execute("UPDATE counters SET n = n + 1 WHERE name = 'a'")
            if attempt == 1 {
                // As a failover ends the session: the server drops the connection mid-transaction.
                _ = try await tx.query(Counter.self, "SELECT pg_terminate_backend(pg_backend_pid())::int AS n")
            }
        }
        XCTAssertEqual(attempts.withLock { $0 }, 2)
        let a = try await value(db, "a")
        XCTAssertEqual(a, 1, "the first attempt's update died with its connection; the second committed")
    }

    func testACommitLostInFlightIsReportedUnknownAndNotRetried() async throws {
        guard let server else { throw XCTSkip("needs PostgreSQL") }
        guard let (_, db, _, _) = try await tiers().first(where: { $0.0 == .postgres }) else { return }
        // A deferred trigger ends the session while COMMIT runs: the client
        // sent COMMIT and lost the connection before the answer.
        let admin = PostgresDatabase(url: server.url, group: group, maxConnections: 1)
        defer { admin.close() }
        _ = try await admin.run(
            "CREATE OR REPLACE FUNCTION vanish() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1); RETURN NULL; END $$",
            [])
        _ = try await admin.run(
            "CREATE CONSTRAINT TRIGGER vanish_at_commit AFTER UPDATE ON counters DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION vanish()",
            [])
        let attempts = Mutex(0)
        do {
            try await db.transaction { tx in
                attempts.withLock { $0 += 1 }
                try await tx.execute("UPDATE counters SET n = n + 1 WHERE name = 'b'")
            }
            XCTFail("a commit whose connection died was reported as done")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unknown)
            XCTAssertTrue(error.message.contains("may or may not have been saved"), error.message)
        }
        XCTAssertEqual(attempts.withLock { $0 }, 1, "a commit of unknown outcome must not run again")
        _ = try await admin.run("DROP TRIGGER vanish_at_commit ON counters", [])
    }
}
