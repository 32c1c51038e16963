/// Limits every migration session runs under (PostgreSQL; SQLite has no
/// such settings).
public struct MigrationSettings: Sendable, Equatable {
    /// How long a statement waits for a lock before failing: a migration
    /// must not queue behind a long transaction while every query on the
    /// table queues behind it. nil: wait forever.
    public var lockTimeout: Duration?
    /// How long one statement may run. nil: no limit.
    public var statementTimeout: Duration?

    /// The defaults (strong_migrations' choice): 10 s for a lock, 1 h for a statement.
    public init(lockTimeout: Duration? = .seconds(10), statementTimeout: Duration? = .seconds(3600)) {
        self.lockTimeout = lockTimeout
        self.statementTimeout = statementTimeout
    }
}
