import Foundation
import StrataCLI
import StrataCore
import StrataHTTP
import StrataIO
import StrataProtocol
import StrataRPC
import StrataTemplates
import Synchronization

/// `strata-web`: the presentation tier's command line.
public enum WebCommand {
    static let root = CommandSpec(
        name: "strata-web", summary: "The presentation tier: HTTP/1.1 for browsers, pages rendered from the application tier's routes.",
        subcommands: [
            ("serve", "serve HTTP"),
            ("probe", "ask the running web tier whether it is ready (for container health checks)"),
            ("cache purge", "drop entries from the running web tier's HTTP cache"),
            ("template render", "print a template's rendering with JSON data"),
            ("template check", "compile a folder of templates and report every error"),
        ])

    static let hostOption = OptionSpec(
        "host", env: "STRATA_WEB_HOST", value: "HOST", default: "127.0.0.1", help: "address to listen on (0.0.0.0 for all)")
    static let portOption = OptionSpec("port", env: "STRATA_WEB_PORT", value: "N", default: "8080", help: "HTTP port (0 picks a free one)")

    static let healthOption = OptionSpec(
        "health", env: "STRATA_WEB_HEALTH", value: "ADDRESS",
        help: "also serve /healthz, /readyz and /metrics here (host:port), for orchestrators and Prometheus on the internal network")

    /// Asks --health's /readyz, else the HTTP port's (a tier serving only HTTPS needs --health to be probed).
    static let probe = ProbeCommand.spec(tool: "strata-web", address: [hostOption, portOption, healthOption])

