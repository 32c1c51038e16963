import Synchronization

/// How isolated an interactive transaction is (PostgreSQL's levels; SQLite
/// transactions are always serializable).
public enum SQLIsolation: String, Codable, Sendable {
    case readCommitted, repeatableRead, serializable

    var postgres: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

/// An open transaction holding one connection until `commit` or `rollback`.
public protocol SQLTransaction: Sendable {
    /// Runs a query inside the transaction.
    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult
    /// Runs a write statement inside the transaction.
    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult
    /// Commits and gives the connection back.
    func commit() async throws
    /// Rolls back and gives the connection back; never fails (a broken connection rolls back by itself).
    func rollback() async
}

/// A first-come, first-served lock for async code: SQLite's one writer
/// connection is held by a transaction from BEGIN to COMMIT, and other
/// statements wait. A waiter whose task is cancelled (its caller's deadline
/// passed) leaves the queue at once with `SQLError(.busy)`.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    func lock() async throws {
        let id: Int? = state.withLock { state in
            guard state.locked else {
                state.locked = true
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let acquired: Bool? = state.withLock { state in
                    guard state.locked else {
                        state.locked = true
                        return true
                    }
                    if Task.isCancelled { return false }
                    state.waiters.append((id, continuation))
                    return nil
                }
                switch acquired {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: Self.gaveUp)
                case nil: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: Self.gaveUp)
        }
    }

    private static let gaveUp = SQLError(.busy, "gave up waiting for the SQLite writer (another transaction holds it)")

    func unlock() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }

    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await lock()
        defer { unlock() }
        return try await body()
    }
}

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
        do {
            _ = try await connection.execute("COMMIT", [])
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
