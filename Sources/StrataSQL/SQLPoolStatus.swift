/// A database's connections at one moment, for metrics.
public struct SQLPoolStatus: Sendable, Equatable {
    /// Connections open now.
    public var open: Int
    /// Of those, the ones running a statement or holding a transaction.
    public var busy: Int
    /// Callers waiting for a connection.
    public var waiting: Int
    /// Connections the database may open at most.
    public var limit: Int
}
