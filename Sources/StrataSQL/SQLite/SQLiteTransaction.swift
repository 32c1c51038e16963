import StrataProtocol
import Synchronization

/// A transaction on the SQLite connection, holding its lock throughout.
final class SQLiteTransaction: SQLTransaction {
    private let database: SQLiteDatabase
    private let finished = Atomic<Bool>(false)

    init(database: SQLiteDatabase) { self.database = database }

    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        try checkOpen()
        return try await database.withConnection { try $0.query(sql, parameters) }
    }

    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        try checkOpen()
        return try await database.withConnection { try $0.run(sql, parameters) }
    }

    func commit() async throws {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { throw SQLError(.other, "the transaction has already ended") }
        try await database.endExclusive { connection in
            do {
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    func rollback() async {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? await database.endExclusive { try $0.execute("ROLLBACK") }
    }

    private func checkOpen() throws {
        if finished.load(ordering: .acquiring) { throw SQLError(.other, "the transaction has already ended") }
    }
}
