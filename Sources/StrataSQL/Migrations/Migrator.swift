import Foundation
import StrataCore

/// Applies migration files to a database and reports which are applied.
///
/// Each migration runs in its own transaction together with the row that
/// records it, so a failing migration leaves nothing half-applied. Two
/// migrators never interleave: on SQLite the write lock (`BEGIN IMMEDIATE`),
/// on PostgreSQL an advisory lock held for the whole run.
public struct Migrator: Sendable {
    /// The versioned migrations found on disk, ordered by version.
    public let migrations: [Migration]
    /// The repeatable (`R_name.sql`) migrations, ordered by name.
    public let repeatables: [Migration]
    private let database: any SQLDatabase
    private let settings: MigrationSettings

    /// One row of `status`.
    public struct Status: Sendable, Equatable, Encodable {
        /// The version.
        public let version: Int64
        /// The name.
        public let name: String
        /// When it was applied (UTC, ISO 8601), or nil if pending.
        public let appliedAt: String?
        /// How long applying it took, when applied.
        public var durationMilliseconds: Int64? = nil
        /// Whether the file is gone although the database recorded it.
        public let missingFile: Bool
        /// Whether the file changed after it was applied.
        public var changed = false
        /// Whether `baseline` recorded it as applied without running it.
        public var baselined = false
        /// Whether it is a repeatable migration (version 0), run again when changed.
        public var repeatable = false
    }

    /// One step of a plan: what `up` or `down` would run, for `--dry-run`.
    public struct Step: Sendable, Equatable, Encodable {
        /// The migration.
        public let version: Int64
        /// Its file.
        public let file: String
        /// `up` or `down`.
        public let direction: String
        /// The exact SQL, bookkeeping statement included.
        public let sql: String
        /// Whether it runs in a transaction with its record (not when marked no-transaction).
        public var transaction = true
        /// What the linter says of it (up steps only).
        public var lint: [LintFinding] = []
    }

