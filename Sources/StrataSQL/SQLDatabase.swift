/// A database the data tier can serve: SQLite or PostgreSQL behind one interface.
public protocol SQLDatabase: Sendable {
    /// Which engine this is (migrations pick their per-engine parts by it).
    var engine: SQLEngine { get }
    /// Runs a query with `$1, $2, ...` parameters.
    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult
    /// Runs a write statement.
    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult
    /// Runs `body` on one connection of its own, for migrations.
    func withMigrationSession<T: Sendable>(_ body: (any MigrationSession) async throws -> T) async throws -> T
    /// Begins an interactive transaction on a connection of its own.
    func begin(isolation: SQLIsolation) async throws -> any SQLTransaction
    /// Runs write statements as one transaction: all of them or none. A
    /// failure throws `BatchFailure`, naming the statement.
    func batch(_ statements: [SQLStatement], isolation: SQLIsolation) async throws -> [ExecuteResult]
    /// Runs independent queries, each as its own statement, and returns their
    /// rows in order. Not a transaction: each sees the last committed state.
    func queryEach(_ statements: [SQLStatement]) async throws -> [QueryResult]
}

/// A batch failed: nothing of it was applied.
public struct BatchFailure: Error, Sendable, CustomStringConvertible {
    /// The position of the statement that failed, or -1 when BEGIN or COMMIT did.
    public let index: Int
    /// What the engine said.
    public let error: SQLError

    public var description: String { index < 0 ? "\(error)" : "statement \(index + 1) of the batch: \(error)" }
}

/// One connection held by the migrator: scripts, statements, and its transactions.
public protocol MigrationSession {
    /// Runs SQL that may hold several statements and no parameters (a migration's part).
    func script(_ sql: String) async throws
    /// Runs a query with parameters.
    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult
    /// Runs a write statement with parameters.
    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult
    /// Begins a transaction that also keeps other migrators out (SQLite:
    /// `BEGIN IMMEDIATE`, the write lock; PostgreSQL: `BEGIN`, the session
    /// already holding the migration advisory lock).
    func begin() async throws
}

extension SQLiteDatabase: SQLDatabase {
    public var engine: SQLEngine { .sqlite }

    /// Reads on one reader thread, one statement after another: one hand-off for all of them.
    public func queryEach(_ statements: [SQLStatement]) async throws -> [QueryResult] {
        guard statements.allSatisfy({ SQLStatement.isPlainSelect($0.sql) }) else {
            return try await withoutReaders(statements)
        }
        return try await withReader { connection in try statements.map { try connection.query($0.sql, $0.parameters) } }
    }

    private func withoutReaders(_ statements: [SQLStatement]) async throws -> [QueryResult] {
        var results: [QueryResult] = []
        for statement in statements { results.append(try await query(statement.sql, statement.parameters)) }
        return results
    }

    public func withMigrationSession<T: Sendable>(_ body: (any MigrationSession) async throws -> T) async throws -> T {
        try await beginExclusive { _ in }
        do {
            let value = try await body(SQLiteMigrationSession(database: self))
            try await endExclusive { _ in }
            return value
        } catch {
            try? await endExclusive { _ in }
            throw error
        }
    }

    public func begin(isolation: SQLIsolation) async throws -> any SQLTransaction {
        // IMMEDIATE takes the write lock now, so the transaction cannot fail later for lack of it.
        try await beginExclusive { try $0.execute("BEGIN IMMEDIATE") }
        return SQLiteTransaction(database: self)
    }

    /// All the statements or none (SQLite transactions are serializable
    /// whatever `isolation` says). Alone it is one job on the writer thread:
    /// BEGIN IMMEDIATE, the statements, COMMIT; in a group, a savepoint.
    public func batch(_ statements: [SQLStatement], isolation: SQLIsolation) async throws -> [ExecuteResult] {
        let groupable = statements.allSatisfy { SQLStatement.isGroupableWrite($0.sql) }
        return try await write(groupable: groupable) { connection, inGroup in
            if !inGroup {
                do {
                    try connection.execute("BEGIN IMMEDIATE")
                } catch let error as SQLError {
                    throw BatchFailure(index: -1, error: error)
                }
            }
            var results: [ExecuteResult] = []
            results.reserveCapacity(statements.count)
            for (index, statement) in statements.enumerated() {
                do {
                    results.append(try connection.run(statement.sql, statement.parameters))
                } catch let error as SQLError {
                    if !inGroup { try? connection.execute("ROLLBACK") }
                    throw BatchFailure(index: index, error: error)
                }
            }
            if !inGroup {
                do {
                    try connection.execute("COMMIT")
                } catch let error as SQLError {
                    try? connection.execute("ROLLBACK")
                    throw BatchFailure(index: -1, error: error)
                }
            }
            return results
        }
    }
}

