import StrataCore
import StrataIO
import Synchronization

/// A tier's liveness and readiness over plain HTTP, on a port of its own, so
/// an orchestrator (compose `healthcheck`, Kubernetes probes, a load
/// balancer) asks without holding the RPC secret.
///
/// - `GET /healthz`: 200 while the process and its event loops run.
/// - `GET /readyz`: 200 when `readiness` says so; 503 with the reason while
///   it does not, and from `beginDraining()` on.
/// - `GET /metrics`: the tier's metrics in Prometheus text format, to whoever
///   reaches the port: it is meant for the internal network only, where
///   orchestrators and Prometheus live (the web tier's public port answers
///   `/metrics` to loopback and `--metrics-allow` only).
/// - `POST /cache/purge?key=/path` (or `key=/prefix*`): drops entries of the
///   web tier's HTTP cache, when it has one (`strata-web cache purge`).
public final class HealthEndpoint: Sendable {
    private let server: HTTPServer
    private let handler: HealthHandler

    /// Creates the endpoint on `address`; `readiness` is asked on every
    /// `/readyz` and must bound its own time (orchestrators time out in seconds).
    public init(
        address: SocketAddress, group: EventLoopGroup, metrics: MetricsRegistry? = nil, cache: HTTPCache? = nil,
        readiness: @escaping @Sendable () async -> Readiness
    ) {
        handler = HealthHandler(readiness: readiness, metrics: metrics, cache: cache)
        var configuration = HTTPServerConfiguration(address: address)
        configuration.idleTimeout = .seconds(10)
        server = HTTPServer(configuration: configuration, group: group, handler: handler)
    }

    /// Starts listening, logs where, and returns the bound address.
    public func start(logger: Logger) throws(SocketError) -> SocketAddress {
        let bound = try server.start()
        logger.info("health checks answered", ("health", bound.description))
        return bound
    }

    /// Returns once the tier is ready, asking every second and logging each
    /// new reason it is not: a tier under an orchestrator waits for what it
    /// needs (its database, a migration job, the tier below), visibly not
    /// ready, instead of exiting into a restart loop.
    public func waitUntilReady(logger: Logger) async {
        var last: String?
        while case .notReady(let reason) = await handler.readiness() {
            if reason != last { logger.warning("not serving yet", ("reason", reason)) }
            last = reason
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// From now on `/readyz` answers 503: the tier is finishing what it holds
    /// and takes nothing new.
    public func beginDraining() { handler.draining.store(true, ordering: .releasing) }

    /// Stops answering.
    public func stop() async { await server.shutdown(grace: .seconds(1)) }
}

private final class HealthHandler: HTTPHandler {
    let readiness: @Sendable () async -> Readiness
    let metrics: MetricsRegistry?
    let cache: HTTPCache?
    let draining = Atomic<Bool>(false)

    /// Where `strata-web cache purge` posts.
    static let purgePath = "/cache/purge"

    init(readiness: @escaping @Sendable () async -> Readiness, metrics: MetricsRegistry?, cache: HTTPCache?) {
        self.readiness = readiness
        self.metrics = metrics
        self.cache = cache
    }

    func handle(_ request: HTTPRequest) -> HTTPOutcome {
        if request.path == Self.purgePath, request.method == .post {
            guard let cache else { return .response(Self.answer("this tier keeps no HTTP cache (--cache)\n", .notFound)) }
            guard let key = request.queryParameters["key"], key.hasPrefix("/") else {
                return .response(Self.answer("key=/path or key=/prefix* is required\n", .badRequest))
            }
            return .response(Self.answer("purged \(cache.purge(key)) entries\n", .ok))
        }
        guard request.method == .get || request.method == .head else {
            return .response(Self.answer("only GET and HEAD are answered here\n", .methodNotAllowed))
        }
        switch request.path {
        case "/healthz":
            return .response(Self.answer("ok\n", .ok))
        case "/readyz":
            if draining.load(ordering: .acquiring) { return .response(Readiness.notReady("draining").response) }
            let readiness = self.readiness
            return .later { await readiness().response }
        case MetricsEndpoint.path where metrics != nil:
            return .response(MetricsEndpoint.scrape(metrics!))
        default:
            return .response(Self.answer("not found: this port answers /healthz, /readyz and /metrics\n", .notFound))
        }
    }

    static func answer(_ text: String, _ status: HTTPStatus) -> HTTPResponse {
        var response = HTTPResponse.text(text, status: status)
        response.headers.add("Cache-Control", "no-store")
        if status == .methodNotAllowed { response.headers.add("Allow", "GET, HEAD") }
        return response
    }
}
