import Foundation

/// Applies migration files to a database and reports which are applied.
///
/// Each migration runs in its own transaction together with the row that
/// records it, so a failing migration leaves nothing half-applied. Two
/// migrators never interleave: on SQLite the write lock (`BEGIN IMMEDIATE`),
/// on PostgreSQL an advisory lock held for the whole run.
public struct Migrator: Sendable {
    /// The migrations found on disk, ordered by version.
    public let migrations: [Migration]
    private let database: any SQLDatabase

    /// One row of `status`.
    public struct Status: Sendable, Equatable {
        /// The version.
        public let version: Int64
        /// The name.
        public let name: String
        /// When it was applied (UTC, ISO 8601), or nil if pending.
        public let appliedAt: String?
        /// Whether the file is gone although the database recorded it.
        public let missingFile: Bool
    }

    /// Loads every `*.sql` file in `directory`; fails on the first malformed file or a duplicate version.
    public static func load(directory: String) throws(MigrationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }.sorted()
        } catch {
            throw MigrationError(file: directory, line: nil, message: "cannot read the migrations folder (set --migrations or STRATA_MIGRATIONS_DIR)")
        }
        var migrations: [Migration] = []
        var seen: [Int64: String] = [:]
        for name in names {
            let path = directory + "/" + name
            guard let contents = FileManager.default.contents(atPath: path), let text = String(data: contents, encoding: .utf8) else {
                throw MigrationError(file: path, line: nil, message: "cannot be read as UTF-8 text")
            }
            let migration = try Migration(file: path, contents: text)
            if let other = seen[migration.version] {
                throw MigrationError(file: path, line: nil, message: "version \(migration.version) is also used by \(other)")
            }
            seen[migration.version] = path
            migrations.append(migration)
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Creates a migrator over `database`, creating the migrations table if needed.
    public init(database: any SQLDatabase, migrations: [Migration]) async throws {
        self.database = database
        self.migrations = migrations
        try await database.withMigrationSession { session in
            try await session.script("""
                CREATE TABLE IF NOT EXISTS strata_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    applied_at TEXT NOT NULL,
                    duration_ms BIGINT NOT NULL
                )
                """)
        }
    }

    /// Applied and pending migrations, by version.
    public func status() async throws -> [Status] {
        let applied = try await appliedRows()
        var rows: [Status] = migrations.map { migration in
            Status(version: migration.version, name: migration.name, appliedAt: applied[migration.version]?.appliedAt, missingFile: false)
        }
        for (version, row) in applied where !migrations.contains(where: { $0.version == version }) {
            rows.append(Status(version: version, name: row.name, appliedAt: row.appliedAt, missingFile: true))
        }
        return rows.sorted { $0.version < $1.version }
    }

    /// Migrations not yet applied, in order.
    public func pending() async throws -> [Migration] {
        let applied = try await appliedRows()
        return migrations.filter { applied[$0.version] == nil }
    }

    /// Applies pending migrations up to `target` (all when nil), calling
    /// `progress` after each with its duration in milliseconds.
    ///
    /// Refuses to run when an applied file has changed since it was applied.
    @discardableResult
    public func up(to target: Int64? = nil, progress: @Sendable (Migration, Int) -> Void = { _, _ in }) async throws -> [Migration] {
        let engine = database.engine
        let migrations = self.migrations
        return try await database.withMigrationSession { session in
            let applied = try await Self.appliedRows(session)
            for migration in migrations {
                if let row = applied[migration.version], row.checksum != migration.checksum {
                    throw MigrationError(file: migration.file, line: nil, message: "was changed after it was applied (checksum differs); restore it and add a new migration instead")
                }
            }
            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                if let target, migration.version > target { break }
                let started = ContinuousClock.now
                try await session.begin()
                do {
                    // Re-check under the lock: another migrator may have just applied it.
                    let already = try await session.query("SELECT 1 FROM strata_migrations WHERE version = $1", [.int(migration.version)])
                    if !already.rows.isEmpty {
                        try await session.script("ROLLBACK")
                        continue
                    }
                    try await session.script(migration.up(for: engine))
                    let elapsed = ContinuousClock.now - started
                    let millis = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
                    _ = try await session.run(
                        "INSERT INTO strata_migrations (version, name, checksum, applied_at, duration_ms) VALUES ($1, $2, $3, $4, $5)",
                        [.int(migration.version), .text(migration.name), .text(migration.checksum), .text(Self.now()), .int(Int64(millis))])
                    try await session.script("COMMIT")
                    progress(migration, millis)
                    done.append(migration)
                } catch {
                    try? await session.script("ROLLBACK")
                    let message = (error as? SQLError)?.message ?? "\(error)"
                    throw MigrationError(file: migration.file, line: nil, message: "failed and was rolled back: \(message)")
                }
            }
            return done
        }
    }

    private func appliedRows() async throws -> [Int64: AppliedRow] {
        try await database.withMigrationSession { try await Self.appliedRows($0) }
    }

    private typealias AppliedRow = (name: String, checksum: String, appliedAt: String)

    private static func appliedRows(_ session: any MigrationSession) async throws -> [Int64: AppliedRow] {
        let result = try await session.query("SELECT version, name, checksum, applied_at FROM strata_migrations ORDER BY version", [])
        var rows: [Int64: AppliedRow] = [:]
        for row in result.rows {
            guard let version = row[0].intValue else { continue }
            rows[version] = (row[1].textValue ?? "", row[2].textValue ?? "", row[3].textValue ?? "")
        }
        return rows
    }

    private static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
