import StrataProtocol

extension SQLIsolation {
    /// The level as PostgreSQL's `BEGIN ISOLATION LEVEL` spells it.
    var postgres: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}
