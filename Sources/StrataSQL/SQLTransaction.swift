import StrataProtocol

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
