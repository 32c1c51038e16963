import Foundation
import StrataCLI
import StrataCore
import StrataHTTP
import StrataIO
import StrataRPC
import StrataSQL

#if canImport(Glibc)
    import Glibc
#endif

/// `strata-data`: the data tier's command line.
public enum DataCommand {
    static let databaseOption = OptionSpec(
        "database", env: "STRATA_DATABASE_URL", value: "URL", default: ".strata/strata.db",
        help: "database: an SQLite file path, sqlite:PATH, or a postgres:// URL")
    static let migrationsOption = OptionSpec(
        "migrations", env: "STRATA_MIGRATIONS_DIR", value: "DIR", default: "Migrations",
        help: "folder of NNNN_name.sql migration files")

    static let healthOption = OptionSpec(
        "health", env: "STRATA_DATA_HEALTH", value: "ADDRESS",
        help:
            "serve /healthz, /readyz and /metrics over HTTP here (host:port) for orchestrators and Prometheus; with it, serve waits for the database and pending migrations instead of exiting"
    )

    static let root = CommandSpec(
        name: "strata-data", summary: "The data tier: owns the database and its migrations.",
        subcommands: [
            ("serve", "answer SQL requests from the application tier over RPC"),
            ("probe", "ask the running data tier whether it is ready (for container health checks)"),
            ("migrate status", "list applied and pending migrations, with drift"),
            ("migrate up", "apply pending migrations"),
            ("migrate down", "roll back the last migration (or N, or down to --to)"),
            ("migrate redo", "roll back the last migration and apply it again"),
            ("migrate create NAME", "write the next numbered migration file"),
            ("migrate validate", "compare applied migrations with the files"),
        ])

    static let serve = CommandSpec(
        name: "strata-data serve", summary: "Answer SQL requests from the application tier over RPC.",
        options: [
            OptionSpec(
                "listen", env: "STRATA_DATA_LISTEN", value: "ADDRESS", default: "127.0.0.1:7002",
                help: "RPC address: host:port (port 0 picks one) or unix:/path"),
            databaseOption, migrationsOption, healthOption,
            OptionSpec("pool", env: "STRATA_DATABASE_POOL", value: "N", default: "10", help: "PostgreSQL connections at most"),
            OptionSpec(
                "transaction-lease", env: "STRATA_TRANSACTION_LEASE", value: "SECONDS", default: "10",
                help: "an interactive transaction idle this long is rolled back"),
            OptionSpec(
                "slow-query-ms", env: "STRATA_SLOW_QUERY_MS", value: "MS", default: "250",
                help: "log a warning line for each statement (or batch) that took at least this long (0: every one; -1: none)"),
            .eventLoops,
            .logLevel,
            .logFormat,
        ],
        notes: [
            "environment:\n  STRATA_RPC_SECRET  shared secret the tiers authenticate each other with (required; never a flag)\n  STRATA_RPC_TLS_CERT, STRATA_RPC_TLS_KEY  this tier's certificate and key: RPC over TLS (see ARCHITECTURE.md, \"Trust between the tiers\")\n  STRATA_RPC_TLS_CA  the CA that signed every tier's certificate: peers must present one (mutual TLS)"
        ])

    static let probe = ProbeCommand.spec(tool: "strata-data", address: [healthOption])

    static let migrate = CommandSpec(
        name: "strata-data migrate", summary: "Apply, roll back or inspect migrations.",
        subcommands: [
            ("status", "applied (with time and duration), pending, changed and missing files"),
            ("up", "apply pending migrations, each in its own transaction with its record"),
            ("down [N]", "roll back the last N applied migrations (default 1), newest first"),
            ("redo", "roll back the last applied migration and apply it again"),
            ("create NAME", "write NNNN_NAME.sql with the next number"),
            ("validate", "checksums, files missing for applied versions, gaps; exit 1 on problems"),
        ],
        options: [
            databaseOption, migrationsOption,
            OptionSpec("to", value: "VERSION", help: "up: stop after this version; down: roll back everything above it"),
            OptionSpec(switch: "dry-run", help: "up/down: print the exact SQL and change nothing"),
            OptionSpec(
                "wait", env: "STRATA_DATABASE_WAIT", value: "SECONDS", default: "0",
                help: "keep trying this long while the database does not accept connections yet (a server still starting)"),
            OptionSpec(switch: "json", help: "machine-readable output"),
        ],
        notes: ["exit status: 0 done; 1 a migration failed, the database refused, or validate found problems; 64 usage mistake"])

