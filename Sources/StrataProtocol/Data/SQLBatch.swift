/// `sql.batch`'s argument: statements applied together or not at all.
public struct SQLBatch: Codable, Sendable {
    /// The statements, in order.
    public var statements: [SQLStatement]
    /// Creates a batch.
    public init(_ statements: [SQLStatement]) { self.statements = statements }
}
