import Foundation
import StrataCLI
import StrataCore
import StrataHTTP
import StrataIO
import StrataProtocol
import StrataRPC

/// `strata-app`: the application tier's command line.
public enum AppCommand {
    static let root = CommandSpec(
        name: "strata-app", summary: "The application tier: domain modules behind the internal RPC boundary.",
        subcommands: [
            ("serve", "answer RPC calls from the presentation tier"),
            ("probe", "ask the running application tier whether it is ready (for container health checks)"),
            ("users", "create and manage user accounts"),
        ])

    static let healthOption = OptionSpec(
        "health", env: "STRATA_APP_HEALTH", value: "ADDRESS",
        help:
            "serve /healthz, /readyz and /metrics over HTTP here (host:port) for orchestrators and Prometheus; with it, serve waits for the data tier instead of exiting"
    )

    static let probe = ProbeCommand.spec(tool: "strata-app", address: [healthOption])

    static let serve = CommandSpec(
        name: "strata-app serve", summary: "Answer RPC calls from the presentation tier.",
        options: [
            OptionSpec(
                "listen", env: "STRATA_APP_LISTEN", value: "ADDRESS", default: "127.0.0.1:7001",
                help: "RPC address: host:port (port 0 picks one) or unix:/path"),
            OptionSpec(
                "data", env: "STRATA_DATA_URL", value: "ADDRESS", default: "127.0.0.1:7002",
                help: "the data tier's RPC addresses, comma-separated (host names are re-resolved)"),
            healthOption,
            OptionSpec(
                "data-connections", env: "STRATA_DATA_CONNECTIONS", value: "N",
                help: "RPC connections to each data tier address (default: one per event loop, so handlers call without a thread hand-off)"),
            OptionSpec(
                "templates", env: "STRATA_TEMPLATES_DIR", value: "DIR", help: "folder of templates replacing the modules' templates of the same name"),
            OptionSpec(switch: "dev", env: "STRATA_DEV", help: "development mode: re-read module templates when the web tier checks for changes"),
            OptionSpec(
                switch: "no-signup", env: "STRATA_NO_SIGNUP", help: "visitors cannot create accounts (operators still can: strata-app users create)"),
            OptionSpec(switch: "bench", env: "STRATA_BENCH", help: "also host the benchmark modules (/db, /queries, /fortunes, /updates)"),
            OptionSpec(
                "slow-call-ms", env: "STRATA_SLOW_CALL_MS", value: "MS", default: "500",
                help: "log a warning line for each call that took at least this long (0: every one; -1: none)"),
            .eventLoops,
            .logLevel,
            .logFormat,
        ],
        notes: [
            "environment:\n  STRATA_RPC_SECRET  shared secret the tiers authenticate each other with (required; never a flag)\n  STRATA_RPC_TLS_CERT, STRATA_RPC_TLS_KEY  this tier's certificate and key: RPC over TLS (see ARCHITECTURE.md, \"Trust between the tiers\")\n  STRATA_RPC_TLS_CA  the CA that signed every tier's certificate: peers must present one (mutual TLS)"
        ])

    /// Runs the command line `arguments` (without the program name) with
    /// `modules`, and `benchmarkModules` too under `--bench`; returns the exit status.
    public static func main(
        _ arguments: [String], modules: [any DomainModule], benchmarkModules: [any DomainModule] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async -> Int32 {
        await root.run(
            arguments,
            [
                "serve": { arguments in
                    guard let options = try serve.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try await runServe(options, modules: modules + (options.flag("bench") ? benchmarkModules : []), environment: environment)
                },
                "probe": { arguments in
                    guard let options = try probe.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try ProbeCommand.run(options, tool: "strata-app", address: options.string("health"), option: "--health")
                },
                "users": { arguments in
                    guard let options = try UsersCommand.spec.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try await UsersCommand.run(options, environment: environment)
                },
            ])
    }

    static func runServe(_ options: ParsedOptions, modules: [any DomainModule], environment: [String: String]) async throws -> Int32 {
        let logger = try options.logger(label: "app", command: "strata-app serve")
        let address = try SocketAddress(parsing: options.string("listen") ?? "127.0.0.1:7001")
        let dataAddresses = try SocketAddress.list(parsing: options.string("data") ?? "127.0.0.1:7002")
        let loops = try options.int("loops", in: 1...256)
        let secret = try RPCSecret.load(from: environment)
        let tls = try RPCTLS.load(from: environment)
        let group = EventLoopGroup(loopCount: loops ?? System.coreCount)
        let data = RPCClient(
            addresses: dataAddresses, group: group, callerName: "app", secret: secret,
            connectionsPerEndpoint: try options.int("data-connections", in: 1...64) ?? group.loops.count, tls: tls)
        // Ready while the data tier answers: the app tier serves nothing without it.
        let readiness: @Sendable () async -> Readiness = {
            do throws(RPCError) {
                let _: DataHealth = try await data.call(DataMethod.health, Empty(), timeout: .seconds(2))
                return .ready
            } catch {
                return .notReady("the data tier does not answer: \(error.message)")
            }
        }
        let metrics = MetricsRegistry()
        metrics.keep(ProcessMetrics(tier: "app"))
        metrics.keep(EventLoopLag(group: group))
        metrics.add(data)
        var fields: [(String, String)] = []
        var health: HealthEndpoint?
        if let text = options.string("health") {
            let endpoint = HealthEndpoint(address: try SocketAddress(parsing: text), group: group, metrics: metrics, readiness: readiness)
            fields.append(("health", try endpoint.start(logger: logger).description))
            health = endpoint
            await endpoint.waitUntilReady(logger: logger)
        } else if case .notReady(let reason) = await readiness() {
            throw StartupError("\(reason) (is 'strata-data serve' running there? see --data)")
        }
        logger.info("data tier reachable", ("data", dataAddresses.map(\.description).joined(separator: ",")))
        let runtime = try AppRuntime(
            modules: modules, data: data, logger: logger, overrides: options.string("templates"), reloadTemplates: options.flag("dev"),
            signupEnabled: !options.flag("no-signup"))
        var configuration = RPCServerConfiguration(address: address, secret: secret)
        configuration.tls = tls?.server
        var service = runtime.service
        service.slowCalls = try options.threshold("slow-call-ms").map { ($0, logger) }
        let server = RPCServer(configuration: configuration, service: service, group: group, logger: logger)
        metrics.add(server)
        let bound = try server.start()
        await ShutdownSignal.serve(
            logger: logger, listen: bound.description,
            [("routes", String(runtime.manifest.routes.count)), ("manifest", runtime.manifest.version)] + fields, environment: environment)
        health?.beginDraining()
        await server.shutdown(grace: .seconds(10))
        await health?.stop()
        data.close()
        group.shutdown()
        return 0
    }
}
