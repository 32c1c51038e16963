/// How isolated an interactive transaction is (PostgreSQL's levels; SQLite
/// transactions are always serializable).
public enum SQLIsolation: String, Codable, Sendable {
    case readCommitted, repeatableRead, serializable
}
