import StrataCore
import StrataHTTP
import StrataSQL

/// What the data tier's `/readyz` answers: ready while the database answers
/// and every migration file is applied.
final class DataReadiness: Sendable {
    private let database: any SQLDatabase
    private let migrations: [Migration]
    private let url: DatabaseURL
    static let limit = Duration.seconds(3)

    init(database: any SQLDatabase, migrations: [Migration], url: DatabaseURL) {
        self.database = database
        self.migrations = migrations
        self.url = url
    }

    func check() async -> Readiness {
        do {
            return try await withTimeout(Self.limit) { [self] in
                let pending = try await Migrator.pending(in: database, migrations: migrations)
                guard let first = pending.first else { return .ready }
                return .notReady("\(pending.count) migration(s) pending (first: \(first.file)); run 'strata-data migrate up'")
            }
        } catch is TimeoutError {
            return .notReady("the database \(url) did not answer within \(Self.limit) (down, or too busy to answer)")
        } catch let error as SQLError {
            return .notReady("the database \(url) is not reachable: \(error.message)")
        } catch {
            return .notReady("the database \(url): \(error)")
        }
    }
}