    /// Runs the command line `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        await root.run(
            arguments,
            [
                "serve": { arguments in
                    guard let options = try serve.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try await runServe(options, environment: environment)
                },
                "probe": { arguments in
                    guard let options = try probe.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try ProbeCommand.run(options, tool: "strata-data", address: options.string("health"), option: "--health")
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
        let actions = ["status", "up", "down", "redo", "create", "validate"]
        guard actions.contains(action) else {
            throw UsageError(command: "strata-data migrate", message: "unknown command '\(action)' (one of: \(actions.joined(separator: ", ")))")
        }
        let folder = options.string("migrations") ?? "Migrations"
        if action == "create" {
            guard options.positional.count == 2 else {
                throw UsageError(command: "strata-data migrate create", message: "expected one NAME, like add_notes")
            }
            let path = try MigrationFiles.create(name: options.positional[1], in: folder)
            Terminal.printOut("created \(path)\n")
            return 0
        }
        let json = options.flag("json")
        let dryRun = options.flag("dry-run")
        let target = try options.int("to", in: 0...Int.max).map(Int64.init)
        let migrations = try Migrator.load(directory: folder)
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let (database, url) = try openDatabase(options, group: group)
        let migrator = try await connect(database, migrations: migrations, url: url, waiting: .seconds(try options.int("wait", in: 0...3600) ?? 0))
        let report: @Sendable (String, Migration, Int) -> Void = { verb, migration, millis in
            if !json { Terminal.printOut("\(verb) \(MigrationFiles.label(migration)) in \(millis) ms\n") }
        }
        switch action {
        case "status":
            let rows = try await migrator.status()
            if json { return printJSON(rows) }
            Terminal.printOut("database: \(url)\n")
            if rows.isEmpty { Terminal.printOut("no migrations\n") }
            for row in rows {
                var state = row.appliedAt.map { "applied \($0) (\(row.durationMilliseconds ?? 0) ms)" } ?? "pending"
                if row.missingFile { state += ", file missing" }
                if row.changed { state += ", file changed since" }
                Terminal.printOut(
                    "\(String(format: "%04lld", row.version))  \(row.name.padding(toLength: 32, withPad: " ", startingAt: 0))  \(state)\n")
            }
            let pending = rows.filter { $0.appliedAt == nil }.count
            Terminal.printOut("\(rows.count - pending) applied, \(pending) pending\n")
        case "validate":
            let problems = try await migrator.validate()
            if json {
                _ = printJSON(problems)
            } else {
                for problem in problems { Terminal.printOut("\(problem)\n") }
                if problems.isEmpty { Terminal.printOut("migrations match the database\n") }
            }
            return problems.isEmpty ? 0 : 1
        case "up" where dryRun:
            return printPlan(try await migrator.planUp(to: target), json: json)
        case "up":
            let applied = try await migrator.up(to: target) { report("applied", $0, $1) }
            if json { return printJSON(applied.map(\.version)) }
            Terminal.printOut(applied.isEmpty ? "database is up to date\n" : "applied \(applied.count) migration(s)\n")
        case "down", "redo":
            let count = try options.positional.count > 1 && action == "down" ? parseCount(options.positional[1]) : 1
            if dryRun {
                return printPlan(try await migrator.planDown(count: count, to: action == "down" ? target : nil), json: json)
            }
            let undone = try await migrator.down(count: count, to: action == "down" ? target : nil) { report("rolled back", $0, $1) }
            if action == "redo", let last = undone.first {
                try await migrator.up(to: last.version) { report("applied", $0, $1) }
            }
            if json { return printJSON(undone.map(\.version)) }
            if undone.isEmpty { Terminal.printOut("nothing to roll back\n") }
        default:
            break
        }
        return 0
    }

    /// The migrator, once the database accepts a connection: tried again
    /// every second for up to `wait` while it refuses (a server still
    /// starting beside this command); any other error ends it at once.
    private static func connect(
        _ database: any SQLDatabase, migrations: [Migration], url: DatabaseURL, waiting wait: Duration
    ) async throws
        -> Migrator
    {
        let deadline = ContinuousClock.now + wait
        var told = false
        while true {
            do {
                return try await Migrator(database: database, migrations: migrations)
            } catch let error as SQLError where error.kind == .unavailable && ContinuousClock.now < deadline {
                if !told { Terminal.printError("waiting up to \(wait) for the database \(url): \(error.message)") }
                told = true
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private static func parseCount(_ text: String) throws -> Int {
        guard let count = Int(text), count > 0 else {
            throw UsageError(command: "strata-data migrate down", message: "N must be a positive number, got '\(text)'")
        }
        return count
    }

    private static func printPlan(_ steps: [Migrator.Step], json: Bool) -> Int32 {
        if json { return printJSON(steps) }
        if steps.isEmpty { Terminal.printOut("-- nothing to do\n") }
        for step in steps { Terminal.printOut("-- \(step.direction) \(step.file)\n\(step.sql)\n\n") }
        return 0
    }

    @discardableResult
    private static func printJSON<T: Encodable>(_ value: T) -> Int32 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        Terminal.printOut(String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self) + "\n")
        return 0
    }

    static func runServe(_ options: ParsedOptions, environment: [String: String]) async throws -> Int32 {
        let logger = try options.logger(label: "data", command: "strata-data serve")
        let address = try SocketAddress(parsing: options.string("listen") ?? "127.0.0.1:7002")
        let secret = try RPCSecret.load(from: environment)
        let tls = try RPCTLS.load(from: environment)
        let loops = try options.int("loops", in: 1...256)
        let migrations = try Migrator.load(directory: options.string("migrations") ?? "Migrations")
        let group = EventLoopGroup(loopCount: loops ?? System.coreCount)
        let (database, url) = try openDatabase(options, group: group)
        let readiness = DataReadiness(database: database, migrations: migrations, url: url)
        let metrics = MetricsRegistry()
        metrics.keep(ProcessMetrics(tier: "data"))
        metrics.keep(EventLoopLag(group: group))
        var health: HealthEndpoint?
        var fields = [("database", url.description)]
        if let text = options.string("health") {
            let endpoint = HealthEndpoint(address: try SocketAddress(parsing: text), group: group, metrics: metrics, readiness: readiness.check)
            fields.append(("health", try endpoint.start(logger: logger).description))
            health = endpoint
            await endpoint.waitUntilReady(logger: logger)
        } else {
            try await refuseUnlessSchemaIsCurrent(database: database, migrations: migrations, url: url)
        }
        let lease = Duration.seconds(try options.int("transaction-lease", in: 1...3600) ?? 10)
        let transactions = Transactions(lease: lease)
        var configuration = RPCServerConfiguration(address: address, secret: secret)
        configuration.tls = tls?.server
        let server = RPCServer(
            configuration: configuration,
            service: DataService.make(
                database: database, logger: logger, transactions: transactions, metrics: metrics,
                slowQuery: try options.threshold("slow-query-ms")),
            group: group, logger: logger)
        metrics.add(server)
        // Idle transactions give their connection back once the lease is over.
        let sweeper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let expired = await transactions.expire()
                if expired > 0 { logger.warning("rolled back idle transactions", ("count", String(expired)), ("lease", "\(lease)")) }
            }
        }
        defer { sweeper.cancel() }
        let bound = try server.start()
        await ShutdownSignal.serve(logger: logger, listen: bound.description, fields, environment: environment)
        health?.beginDraining()
        await server.shutdown(grace: .seconds(10))
        await health?.stop()
        group.shutdown()
        return 0
    }

    /// Without a health port nobody would see why the tier is not ready, so it
    /// refuses at once with the reason.
    private static func refuseUnlessSchemaIsCurrent(database: any SQLDatabase, migrations: [Migration], url: DatabaseURL) async throws {
        let pending: [Migration]
        do {
            pending = try await Migrator(database: database, migrations: migrations).pending()
        } catch let error as SQLError {
            throw StartupError("the database \(url) is not reachable: \(error.message)")
        }
        guard pending.isEmpty else {
            throw MigrationError(
                file: "\(url)", line: nil,
                message: "schema is behind: \(pending.count) migration(s) pending (first: \(pending[0].file)); run 'strata-data migrate up'")
        }
    }
}
