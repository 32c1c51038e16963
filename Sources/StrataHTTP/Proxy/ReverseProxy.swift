import StrataCore
import StrataIO

/// Forwards requests under a path prefix to an upstream group and passes
/// the answers back: the web tier as a reverse proxy and load balancer.
///
/// Mounted by `Gateway`; see `ProxyRoute` for what a route says. The
/// upstream gets the request with hop-by-hop fields removed and
/// `X-Forwarded-For/-Proto/-Host`, `Forwarded` (RFC 7239), `Via` and the
/// request id added; the client gets the answer with hop-by-hop fields
/// removed. A failure answers 502 (unreachable or broken upstream), 503 (no
/// healthy upstream) or 504 (timeout), quoting the request id.
public final class ReverseProxy: HTTPHandler, UpstreamRoute, BodyPassing {
    /// What this proxy forwards, and where.
    public let route: ProxyRoute
    /// The servers it forwards to.
    public let group: UpstreamGroup
    private let trustedProxies: Set<String>
    let logger: Logger

    var prefix: String { route.prefix }

    /// A proxy for `route`; `trustedProxies` are peers whose `X-Forwarded-*` and `Forwarded` fields are kept.
    public init(route: ProxyRoute, trustedProxies: Set<String> = [], logger: Logger) {
        self.route = route
        group = UpstreamGroup(addresses: route.upstreams, balancing: route.balancing, healthCheck: route.healthCheck, settings: route.settings)
        self.trustedProxies = trustedProxies
        self.logger = logger
    }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        // WebSocket needs a tunnel this proxy does not open: say so, rather
        // than answer the handshake with a page the client cannot use.
        if request.headers.containsToken("websocket", in: "Upgrade") {
            return .response(
                .text("501 Not Implemented: WebSocket upgrades are not proxied (request \(request.requestID))\n", status: .notImplemented))
        }
        let target = route.upstreamTarget(for: request.target)
        let codec = HTTPExchangeCodec(request: request, target: target, host: route.host, trusted: trusts(request.remoteAddress))
        return .onLoop { [self] responder in
            GatewayExchange(route: self, request: request, codec: codec, responder: responder).start()
        }
    }

    /// Every body streams to the upstream, chunked ones re-chunked.
    func streamsBody(_ request: HTTPRequest) -> Bool { true }

    var maxBodySize: Int? { route.settings.maxBodySize }

    /// Starts the group's active health checks, if the route asks for them; cancel the task to stop.
    public func startHealthChecks(group loops: EventLoopGroup) -> Task<Void, Never>? {
        guard route.healthCheck != nil else { return nil }
        let loop = loops.next()
        return Task { await group.checkHealth(on: loop, logger: logger) }
    }

    func trusts(_ remoteAddress: String) -> Bool {
        !trustedProxies.isEmpty && trustedProxies.contains(RateLimitMiddleware.host(of: remoteAddress))
    }
}
