import StrataProtocol

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
    /// Its connections now.
    var poolStatus: SQLPoolStatus { get }
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