    static let serve = CommandSpec(
        name: "strata-web serve", summary: "Serve HTTP: static assets, and the pages and forms the application tier declares.",
        options: [
            hostOption, portOption,
            OptionSpec(
                "app", env: "STRATA_APP_URL", value: "ADDRESS", default: "127.0.0.1:7001",
                help: "the application tier's RPC addresses, comma-separated (host names are re-resolved)"),
            OptionSpec(
                "app-connections", env: "STRATA_APP_CONNECTIONS", value: "N",
                help: "RPC connections to each app tier address (default: one per event loop, so handlers call without a thread hand-off)"),
            OptionSpec(
                "discovery-interval", env: "STRATA_DISCOVERY_INTERVAL", value: "SECONDS", default: "2",
                help: "how often to check the app tier for new routes and templates"),
            OptionSpec("public", env: "STRATA_PUBLIC_DIR", value: "DIR", help: "folder served under /static/ (default: the bundled assets)"),
            OptionSpec("max-body", env: "STRATA_MAX_BODY_BYTES", value: "BYTES", default: "1048576", help: "largest request body accepted"),
            OptionSpec(
                "rate-limit", env: "STRATA_RATE_LIMIT", value: "N", default: "50",
                help:
                    "requests per second per client to pages, forms and API routes (bursts of twice that; static assets, /healthz and /readyz are never limited); 0 turns the limit off"
            ),
            OptionSpec(
                "auth-rate-limit", env: "STRATA_AUTH_RATE_LIMIT", value: "N", default: "1",
                help:
                    "sign-in, sign-up and password-change attempts (POST) per second per client (bursts of ten times that; the pages showing the forms count under --rate-limit); 0 turns it off"
            ),
            OptionSpec(
                "compress-min", env: "STRATA_COMPRESS_MIN_BYTES", value: "BYTES", default: "1024",
                help: "gzip dynamic HTML, JSON and text responses of at least this size for clients that accept it; 0 turns it off"),
            OptionSpec(
                "proxy", env: "STRATA_PROXY", value: "ROUTES",
                help:
                    "reverse-proxy routes, space-separated: PREFIX=URL[,URL...][;option=value...], e.g. /legacy/=http://127.0.0.1:8001,http://127.0.0.1:8002 (see README, \"Gateway\")"
            ),
            OptionSpec(
                "fastcgi", env: "STRATA_FASTCGI", value: "ROUTES",
                help:
                    "FastCGI routes, space-separated: PREFIX=ADDRESS[,ADDRESS...];root=DIR or ;script=FILE, e.g. /php/=unix:/run/php/php8.2-fpm.sock;root=/srv/php"
            ),
            OptionSpec(
                "cgi", env: "STRATA_CGI", value: "ROUTES",
                help: "CGI script folders, space-separated: PREFIX=DIR[;timeout=SECONDS], e.g. /cgi-bin/=/srv/cgi-bin"),
            OptionSpec(
                "gateway", env: "STRATA_GATEWAY_FILE", value: "FILE",
                help: "a file of gateway routes, one per line: proxy|fastcgi|cgi ROUTE (file:line named on errors)"),
            OptionSpec(
                "cache", env: "STRATA_CACHE_BYTES", value: "BYTES", default: "0",
                help:
                    "keep a shared HTTP cache (RFC 9111) of this many bytes for proxied, FastCGI and CGI answers and public pages (suffixes k, m, g); 0: none"
            ),
            OptionSpec(
                "cache-max-entry", env: "STRATA_CACHE_MAX_ENTRY_BYTES", value: "BYTES", default: "1m",
                help: "the largest single answer the cache keeps"),
            OptionSpec(
                "trusted-proxies", env: "STRATA_TRUSTED_PROXIES", value: "ADDRESSES",
                help: "proxies whose X-Forwarded-For names the client, comma-separated"),
            OptionSpec(
                "cors-origins", env: "STRATA_CORS_ORIGINS", value: "ORIGINS",
                help: "other sites whose pages may call the /api/ routes, comma-separated (https://app.example.com)"),
            OptionSpec(
                "idle-timeout", env: "STRATA_HTTP_IDLE_TIMEOUT", value: "SECONDS", default: "60", help: "close keep-alive connections idle this long"),
            OptionSpec(
                "head-timeout", env: "STRATA_HTTP_HEAD_TIMEOUT", value: "SECONDS", default: "10", help: "time allowed to send a whole request head"),
            OptionSpec(
                "body-timeout", env: "STRATA_HTTP_BODY_TIMEOUT", value: "SECONDS", default: "30",
                help: "longest pause allowed while a request body arrives"),
            OptionSpec(
                "max-connections", env: "STRATA_HTTP_MAX_CONNECTIONS", value: "N", default: "16384",
                help: "open connections above which new ones get 503"),
            OptionSpec(
                "handler-executor", env: "STRATA_HTTP_EXECUTOR", value: "loop|global", default: "loop",
                help: "where page and form handlers run: the connection's event loop or Swift's global pool"),
            OptionSpec(
                "tls-cert", env: "STRATA_TLS_CERT", value: "PEM",
                help: "serve HTTPS with this certificate chain; several, comma-separated, are chosen by server name (SNI), the first by default"),
            OptionSpec("tls-key", env: "STRATA_TLS_KEY", value: "PEM", help: "the private key of each --tls-cert, in the same order"),
            OptionSpec(
                "tls-ocsp", env: "STRATA_TLS_OCSP", value: "DER",
                help: "OCSP responses to staple, one per --tls-cert in the same order (an empty entry for none)"),
            OptionSpec(
                "tls-reload-interval", env: "STRATA_TLS_RELOAD_INTERVAL", value: "SECONDS", default: "60",
                help: "how often to check the certificate files and reload them when they changed (SIGHUP reloads at once); 0: on SIGHUP only"),
            OptionSpec(
                "redirect-port", env: "STRATA_HTTP_REDIRECT_PORT", value: "N",
                help: "with --tls-cert: also serve plain HTTP on this port, redirecting every request to HTTPS (308)"),
            OptionSpec(
                "hsts-max-age", env: "STRATA_HSTS_MAX_AGE", value: "SECONDS", default: "63072000",
                help: "Strict-Transport-Security max-age on HTTPS answers (never sent for localhost); 0 turns it off"),
            healthOption,
            OptionSpec(
                "metrics-allow", env: "STRATA_METRICS_ALLOW", value: "ADDRESSES",
                help: "addresses and CIDR ranges, comma-separated, that may GET /metrics on the HTTP port besides loopback (others get 404)"),
            OptionSpec(switch: "no-metrics", env: "STRATA_NO_METRICS", help: "keep no request metrics and answer no /metrics"),
            OptionSpec(switch: "bench", env: "STRATA_BENCH", help: "also answer the benchmark endpoints /plaintext and /json"),
            OptionSpec(
                "slow-request-ms", env: "STRATA_SLOW_REQUEST_MS", value: "MS", default: "1000",
                help: "log a warning line for each request that took at least this long (0: every one; -1: none)"),
            .eventLoops,
            .logLevel,
            .logFormat,
        ],
        notes: [
            "environment:\n  STRATA_RPC_SECRET  shared secret the tiers authenticate each other with (required; never a flag)\n  STRATA_RPC_TLS_CERT, STRATA_RPC_TLS_KEY  this tier's certificate and key: RPC over TLS (see ARCHITECTURE.md, \"Trust between the tiers\")\n  STRATA_RPC_TLS_CA  the CA that signed every tier's certificate: peers must present one (mutual TLS)"
        ])

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
                    if let health = options.string("health") {
                        return try ProbeCommand.run(options, tool: "strata-web", address: health, option: "--health")
                    }
                    let address = "\(options.string("host") ?? "127.0.0.1"):\(options.string("port") ?? "8080")"
                    return try ProbeCommand.run(options, tool: "strata-web", address: address, option: "--host and --port")
                },
                "template": { arguments in await TemplateCommand.run(arguments, environment: environment) },
                "cache": { arguments in await CacheCommand.run(arguments, environment: environment) },
            ])
    }

    /// The web tier's bundled assets and templates.
    static var resources: URL {
        get throws {
            guard let url = Bundle.module.resourceURL else { throw StartupError("the web tier's bundled resources are missing") }
            return url
        }
    }

    static func runServe(_ options: ParsedOptions, environment: [String: String]) async throws -> Int32 {
        let logger = try options.logger(label: "web", command: "strata-web serve")
        let port = try options.int("port", in: 0...65535) ?? 8080
        let address = try SocketAddress(parsing: "\(options.string("host") ?? "127.0.0.1"):\(port)")
        let appAddresses = try SocketAddress.list(parsing: options.string("app") ?? "127.0.0.1:7001")
        let loops = try options.int("loops", in: 1...256)
        var configuration = HTTPServerConfiguration(address: address)
        configuration.limits.maxBodySize = try options.int("max-body", in: 0...(1 << 30)) ?? (1 << 20)
        configuration.idleTimeout = .seconds(try options.int("idle-timeout", in: 1...86_400) ?? 60)
        configuration.headTimeout = .seconds(try options.int("head-timeout", in: 1...3_600) ?? 10)
        configuration.bodyTimeout = .seconds(try options.int("body-timeout", in: 1...3_600) ?? 30)
        configuration.maxConnections = try options.int("max-connections", in: 1...1_000_000) ?? 16_384
        guard let executor = HTTPServerConfiguration.HandlerExecutor(rawValue: options.string("handler-executor") ?? "loop") else {
            throw UsageError(command: "strata-web serve", message: "--handler-executor must be 'loop' or 'global'")
        }
        configuration.handlerExecutor = executor
        let certificates = try loadCertificates(options)
        configuration.tls = certificates

        let resources = try resources
        let publicDirectory = options.string("public") ?? resources.appendingPathComponent("Public").path
        let staticFiles = try StaticFiles(root: publicDirectory)
        let ownTemplates = try TemplateLibrary.sources(inDirectory: resources.appendingPathComponent("Templates").path)

        let secret = try RPCSecret.load(from: environment)
        let group = EventLoopGroup(loopCount: loops ?? System.coreCount)
        let app = RPCClient(
            addresses: appAddresses, group: group, callerName: "web", secret: secret,
            connectionsPerEndpoint: try options.int("app-connections", in: 1...64) ?? group.loops.count,
            tls: try RPCTLS.load(from: environment))
        let discoveryInterval = Duration.seconds(try options.int("discovery-interval", in: 1...3_600) ?? 2)
        var manifest: RouteManifest?
        do {
            manifest = try await app.call(RouteManifest.method, Empty(), timeout: .seconds(5), idempotent: true)
        } catch {
            // Serve static files and a 503 for pages meanwhile; discovery keeps looking.
            logger.warning(
                "the application tier is not reachable yet; pages answer 503 until it is",
                ("app", appAddresses.map(\.description).joined(separator: ",")), ("error", error.message))
        }
        let proxies = Set((options.string("trusted-proxies") ?? "").split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty })
        // The forms the app tier marks attempt-limited; the application keeps them current.
        let attemptPaths = AttemptPaths()
        let application = try WebApplication(
            manifest: manifest, app: app, staticFiles: staticFiles, ownTemplates: ownTemplates, logger: logger,
            secret: secret, trustedProxies: proxies, attemptPaths: attemptPaths, group: group, cors: try corsPolicy(options))
        let discovery = Task { await application.discover(every: discoveryInterval) }
        let metrics = MetricsRegistry()
        metrics.keep(ProcessMetrics(tier: "web"))
        metrics.keep(EventLoopLag(group: group))
        metrics.add(app)
        var middleware: [any HTTPMiddleware] = []
        if !options.flag("no-metrics") {
            // First, so it sees every answer, the early ones too; it answers /metrics as well.
            let requests = HTTPMetrics(endpoint: MetricsEndpoint(registry: metrics, allowed: try metricsAllowList(options)))
            metrics.keep(requests)
            middleware.append(requests)
        }
        middleware += [
            RequestIDMiddleware(), AccessLogMiddleware(logger: logger, slowRequest: try options.threshold("slow-request-ms")),
            SecurityHeadersMiddleware(),
        ]
        // Before anything that may answer early, so every HTTPS answer carries it.
        let hstsMaxAge = try options.int("hsts-max-age", in: 0...(1 << 31)) ?? 63_072_000
        if certificates != nil && hstsMaxAge > 0 { middleware.append(StrictTransportSecurityMiddleware(maxAge: hstsMaxAge)) }
        middleware.append(HealthMiddleware())
        // The benchmark endpoints go through the middleware users run, but
        // outside the per-client limit: a load generator is one client.
        let bench = options.flag("bench")
        if bench { middleware.append(BenchmarkEndpoints()) }
        let rate = try options.int("rate-limit", in: 0...1_000_000) ?? 50
        let authRate = try options.int("auth-rate-limit", in: 0...1_000_000) ?? 1
        if rate > 0 || authRate > 0 {
            middleware.append(
                RateLimitMiddleware(
                    general: rate > 0 ? .init(rate: Double(rate), burst: Double(rate * 2)) : nil,
                    attempts: authRate > 0 ? .init(rate: Double(authRate), burst: Double(authRate * 10)) : nil,
                    attemptPaths: attemptPaths,
                    exempt: RateLimitMiddleware.defaultExempt + (bench ? BenchmarkEndpoints.paths : []),
                    trustedProxies: proxies))
        }
        let compressAbove = try options.int("compress-min", in: 0...(1 << 30)) ?? 1024
        if compressAbove > 0 { middleware.append(CompressionMiddleware(minimumSize: compressAbove)) }
        let mounts = try gatewayMounts(options, trustedProxies: proxies, logger: logger)
        let healthChecks = mounts.compactMap { ($0.handler as? ReverseProxy)?.startHealthChecks(group: group) }
        for case let fastCGI as FastCGIHandler in mounts.map(\.handler) { await fastCGI.discover(loops: group) }
        let gateway = mounts.isEmpty ? nil : Gateway(mounts: mounts, fallback: application)
        // Bodies for other servers (these routes, and the modules' proxy routes)
        // pass through as they arrive, under the route's own limit.
        configuration.limits.streamsBody = { request in gateway?.streamsBody(request) ?? false || application.streamsBody(request) }
        configuration.limits.bodyLimit = { request in gateway?.bodyLimit(request) ?? application.bodyLimit(request) }
        var routes: any HTTPHandler = gateway ?? application
        let cache = try httpCache(options)
        if let cache { routes = CachingHandler(cache: cache, wrapping: routes) }
        let server = HTTPServer(configuration: configuration, group: group, handler: MiddlewareChain(middleware, handler: routes))
        metrics.add(server)
        let bound = try server.start()
        let redirect = try startRedirect(options, httpsPort: bound.port ?? 443, group: group, logger: logger, enabled: certificates != nil)
        let reloader = try certificates.map { certificates in
            let seconds = try options.int("tls-reload-interval", in: 0...86_400) ?? 60
            return CertificateReloader(certificates: certificates, logger: logger, interval: seconds > 0 ? .seconds(seconds) : nil)
        }
        reloader?.start()
        var fields = [("url", "\(certificates == nil ? "http" : "https")://\(bound)/"), ("routes", String(manifest?.routes.count ?? 0))]
        if let reloader { fields.append(("fingerprints", reloader.fingerprints)) }
        if let redirect { fields.append(("redirect", redirect.description)) }
        var health: HealthEndpoint?
        if let text = options.string("health") {
            let endpoint = HealthEndpoint(address: try SocketAddress(parsing: text), group: group, metrics: metrics, cache: cache) {
                application.readiness
            }
            fields.append(("health", try endpoint.start(logger: logger).description))
            health = endpoint
        }
        await ShutdownSignal.serve(
            logger: logger, listen: bound.description, fields + [("manifest", manifest?.version ?? "none yet")], environment: environment)
        application.beginDraining()
        application.stop()
        health?.beginDraining()
        reloader?.stop()
        discovery.cancel()
        for check in healthChecks { check.cancel() }
        await server.shutdown(grace: .seconds(10))
        await health?.stop()
        app.close()
        group.shutdown()
        return 0
    }

    /// The `--tls-*` pairs, loaded, or nil for plain HTTP.
    static func loadCertificates(_ options: ParsedOptions) throws -> TLSServerCertificates? {
        func list(_ name: String) -> [String] {
            (options.string(name) ?? "").split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed() }
        }
        let certificates = list("tls-cert").filter { !$0.isEmpty }
        let keys = list("tls-key").filter { !$0.isEmpty }
        guard !certificates.isEmpty || !keys.isEmpty else { return nil }
        guard certificates.count == keys.count else {
            throw UsageError(
                command: "strata-web serve", message: "--tls-cert names \(certificates.count) certificates but --tls-key \(keys.count) keys")
        }
        let ocsp = list("tls-ocsp")
        let pairs = certificates.indices.map { index in
            TLSServerCertificates.Pair(
                certificate: certificates[index], key: keys[index],
                ocspResponse: index < ocsp.count && !ocsp[index].isEmpty ? ocsp[index] : nil)
        }
        do {
            return try TLSServerCertificates(pairs)
        } catch {
            throw StartupError("HTTPS: \(error.message)")
        }
    }

    /// The gateway routes of `--gateway` and `--proxy`, ready to mount.
    static func gatewayMounts(_ options: ParsedOptions, trustedProxies: Set<String>, logger: Logger) throws -> [Gateway.Mount] {
        var gateway = GatewayConfiguration()
        do throws(GatewayConfigurationError) {
            if let file = options.string("gateway") { try gateway.load(file: file) }
            for kind in ["proxy", "fastcgi", "cgi"] {
                if let routes = options.string(kind) { try gateway.add(kind, routes: routes) }
            }
        } catch {
            throw UsageError(command: "strata-web serve", message: error.message)
        }
        return gateway.handlers(trustedProxies: trustedProxies, logger: logger)
    }

    /// The HTTP cache `--cache` asks for, or nil.
    static func httpCache(_ options: ParsedOptions) throws -> HTTPCache? {
        func bytes(_ name: String, default fallback: Int) throws -> Int {
            guard let text = options.string(name), !text.isEmpty else { return fallback }
            guard let count = ByteCount.parse(text) else {
                throw UsageError(command: "strata-web serve", message: "--\(name) \(text): expected a number of bytes, optionally with k, m or g")
            }
            return count
        }
        let capacity = try bytes("cache", default: 0)
        guard capacity > 0 else { return nil }
        return HTTPCache(capacity: capacity, maxEntrySize: try bytes("cache-max-entry", default: 1 << 20))
    }

    /// `--cors-origins`, read (nil when none are listed).
    static func corsPolicy(_ options: ParsedOptions) throws -> CORSPolicy? {
        guard let text = options.string("cors-origins"), !text.trimmed().isEmpty else { return nil }
        do throws(CORSPolicyError) {
            return try CORSPolicy(parsing: text)
        } catch {
            throw UsageError(command: "strata-web serve", message: error.description)
        }
    }

    /// `--metrics-allow`, read.
    static func metricsAllowList(_ options: ParsedOptions) throws -> [AddressRange] {
        let entries = (options.string("metrics-allow") ?? "").split(separator: ",").map { $0.trimmed() }.filter { !$0.isEmpty }
        return try entries.map { entry in
            do { return try AddressRange(parsing: entry) } catch {
                throw UsageError(command: "strata-web serve", message: "--metrics-allow \(error)")
            }
        }
    }

    /// The plain-HTTP listener that sends every request to HTTPS, when asked for.
    static func startRedirect(
        _ options: ParsedOptions, httpsPort: Int, group: EventLoopGroup, logger: Logger, enabled: Bool
    ) throws -> SocketAddress? {
        guard let port = try options.int("redirect-port", in: 0...65535) else { return nil }
        guard enabled else { throw UsageError(command: "strata-web serve", message: "--redirect-port needs --tls-cert and --tls-key") }
        let address = try SocketAddress(parsing: "\(options.string("host") ?? "127.0.0.1"):\(port)")
        let chain = MiddlewareChain(
            [RequestIDMiddleware(), AccessLogMiddleware(logger: logger, slowRequest: try options.threshold("slow-request-ms")), HealthMiddleware()],
            handler: HTTPSRedirect(httpsPort: httpsPort))
        // Lives as long as the process: it holds no state worth draining.
        let server = HTTPServer(configuration: HTTPServerConfiguration(address: address), group: group, handler: chain)
        redirectServers.withLock { $0.append(server) }
        return try server.start()
    }

    private static let redirectServers = Mutex<[HTTPServer]>([])
}
