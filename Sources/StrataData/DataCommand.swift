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
            ("migrate lint", "check migration files for what locks or breaks production"),
            ("migrate plan", "what up would run, in order, with lint results"),
            ("migrate baseline VERSION", "adopt an existing database: record migrations up to VERSION as applied"),
        ])

    static let serve = CommandSpec(
        name: "strata-data serve", summary: "Answer SQL requests from the application tier over RPC.",
        options: [
            OptionSpec(
                "listen", env: "STRATA_DATA_LISTEN", value: "ADDRESS", default: "127.0.0.1:7002",
                help: "RPC address: host:port (port 0 picks one) or unix:/path"),
            databaseOption, migrationsOption, healthOption,
            OptionSpec("pool", env: "STRATA_DATABASE_POOL", value: "N", default: "10", help: "PostgreSQL connections at most (per server)"),
            OptionSpec(
                "replicas", env: "STRATA_DATABASE_REPLICAS", value: "URLS",
                help:
                    "PostgreSQL streaming replicas for plain reads, comma-separated postgres:// URLs (each may list hosts, with target_session_attrs=standby or prefer-standby)"
            ),
            OptionSpec(
                "replica-max-lag", env: "STRATA_REPLICA_MAX_LAG", value: "SECONDS", default: "5",
                help: "a replica further behind the primary than this serves no reads"),
            OptionSpec(
                "prepared-statements", env: "STRATA_DATABASE_PREPARED_STATEMENTS", value: "on|off", default: "on",
                help: "PostgreSQL: prepare repeated statements; off behind PgBouncer in transaction pooling mode"),
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
                    guard let options = try MigrateCommand.spec.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    guard !options.positional.isEmpty else {
                        Terminal.printOut(MigrateCommand.spec.help)
                        return 64
                    }
                    return try await MigrateCommand.run(options)
                },
            ])
    }

    /// Opens the database the options name (an SQLite file gets its folder
    /// created); PostgreSQL connections live on `group`'s loops.
    static func openDatabase(
        _ options: ParsedOptions, group: EventLoopGroup, notices: (@Sendable (String) -> Void)? = nil
    ) throws -> (any SQLDatabase, DatabaseURL) {
        let url = try DatabaseURL(parsing: options.string("database") ?? ".strata/strata.db")
        switch url {
        case .sqlite(let path):
            if options.string("replicas") != nil {
                throw UsageError(command: "strata-data", message: "--replicas needs a postgres:// --database (SQLite has no replicas)")
            }
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            return (try SQLiteDatabase(path: path), url)
        case .postgres(let text):
            let prepared = options.string("prepared-statements") ?? "on"
            guard ["on", "off"].contains(prepared) else {
                throw UsageError(command: "strata-data", message: "--prepared-statements must be on or off, got '\(prepared)'")
            }
            let pool = try options.int("pool", in: 1...1000) ?? 10
            func open(_ url: String) -> PostgresDatabase {
                PostgresDatabase(url: url, group: group, maxConnections: pool, notices: notices, preparedStatements: prepared == "on")
            }
            let replicas = try options.string("replicas").map { try DatabaseURL.replicas(parsing: $0) } ?? []
            guard !replicas.isEmpty else { return (open(text), url) }
            let lag = try options.int("replica-max-lag", in: 1...3600) ?? 5
            return (ReplicatedDatabase(primary: open(text), replicas: replicas.map(open), maxLag: .seconds(lag)), url)
        }
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
            pending = try await Migrator.pending(in: database, migrations: migrations)
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
