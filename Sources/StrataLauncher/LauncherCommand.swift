import Foundation
import StrataCLI
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// `strata`: the developer and operator launcher.
public enum LauncherCommand {
    static let root = CommandSpec(
        name: "strata", summary: "The Strata launcher.",
        subcommands: [
            ("up", "run migrations and the whole stack on this machine (SQLite by default)"),
            ("rpc", "call a method on a running tier (health.check, rpc.methods, ...)"),
            ("tls", "make a CA and certificates for TLS between the tiers"),
        ])

    static let up = CommandSpec(
        name: "strata up",
        summary: "Run migrations, then the data, app and web tiers as child processes on loopback. Ctrl-C stops them all.",
        options: [
            OptionSpec("port", env: "STRATA_WEB_PORT", value: "N", default: "8080", help: "HTTP port of the web tier (0 picks a free one)"),
            OptionSpec("host", env: "STRATA_WEB_HOST", value: "HOST", default: "127.0.0.1", help: "address the web tier listens on"),
            OptionSpec(
                "database", env: "STRATA_DATABASE_URL", value: "URL", default: ".strata/strata.db",
                help: "database: an SQLite file path or sqlite:PATH"),
            OptionSpec("migrations", env: "STRATA_MIGRATIONS_DIR", value: "DIR", default: "Migrations", help: "folder of migration files"),
            OptionSpec(
                "app-listen", env: "STRATA_APP_LISTEN", value: "ADDRESS", default: "127.0.0.1:0",
                help: "RPC address of the app tier (port 0 picks one)"),
            OptionSpec(
                "data-listen", env: "STRATA_DATA_LISTEN", value: "ADDRESS", default: "127.0.0.1:0",
                help: "RPC address of the data tier (port 0 picks one)"),
            OptionSpec(
                switch: "https", env: "STRATA_HTTPS",
                help: "serve HTTPS on the web port with a development certificate for localhost (made once, kept in .strata/tls/)"),
            OptionSpec(
                switch: "bench", env: "STRATA_BENCH",
                help:
                    "benchmark mode: the TechEmpower endpoints (/plaintext, /json, /db, /queries, /fortunes, /updates), outside the per-client rate limit"
            ),
            .logLevel,
        ],
        notes: ["environment:\n  STRATA_RPC_SECRET  secret the tiers authenticate each other with (default: a new random one per run)"])

    /// Runs the command line `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        await root.run(
            arguments,
            [
                "up": { arguments in
                    guard let options = try up.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try await runUp(options, environment: environment)
                },
                "rpc": { arguments in
                    await RPCCallCommand.group.run(arguments, ["call": { try await RPCCallCommand.run($0, environment: environment) }])
                },
                "tls": { arguments in
                    await TLSInitCommand.group.run(arguments, ["init": { try await TLSInitCommand.run($0, environment: environment) }])
                },
            ])
    }

    static func runUp(_ options: ParsedOptions, environment: [String: String]) async throws -> Int32 {
        let port = try options.int("port", in: 0...65535) ?? 8080
        let executables = try executablesFolder()
        let migrations = options.string("migrations") ?? "Migrations"
        guard FileManager.default.fileExists(atPath: migrations) else {
            throw StartupError("no migrations folder at '\(migrations)': run 'strata up' from the project folder or pass --migrations")
        }
        let settings = Stack.Settings(
            executables: executables, database: options.string("database") ?? ".strata/strata.db", migrations: migrations,
            webHost: options.string("host") ?? "127.0.0.1", webPort: port,
            webTLS: options.flag("https") ? try DevelopmentCertificate.ensure(in: ".strata/tls") : nil,
            appListen: options.string("app-listen") ?? "127.0.0.1:0", dataListen: options.string("data-listen") ?? "127.0.0.1:0",
            logLevel: options.string("log-level") ?? "info",
            environment: benchmarkEnvironment(environmentWithSecret(environment), options.flag("bench")))
        // The stack waits on semaphores for its children; give it a thread of
        // its own rather than block one of the few cooperative-pool threads.
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: Stack(settings: settings).run()) }
        }
    }

    /// The children's environment: the caller's, with an RPC secret generated
    /// for this run unless one was given.
    static func environmentWithSecret(_ environment: [String: String]) -> [String: String] {
        var environment = environment
        if (environment["STRATA_RPC_SECRET"] ?? "").isEmpty {
            environment["STRATA_RPC_SECRET"] = Digest.hex(Digest.randomBytes(32))
        }
        return environment
    }

    /// In benchmark mode every tier gets `STRATA_BENCH=1`: the web tier then
    /// answers the benchmark endpoints, outside the per-client limit (a load
    /// generator is one client); every other default stays as users run it.
    static func benchmarkEnvironment(_ environment: [String: String], _ bench: Bool) -> [String: String] {
        guard bench else { return environment }
        var environment = environment
        environment["STRATA_BENCH"] = "1"
        return environment
    }

    /// The folder holding this executable, where the tier executables are built next to it.
    static func executablesFolder() throws -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let folder = (me as NSString).deletingLastPathComponent
        for tier in ["strata-data", "strata-app", "strata-web"] where !FileManager.default.isExecutableFile(atPath: folder + "/" + tier) {
            throw StartupError("cannot find \(tier) next to \(me); build every product with 'swift build' (or use 'swift run strata up')")
        }
        return folder
    }
}