/// Statements go through the database's queue one at a time; the write lock
/// taken by `BEGIN IMMEDIATE` keeps other processes' migrators out.
private struct SQLiteMigrationSession: MigrationSession {
    let database: SQLiteDatabase

    func script(_ sql: String) async throws { try await database.withConnection { try $0.execute(sql) } }
    // The session already holds the database's transaction lock: go to the connection directly.
    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult { try await database.withConnection { try $0.query(sql, parameters) } }
    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult { try await database.withConnection { try $0.run(sql, parameters) } }
    func begin() async throws { try await script("BEGIN IMMEDIATE") }
}

extension PostgresDatabase: SQLDatabase {
    public var engine: SQLEngine { .postgres }

    /// All the queries on one connection in one pipeline: one round trip,
    /// and the server runs them back to back (one implicit transaction, so
    /// they see one snapshot). Sending each on a pooled connection of its own
    /// instead kept the whole pool busy for one request and cost the server a
    /// wake-up per query: `/queries?queries=20` on PostgreSQL ran at about 870
    /// requests/s that way.
    public func queryEach(_ statements: [SQLStatement]) async throws -> [QueryResult] {
        if statements.count == 1 { return [try await query(statements[0].sql, statements[0].parameters)] }
        if statements.isEmpty { return [] }
        do {
            return try await withConnection { connection in
                try await connection.pipeline(statements.map { ($0.sql, $0.parameters) }, isolation: nil)
            }.map(\.queryResult)
        } catch let failure as BatchFailure {
            throw failure.error
        }
    }

    /// Holds one connection and the migration advisory lock for `body`; a
    /// second migrator waits for the lock up to `lockTimeout`.
    public func withMigrationSession<T: Sendable>(_ body: (any MigrationSession) async throws -> T) async throws -> T {
        try await withConnection { connection in
            let session = PostgresMigrationSession(connection: connection)
            try await session.lock(timeout: .seconds(30))
            do {
                let value = try await body(session)
                _ = try? await connection.execute("SELECT pg_advisory_unlock($1)", [.int(PostgresMigrationSession.lockKey)])
                return value
            } catch {
                _ = try? await connection.execute("ROLLBACK", [])
                _ = try? await connection.execute("SELECT pg_advisory_unlock($1)", [.int(PostgresMigrationSession.lockKey)])
                throw error
            }
        }
    }

    public func begin(isolation: SQLIsolation) async throws -> any SQLTransaction {
        let connection = try await acquire()
        do {
            _ = try await connection.execute("BEGIN ISOLATION LEVEL \(isolation.postgres)", [])
        } catch {
            release(connection)
            throw error
        }
        return PostgresTransaction(connection: connection, pool: self)
    }

    /// Sent in pipeline mode: the whole batch costs one round trip to the server.
    public func batch(_ statements: [SQLStatement], isolation: SQLIsolation) async throws -> [ExecuteResult] {
        let results = try await withConnection { connection in
            try await connection.pipeline(statements.map { ($0.sql, $0.parameters) }, isolation: isolation)
        }
        return results.map { ExecuteResult(rowsAffected: $0.rowsAffected, lastInsertID: 0) }
    }
}

private struct PostgresMigrationSession: MigrationSession {
    /// The advisory lock every Strata migrator takes ("strata" in ASCII).
    static let lockKey: Int64 = 0x73_74_72_61_74_61
    let connection: PostgresConnection

    func lock(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let result = try await connection.execute("SELECT pg_try_advisory_lock($1)", [.int(Self.lockKey)])
            if result.rows.first?.first == .bool(true) { return }
            guard ContinuousClock.now < deadline else {
                throw SQLError(.busy, "another migrator holds the migration lock; gave up after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    func script(_ sql: String) async throws { _ = try await connection.executeScript(sql) }
    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult { try await connection.execute(sql, parameters).queryResult }
    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        ExecuteResult(rowsAffected: try await connection.execute(sql, parameters).rowsAffected, lastInsertID: 0)
    }
    func begin() async throws { _ = try await connection.execute("BEGIN", []) }
}
