#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StrataCore
import StrataIO
import StrataRPC
import StrataSQL

/// `strata-data`: the data tier's command line.
public enum DataCommand {
    static let databaseOption = OptionSpec(
        "database", env: "STRATA_DATABASE_URL", value: "URL", default: ".strata/strata.db",
        help: "database: an SQLite file path, sqlite:PATH, or a postgres:// URL")
    static let migrationsOption = OptionSpec(
        "migrations", env: "STRATA_MIGRATIONS_DIR", value: "DIR", default: "Migrations",
        help: "folder of NNNN_name.sql migration files")

    static let root = CommandSpec(
        name: "strata-data", summary: "The data tier: owns the database and its migrations.",
        subcommands: [
            ("serve", "answer SQL requests from the application tier over RPC"),
            ("migrate status", "list applied and pending migrations"),
            ("migrate up", "apply pending migrations"),
        ])

    static let serve = CommandSpec(
        name: "strata-data serve", summary: "Answer SQL requests from the application tier over RPC.",
        options: [
            OptionSpec("listen", env: "STRATA_DATA_LISTEN", value: "ADDRESS", default: "127.0.0.1:7002",
                       help: "RPC address: host:port (port 0 picks one) or unix:/path"),
            databaseOption, migrationsOption,
            OptionSpec("pool", env: "STRATA_DATABASE_POOL", value: "N", default: "10", help: "PostgreSQL connections at most"),
            .eventLoops,
            .logLevel,
        ],
        notes: ["environment:\n  STRATA_RPC_SECRET  shared secret the tiers authenticate each other with (required; never a flag)"])

    static let migrate = CommandSpec(
        name: "strata-data migrate", summary: "Apply or inspect migrations.",
        subcommands: [("status", "list applied and pending migrations"), ("up", "apply pending migrations, each in its own transaction")],
        options: [databaseOption, migrationsOption, OptionSpec("to", value: "VERSION", help: "with up: stop after this version")])

    /// Runs the command line `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        await root.run(arguments, [
            "serve": { arguments in
                guard let options = try serve.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                return try await runServe(options, environment: environment)
            },
            "migrate": { arguments in
                guard let options = try migrate.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                guard !options.positional.isEmpty else {
                    Terminal.printOut(migrate.help)
                    return 64
                }
                return try await runMigrate(options)
            },
        ])
    }

    /// Opens the database the options name (an SQLite file gets its folder
    /// created); PostgreSQL connections live on `group`'s loops.
    static func openDatabase(_ options: ParsedOptions, group: EventLoopGroup) throws -> (any SQLDatabase, DatabaseURL) {
        let url = try DatabaseURL(parsing: options.string("database") ?? ".strata/strata.db")
        switch url {
        case .sqlite(let path):
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            return (try SQLiteDatabase(path: path), url)
        case .postgres(let text):
            return (PostgresDatabase(url: text, group: group, maxConnections: try options.int("pool", in: 1...1000) ?? 10), url)
        }
    }

    static func runMigrate(_ options: ParsedOptions) async throws -> Int32 {
        let action = options.positional[0]
        guard ["status", "up"].contains(action) else {
            throw UsageError(command: "strata-data migrate", message: "unknown command '\(action)'")
        }
        let migrations = try Migrator.load(directory: options.string("migrations") ?? "Migrations")
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let (database, url) = try openDatabase(options, group: group)
        let migrator = try await Migrator(database: database, migrations: migrations)
        switch action {
        case "status":
            let rows = try await migrator.status()
            Terminal.printOut("database: \(url)\n")
            if rows.isEmpty { Terminal.printOut("no migrations\n") }
            for row in rows {
                let state = row.missingFile ? "applied, file missing" : (row.appliedAt.map { "applied \($0)" } ?? "pending")
                Terminal.printOut("\(String(format: "%04lld", row.version))  \(row.name.padding(toLength: 32, withPad: " ", startingAt: 0))  \(state)\n")
            }
            let pending = rows.filter { $0.appliedAt == nil }.count
            Terminal.printOut("\(rows.count - pending) applied, \(pending) pending\n")
        default:
            let target = try options.int("to", in: 1...Int.max).map(Int64.init)
            let applied = try await migrator.up(to: target) { migration, millis in
                Terminal.printOut("applied \(String(format: "%04lld", migration.version))_\(migration.name) in \(millis) ms\n")
            }
            Terminal.printOut(applied.isEmpty ? "database is up to date\n" : "applied \(applied.count) migration(s)\n")
        }
        return 0
    }

    static func runServe(_ options: ParsedOptions, environment: [String: String]) async throws -> Int32 {
        let logger = Logger(label: "data", level: Logger.Level(name: options.string("log-level") ?? "info") ?? .info)
        let address = try SocketAddress(parsing: options.string("listen") ?? "127.0.0.1:7002")
        let secret = try RPCSecret.load(from: environment)
        let loops = try options.int("loops", in: 1...256)
        let migrations = try Migrator.load(directory: options.string("migrations") ?? "Migrations")
        let group = EventLoopGroup(loopCount: loops ?? System.coreCount)
        let (database, url) = try openDatabase(options, group: group)
        let pending: [Migration]
        do {
            pending = try await Migrator(database: database, migrations: migrations).pending()
        } catch let error as SQLError {
            throw StartupError("the database \(url) is not reachable: \(error.message)")
        }
        guard pending.isEmpty else {
            throw MigrationError(file: "\(url)", line: nil, message: "schema is behind: \(pending.count) migration(s) pending (first: \(pending[0].file)); run 'strata-data migrate up'")
        }
        let server = RPCServer(
            configuration: RPCServerConfiguration(address: address, secret: secret), service: DataService.make(database: database, logger: logger),
            group: group, logger: logger)
        let bound = try server.start()
        await ShutdownSignal.serve(logger: logger, listen: bound.description, ("database", url.description), environment: environment)
        await server.shutdown(grace: .seconds(10))
        group.shutdown()
        return 0
    }
}
