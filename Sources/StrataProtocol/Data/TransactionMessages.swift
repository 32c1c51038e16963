/// `sql.begin`'s argument.
public struct BeginTransaction: Codable, Sendable {
    /// The isolation level.
    public var isolation: SQLIsolation
    /// Creates the argument.
    public init(isolation: SQLIsolation) { self.isolation = isolation }
}

/// Names an open transaction (`sql.begin`'s answer; `sql.commit`'s and `sql.rollback`'s argument).
public struct TransactionID: Codable, Sendable, Equatable {
    /// The data tier's token for it.
    public var transaction: String
    /// Wraps a token.
    public init(_ transaction: String) { self.transaction = transaction }
}
