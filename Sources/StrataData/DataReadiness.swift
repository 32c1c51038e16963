import StrataCore
import StrataHTTP
import StrataSQL
import Synchronization

/// What the data tier's `/readyz` answers: ready while the database answers
/// and every migration file is applied.
final class DataReadiness: Sendable {
    private let database: any SQLDatabase
    private let migrations: [Migration]
    private let url: DatabaseURL
    private let migrator = Mutex<Migrator?>(nil)
    static let limit = Duration.seconds(3)

    init(database: any SQLDatabase, migrations: [Migration], url: DatabaseURL) {
        self.database = database
        self.migrations = migrations
        self.url = url
    }

    func check() async -> Readiness {
        do {
            return try await withTimeout(Self.limit) { [self] in
                let pending = try await currentMigrator().pending()
                guard let first = pending.first else { return .ready }
                return .notReady("\(pending.count) migration(s) pending (first: \(first.file)); run 'strata-data migrate up'")
            }
        } catch is TimeoutError {
            return .notReady("the database \(url) did not answer within \(Self.limit) (down, or a migration holds its lock)")
        } catch let error as SQLError {
            return .notReady("the database \(url) is not reachable: \(error.message)")
        } catch {
            return .notReady("the database \(url): \(error)")
        }
    }

    /// The migrator, made once: making it creates the migrations table under
    /// the migration lock, which a readiness check should not take each time.
    private func currentMigrator() async throws -> Migrator {
        if let made = migrator.withLock({ $0 }) { return made }
        let made = try await Migrator(database: database, migrations: migrations)
        migrator.withLock { $0 = made }
        return made
    }
}
