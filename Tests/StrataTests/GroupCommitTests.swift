import Foundation
import StrataProtocol
import StrataTestSupport
import XCTest

@testable import StrataSQL

/// SQLite group commit: writers waiting for the writer at the same time share
/// one COMMIT, each in a savepoint of its own.
final class GroupCommitTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var database: SQLiteDatabase!

    override func setUp() async throws {
        folder = try TemporaryFolder()
        database = try SQLiteDatabase(path: folder.url.appendingPathComponent("group.db").path)
        _ = try await database.run("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)", [])
        _ = try await database.run("INSERT INTO item (name) VALUES ('taken')", [])
    }

    override func tearDown() {
        database = nil
        folder.remove()
    }

    /// Keeps the writer busy for `milliseconds`, so the writes sent meanwhile queue up and form one group.
    private func occupyWriter(milliseconds: UInt32 = 200) -> Task<Void, any Error> {
        let database = database!
        return Task { try await database.withConnection { _ in _ = usleep(milliseconds * 1000) } }
    }

    private func statistics() async throws -> SQLiteGroupCommit.Statistics {
        let database = database!
        return try await database.withConnection { _ in database.groupCommit.statistics }
    }

    private func names() async throws -> Set<String> {
        let rows = try await database.query("SELECT name FROM item", []).rows
        return Set(rows.compactMap { if case .text(let name) = $0.first { name } else { nil } })
    }

    func testSixtyFourWritersShareOneCommitAndAViolationFailsOnlyItself() async throws {
        let database = database!
        let before = try await statistics()
        let busy = occupyWriter()
        try await Task.sleep(for: .milliseconds(20))
        let outcomes = await withTaskGroup(of: (Int, SQLError?).self) { group in
            for writer in 0..<64 {
                group.addTask {
                    let name = writer == 17 ? "taken" : "writer \(writer)"
                    do {
                        _ = try await database.run("INSERT INTO item (name) VALUES ($1)", [.text(name)])
                        return (writer, nil)
                    } catch let error as SQLError {
                        return (writer, error)
                    } catch {
                        return (writer, SQLError(.other, "\(error)"))
                    }
                }
            }
            var outcomes: [Int: SQLError?] = [:]
            for await (writer, error) in group { outcomes[writer] = error }
            return outcomes
        }
        try await busy.value

        XCTAssertEqual(outcomes.count, 64)
        XCTAssertEqual(outcomes[17]??.kind, .uniqueViolation, "the violating writer gets its own error")
        for writer in 0..<64 where writer != 17 {
            XCTAssertNil(outcomes[writer] ?? nil, "writer \(writer) should have committed")
        }
        let stored = try await names()
        XCTAssertEqual(stored, Set((0..<64).filter { $0 != 17 }.map { "writer \($0)" } + ["taken"]))
        let after = try await statistics()
        XCTAssertEqual(after.groups - before.groups, 1, "the 64 writes queued together commit together")
        XCTAssertEqual(after.groupedWrites - before.groupedWrites, 64)
    }

    func testABatchInAGroupIsAllOrNothing() async throws {
        let database = database!
        let busy = occupyWriter()
        try await Task.sleep(for: .milliseconds(20))
        async let good = database.batch(
            [SQLStatement("INSERT INTO item (name) VALUES ('a1')"), SQLStatement("INSERT INTO item (name) VALUES ('a2')")],
            isolation: .serializable)
        async let bad = database.batch(
            [SQLStatement("INSERT INTO item (name) VALUES ('b1')"), SQLStatement("INSERT INTO item (name) VALUES ('taken')")],
            isolation: .serializable)
        async let single = database.run("INSERT INTO item (name) VALUES ('c')", [])
        try await busy.value

        let goodResults = try await good
        XCTAssertEqual(goodResults.map(\.rowsAffected), [1, 1])
        do {
            _ = try await bad
            XCTFail("the batch with a duplicate should fail")
        } catch let failure as BatchFailure {
            XCTAssertEqual(failure.index, 1, "the failure names the second statement")
            XCTAssertEqual(failure.error.kind, .uniqueViolation)
        }
        _ = try await single
        let stored = try await names()
        XCTAssertEqual(stored, ["taken", "a1", "a2", "c"], "b1 is rolled back with its batch, nothing else is")
        let statistics = try await statistics()
        XCTAssertGreaterThanOrEqual(statistics.groups, 1)
    }

    func testAWriteOutsideATransactionWaitsForItAndNeverJoinsIt() async throws {
        let database = database!
        let transaction = try await database.begin(isolation: .serializable)
        _ = try await transaction.run("INSERT INTO item (name) VALUES ('inside')", [])
        let done = ManagedAtomicFlag()
        let outside = Task {
            _ = try await database.run("INSERT INTO item (name) VALUES ('outside')", [])
            done.set()
        }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertFalse(done.isSet, "a write outside the transaction waits for it to end")
        await transaction.rollback()
        try await outside.value
        let stored = try await names()
        XCTAssertEqual(stored, ["taken", "outside"], "the rollback took only the transaction's own write")
    }

    func testSchemaStatementsRunAloneBetweenGroups() async throws {
        let database = database!
        let busy = occupyWriter()
        try await Task.sleep(for: .milliseconds(20))
        async let first = database.run("INSERT INTO item (name) VALUES ('before')", [])
        try await Task.sleep(for: .milliseconds(5))
        async let schema = database.run("CREATE TABLE other (id INTEGER PRIMARY KEY)", [])
        try await Task.sleep(for: .milliseconds(5))
        async let second = database.run("INSERT INTO other (id) VALUES (1)", [])
        try await busy.value
        _ = try await (first, schema, second)
        let rows = try await database.query("SELECT count(*) FROM other", []).rows
        XCTAssertEqual(rows.first?.first, .int(1))
    }

    func testOnlyRowWritesAreGroupable() {
        XCTAssertTrue(SQLStatement.isGroupableWrite("INSERT INTO t VALUES (1)"))
        XCTAssertTrue(SQLStatement.isGroupableWrite("  update t SET a = 1"))
        XCTAssertTrue(SQLStatement.isGroupableWrite("DELETE FROM t"))
        XCTAssertTrue(SQLStatement.isGroupableWrite("REPLACE INTO t VALUES (1)"))
        XCTAssertFalse(SQLStatement.isGroupableWrite("COMMIT"))
        XCTAssertFalse(SQLStatement.isGroupableWrite("BEGIN"))
        XCTAssertFalse(SQLStatement.isGroupableWrite("CREATE TABLE t (a)"))
        XCTAssertFalse(SQLStatement.isGroupableWrite("PRAGMA journal_mode=DELETE"))
        XCTAssertFalse(SQLStatement.isGroupableWrite("INSERTED"))
        XCTAssertFalse(SQLStatement.isGroupableWrite("WITH x AS (SELECT 1) DELETE FROM t"))
    }
}

/// A flag set once from one task and read from another.
private final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
