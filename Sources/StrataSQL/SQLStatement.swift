/// A statement sent to the data tier: SQL with `$1, $2, ...` placeholders and their values.
/// Values never travel inside the SQL text.
public struct SQLStatement: Codable, Sendable, Equatable {
    /// The SQL, with positional placeholders.
    public var sql: String
    /// The values, in placeholder order.
    public var parameters: [SQLValue]

    /// Creates a statement.
    public init(_ sql: String, _ parameters: [SQLValue] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

/// Names of the data tier's RPC methods.
public enum DataMethod {
    /// `SQLStatement` → `QueryResult`.
    public static let query = "sql.query"
    /// `SQLStatement` → `ExecuteResult`.
    public static let execute = "sql.execute"
    /// `Empty` → `DataHealth`: answers when the engine is reachable.
    public static let health = "data.health"
}

/// The data tier's health answer.
public struct DataHealth: Codable, Sendable {
    /// The engine in use (`sqlite`).
    public var engine: String
    /// Migrations on disk that are not applied.
    public var pendingMigrations: Int

    /// Creates a health answer.
    public init(engine: String, pendingMigrations: Int) {
        self.engine = engine
        self.pendingMigrations = pendingMigrations
    }
}
