import StrataProtocol

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
    func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        try await database.withConnection { try $0.query(sql, parameters) }
    }
    func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        try await database.withConnection { try $0.run(sql, parameters) }
    }
    func begin() async throws { try await script("BEGIN IMMEDIATE") }
}