    /// Loads every `*.sql` file in `directory`, or in each folder of a
    /// comma-separated list (the project's `Migrations` and modules' own
    /// folders); versions must be unique across all of them and apply in
    /// version order. Fails on the first malformed file or a duplicate version.
    public static func load(directory: String) throws(MigrationError) -> [Migration] {
        var migrations: [Migration] = []
        var seen: [Int64: String] = [:]
        for folder in directory.split(separator: ",").map({ String($0).trimmed() }) where !folder.isEmpty {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
            } catch {
                throw MigrationError(
                    file: folder, line: nil, message: "cannot read the migrations folder (set --migrations or STRATA_MIGRATIONS_DIR)")
            }
            for name in names {
                let path = folder + "/" + name
                guard let contents = FileManager.default.contents(atPath: path), let text = String(data: contents, encoding: .utf8) else {
                    throw MigrationError(file: path, line: nil, message: "cannot be read as UTF-8 text")
                }
                let migration = try Migration(file: path, contents: text)
                if migration.isRepeatable {
                    if let other = migrations.first(where: { $0.isRepeatable && $0.name == migration.name }) {
                        throw MigrationError(file: path, line: nil, message: "repeatable migration '\(migration.name)' is also \(other.file)")
                    }
                } else if let other = seen[migration.version] {
                    throw MigrationError(file: path, line: nil, message: "version \(migration.version) is also used by \(other)")
                }
                seen[migration.version] = path
                migrations.append(migration)
            }
        }
        return migrations.sorted { ($0.version, $0.name) < ($1.version, $1.name) }
    }

    /// Creates a migrator over `database` (versioned and repeatable
    /// migrations in one list, as `load` returns them), creating its tables
    /// if needed.
    public init(database: any SQLDatabase, migrations: [Migration], settings: MigrationSettings = MigrationSettings()) async throws {
        self.database = database
        self.migrations = migrations.filter { !$0.isRepeatable }
        self.repeatables = migrations.filter(\.isRepeatable).sorted { $0.name < $1.name }
        self.settings = settings
        try await database.withMigrationSession { session in
            try await session.script(
                """
                CREATE TABLE IF NOT EXISTS strata_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    applied_at TEXT NOT NULL,
                    duration_ms BIGINT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS strata_repeatable_migrations (
                    name TEXT PRIMARY KEY,
                    checksum TEXT NOT NULL,
                    applied_at TEXT NOT NULL,
                    duration_ms BIGINT NOT NULL
                )
                """)
        }
    }

    /// `duration_ms` of a row `baseline` wrote: recorded, never run here.
    static let baselineDuration: Int64 = -1

    /// Runs `body` on the database's migration session, under the settings'
    /// lock and statement timeouts where the engine has them.
    private func withSession<T: Sendable>(_ body: (any MigrationSession) async throws -> T) async throws -> T {
        let settings = self.settings
        let engine = database.engine
        return try await database.withMigrationSession { session in
            guard engine == .postgres else { return try await body(session) }
            try await session.script(
                "SET lock_timeout = \(settings.lockTimeout.map(Self.milliseconds) ?? 0); SET statement_timeout = \(settings.statementTimeout.map(Self.milliseconds) ?? 0)"
            )
            do {
                let value = try await body(session)
                try? await session.script("RESET lock_timeout; RESET statement_timeout")
                return value
            } catch {
                try? await session.script("RESET lock_timeout; RESET statement_timeout")
                throw error
            }
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Applied and pending migrations, by version, then the repeatable ones by name.
    public func status() async throws -> [Status] {
        let (applied, ran) = try await withSession { session in (try await Self.appliedRows(session), try await Self.repeatableRows(session)) }
        var rows: [Status] = migrations.map { migration in
            let row = applied[migration.version]
            return Status(
                version: migration.version, name: migration.name, appliedAt: row?.appliedAt,
                durationMilliseconds: row.map { max(0, $0.duration) }, missingFile: false,
                changed: row.map { $0.checksum != migration.checksum } ?? false, baselined: row?.duration == Self.baselineDuration)
        }
        for (version, row) in applied where !migrations.contains(where: { $0.version == version }) {
            rows.append(
                Status(
                    version: version, name: row.name, appliedAt: row.appliedAt, durationMilliseconds: max(0, row.duration), missingFile: true,
                    baselined: row.duration == Self.baselineDuration))
        }
        rows.sort { $0.version < $1.version }
        for migration in repeatables {
            let row = ran[migration.name]
            rows.append(
                Status(
                    version: 0, name: migration.name, appliedAt: row?.appliedAt, durationMilliseconds: row?.duration, missingFile: false,
                    changed: row.map { $0.checksum != migration.checksum } ?? false, repeatable: true))
        }
        return rows
    }

    /// Records every versioned migration up to `version` as applied without
    /// running it, for a database whose schema already has them (one made
    /// before Strata, or restored from a dump). Refused once anything is
    /// recorded: a baseline is where the history starts.
    @discardableResult
    public func baseline(_ version: Int64) async throws -> [Migration] {
        let migrations = self.migrations.filter { $0.version <= version }
        guard !migrations.isEmpty else {
            throw MigrationError(file: "baseline \(version)", line: nil, message: "no migration file has a version up to \(version)")
        }
        return try await withSession { session in
            try await session.begin()
            do {
                let recorded = try await session.query("SELECT count(*) FROM strata_migrations", [])
                guard recorded.rows.first?.first?.intValue == 0 else {
                    throw MigrationError(
                        file: "baseline \(version)", line: nil,
                        message: "the database already records applied migrations; a baseline only starts a history (see 'migrate status')")
                }
                for migration in migrations {
                    _ = try await session.run(
                        Self.recordSQL,
                        [.int(migration.version), .text(migration.name), .text(migration.checksum), .text(Self.now()), .int(Self.baselineDuration)])
                }
                try await session.script("COMMIT")
                return migrations
            } catch {
                try? await session.script("ROLLBACK")
                throw error
            }
        }
    }

    /// Migrations not yet applied, in order.
    public func pending() async throws -> [Migration] {
        let applied = try await appliedRows()
        return migrations.filter { applied[$0.version] == nil }
    }

    /// Migrations not yet applied, read with plain queries on `database`'s
    /// pool: no migration lock and no tables created. What a readiness check
    /// asks: behind a transaction-pooling PgBouncer the session-level lock an
    /// instance takes may be released on another server connection than the
    /// one that took it, leaving it held for good.
    public static func pending(in database: any SQLDatabase, migrations: [Migration]) async throws -> [Migration] {
        let versioned = migrations.filter { !$0.isRepeatable }
        let exists =
            database.engine == .postgres
            ? "SELECT CASE WHEN to_regclass('strata_migrations') IS NULL THEN 0 ELSE 1 END"
            : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'strata_migrations'"
        guard try await database.query(exists, []).rows.first?.first?.intValue == 1 else { return versioned }
        let applied = Set(try await database.query("SELECT version FROM strata_migrations", []).rows.compactMap { $0.first?.intValue })
        return versioned.filter { !applied.contains($0.version) }
    }

    /// Applies pending migrations up to `target` (all when nil), calling
    /// `progress` after each with its duration in milliseconds.
    ///
    /// Refuses to run when an applied file has changed since it was applied.
    /// Repeatable migrations run after the versioned ones when no `target`
    /// stops short of the newest version.
    @discardableResult
    public func up(to target: Int64? = nil, progress: @Sendable (Migration, Int) -> Void = { _, _ in }) async throws -> [Migration] {
        let engine = database.engine
        let migrations = self.migrations
        let repeatables = runsRepeatables(to: target) ? self.repeatables : []
        return try await withSession { session in
            let applied = try await Self.appliedRows(session)
            try Self.refuseChanged(migrations, applied)
            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                if let target, migration.version > target { break }
                let started = ContinuousClock.now
                // Marked no-transaction (CREATE INDEX CONCURRENTLY): run as is; a failure part-way stays.
                let transactional = !migration.runsOutsideTransaction
                if transactional { try await session.begin() }
                do {
                    // Re-check under the lock: another migrator may have just applied it.
                    let already = try await session.query("SELECT 1 FROM strata_migrations WHERE version = $1", [.int(migration.version)])
                    if !already.rows.isEmpty {
                        if transactional { try await session.script("ROLLBACK") }
                        continue
                    }
                    try await session.script(migration.up(for: engine))
                    let millis = Int((ContinuousClock.now - started).wholeMilliseconds)
                    _ = try await session.run(
                        Self.recordSQL,
                        [.int(migration.version), .text(migration.name), .text(migration.checksum), .text(Self.now()), .int(Int64(millis))])
                    if transactional { try await session.script("COMMIT") }
                    progress(migration, millis)
                    done.append(migration)
                } catch {
                    guard transactional else {
                        throw MigrationError(
                            file: migration.file, line: nil,
                            message:
                                "failed outside a transaction (marked no-transaction), so what ran before the failure stays; fix the database by hand, then run up again: \(Self.reason(error))"
                        )
                    }
                    try? await session.script("ROLLBACK")
                    throw MigrationError(file: migration.file, line: nil, message: "failed and was rolled back: \(Self.reason(error))")
                }
            }
            let ran = try await Self.repeatableRows(session)
            for migration in repeatables where ran[migration.name]?.checksum != migration.checksum {
                let started = ContinuousClock.now
                try await session.begin()
                do {
                    try await session.script(migration.up(for: engine))
                    let millis = Int((ContinuousClock.now - started).wholeMilliseconds)
                    _ = try await session.run("DELETE FROM strata_repeatable_migrations WHERE name = $1", [.text(migration.name)])
                    _ = try await session.run(
                        "INSERT INTO strata_repeatable_migrations (name, checksum, applied_at, duration_ms) VALUES ($1, $2, $3, $4)",
                        [.text(migration.name), .text(migration.checksum), .text(Self.now()), .int(Int64(millis))])
                    try await session.script("COMMIT")
                    progress(migration, millis)
                    done.append(migration)
                } catch {
                    try? await session.script("ROLLBACK")
                    throw MigrationError(file: migration.file, line: nil, message: "failed and was rolled back: \(Self.reason(error))")
                }
            }
            return done
        }
    }

    private func runsRepeatables(to target: Int64?) -> Bool {
        guard let target, let newest = migrations.last?.version else { return true }
        return target >= newest
    }

    private func appliedRows() async throws -> [Int64: AppliedRow] {
        try await withSession { try await Self.appliedRows($0) }
    }

    private typealias RepeatableRow = (checksum: String, appliedAt: String, duration: Int64)

    private static func repeatableRows(_ session: any MigrationSession) async throws -> [String: RepeatableRow] {
        let result = try await session.query("SELECT name, checksum, applied_at, duration_ms FROM strata_repeatable_migrations", [])
        var rows: [String: RepeatableRow] = [:]
        for row in result.rows {
            guard let name = row[0].textValue else { continue }
            rows[name] = (row[1].textValue ?? "", row[2].textValue ?? "", row[3].intValue ?? 0)
        }
        return rows
    }

    private typealias AppliedRow = (name: String, checksum: String, appliedAt: String, duration: Int64)

    private static func appliedRows(_ session: any MigrationSession) async throws -> [Int64: AppliedRow] {
        let result = try await session.query("SELECT version, name, checksum, applied_at, duration_ms FROM strata_migrations ORDER BY version", [])
        var rows: [Int64: AppliedRow] = [:]
        for row in result.rows {
            guard let version = row[0].intValue else { continue }
            rows[version] = (row[1].textValue ?? "", row[2].textValue ?? "", row[3].textValue ?? "", row[4].intValue ?? 0)
        }
        return rows
    }

    static let recordSQL = "INSERT INTO strata_migrations (version, name, checksum, applied_at, duration_ms) VALUES ($1, $2, $3, $4, $5)"
    static let forgetSQL = "DELETE FROM strata_migrations WHERE version = $1"

    /// What `up(to:)` would run, in order, without running it: each step's
    /// SQL, whether it takes a transaction, and what the linter finds in it
    /// (a table created by an earlier step counts as new).
    public func planUp(to target: Int64? = nil) async throws -> [Step] {
        let (applied, ran) = try await withSession { session in (try await Self.appliedRows(session), try await Self.repeatableRows(session)) }
        try Self.refuseChanged(migrations, applied)
        var chosen = migrations.filter { migration in
            applied[migration.version] == nil && (target.map { migration.version <= $0 } ?? true)
        }
        if runsRepeatables(to: target) { chosen += repeatables.filter { ran[$0.name]?.checksum != $0.checksum } }
        var newTables: Set<String> = []
        return chosen.map { migration in
            let record =
                migration.isRepeatable
                ? "-- recorded in strata_repeatable_migrations with its checksum"
                : Self.recordSQL.replacingOccurrences(of: "$1", with: String(migration.version)) + ";"
            let body = migration.up(for: database.engine)
            return Step(
                version: migration.version, file: migration.file, direction: "up",
                sql: migration.runsOutsideTransaction ? "-- no transaction\n\(body)\n\(record)" : "BEGIN;\n\(body)\n\(record)\nCOMMIT;",
                transaction: !migration.runsOutsideTransaction, lint: MigrationLint.findings(in: migration, newTables: &newTables))
        }
    }

    /// What `down` would run: the last `count` applied migrations, or all above `target`, newest first.
    public func planDown(count: Int? = nil, to target: Int64? = nil) async throws -> [Step] {
        let applied = try await appliedRows()
        let versions = applied.keys.sorted(by: >)
        let chosen = target.map { v in versions.filter { $0 > v } } ?? Array(versions.prefix(count ?? 1))
        return try chosen.map { version in
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw MigrationError(file: "version \(version)", line: nil, message: "is applied but its file is missing; cannot roll it back")
            }
            let down = migration.down(for: database.engine)
            guard !down.isEmpty else {
                throw MigrationError(file: migration.file, line: nil, message: "has no '-- migrate:down' part; it cannot be rolled back")
            }
            return Step(
                version: version, file: migration.file, direction: "down",
                sql: "BEGIN;\n\(down)\n\(Self.forgetSQL.replacingOccurrences(of: "$1", with: String(version)));\nCOMMIT;")
        }
    }

    /// Rolls back the last `count` applied migrations (or all above `target`),
    /// newest first, each in its own transaction with its bookkeeping row.
    @discardableResult
    public func down(
        count: Int? = nil, to target: Int64? = nil, progress: @Sendable (Migration, Int) -> Void = { _, _ in }
    ) async throws -> [Migration] {
        let steps = try await planDown(count: count, to: target)
        let engine = database.engine
        let migrations = self.migrations
        return try await withSession { session in
            var done: [Migration] = []
            for step in steps {
                guard let migration = migrations.first(where: { $0.version == step.version }) else { continue }
                let started = ContinuousClock.now
                try await session.begin()
                do {
                    let still = try await session.query("SELECT 1 FROM strata_migrations WHERE version = $1", [.int(migration.version)])
                    if still.rows.isEmpty {
                        try await session.script("ROLLBACK")
                        continue
                    }
                    try await session.script(migration.down(for: engine))
                    _ = try await session.run(Self.forgetSQL, [.int(migration.version)])
                    try await session.script("COMMIT")
                    progress(migration, Int((ContinuousClock.now - started).wholeMilliseconds))
                    done.append(migration)
                } catch {
                    try? await session.script("ROLLBACK")
                    throw MigrationError(file: migration.file, line: nil, message: "rollback failed and was undone: \(Self.reason(error))")
                }
            }
            return done
        }
    }

    /// Problems between the files and the database: changed files, applied
    /// versions without a file, and pending files older than applied ones (gaps).
    public func validate() async throws -> [String] {
        let applied = try await appliedRows()
        var problems: [String] = []
        for migration in migrations {
            if let row = applied[migration.version], row.checksum != migration.checksum {
                problems.append("\(migration.file): changed after it was applied (checksum differs)")
            }
        }
        for (version, row) in applied.sorted(by: { $0.key < $1.key }) where !migrations.contains(where: { $0.version == version }) {
            problems.append("version \(version) (\(row.name)) is applied but has no file")
        }
        if let newest = applied.keys.max() {
            for migration in migrations where applied[migration.version] == nil && migration.version < newest {
                problems.append("\(migration.file): pending, but older than the applied version \(newest) (a gap)")
            }
        }
        return problems
    }

    /// The engine's message for a failed statement, with what to do when a
    /// timeout of the migration session ended it.
    private static func reason(_ error: any Error) -> String {
        let message = (error as? SQLError)?.message ?? "\(error)"
        if message.contains("lock timeout") {
            return message
                + " (another transaction held a lock this migration needs for longer than the lock timeout; nothing was applied: run it again when that transaction is over, or raise --lock-timeout)"
        }
        if message.contains("statement timeout") {
            return message + " (the migration ran longer than the statement timeout; raise --statement-timeout for it)"
        }
        return message
    }

    private static func refuseChanged(_ migrations: [Migration], _ applied: [Int64: AppliedRow]) throws {
        for migration in migrations {
            if let row = applied[migration.version], row.checksum != migration.checksum {
                throw MigrationError(
                    file: migration.file, line: nil,
                    message: "was changed after it was applied (checksum differs); restore it and add a new migration instead")
            }
        }
    }

    private static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
