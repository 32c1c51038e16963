import StrataProtocol
import Synchronization

/// A transaction on one pooled PostgreSQL connection.
final class PostgresTransaction: SQLTransaction {
    private let connection: PostgresConnection
    private let pool: PostgresDatabase
    private let finished = Atomic<Bool>(false)

    init(connection: PostgresConnection, pool: PostgresDatabase) {
        self.connection = connection
        self.pool = pool
    }

    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        try checkOpen()
        return try await connection.execute(sql, parameters).queryResult
    }

    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        try checkOpen()
        return ExecuteResult(rowsAffected: try await connection.execute(sql, parameters).rowsAffected, lastInsertID: 0)
    }

    func commit() async throws {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { throw SQLError(.other, "the transaction has already ended") }
        defer { pool.release(connection) }
        if connection.isBroken {
            // Lost before COMMIT went out: certainly not committed, so safe to run again.
            throw SQLError(.unavailable, "the transaction's connection was lost before COMMIT; nothing was committed")
        }
        do {
            _ = try await connection.execute("COMMIT", [])
        } catch let error as SQLError where error.kind == .unavailable {
            // COMMIT may have reached the server before the connection went.
            throw SQLError(.outcomeUnknown, "the connection was lost after COMMIT was sent; the transaction may have committed: \(error.message)")
        } catch {
            _ = try? await connection.execute("ROLLBACK", [])
            throw error
        }
    }

    func rollback() async {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = try? await connection.execute("ROLLBACK", [])
        pool.release(connection)
    }

    private func checkOpen() throws {
        if finished.load(ordering: .acquiring) { throw SQLError(.other, "the transaction has already ended") }
    }
}
