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
