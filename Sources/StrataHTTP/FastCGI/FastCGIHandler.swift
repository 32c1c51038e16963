import StrataCore
import StrataIO
import Synchronization

/// Hands requests under a prefix to FastCGI responders (php-fpm and the
/// like), with the same pooling, balancing, ejection and 502/503/504
/// answers as a reverse-proxy route. See `FastCGIRoute`.
public final class FastCGIHandler: HTTPHandler, UpstreamRoute, CGIAnswering, BodyPassing {
    public let route: FastCGIRoute
    public let group: UpstreamGroup
    let logger: Logger
    /// Whether connections are kept between requests: only once every
    /// responder said it takes at least one per event loop (`discover`).
    private let keepConnections = Atomic<Bool>(false)

    var prefix: String { route.prefix }

    public init(route: FastCGIRoute, logger: Logger) {
        self.route = route
        group = UpstreamGroup(addresses: route.responders, balancing: route.balancing, settings: route.settings)
        self.logger = logger
    }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        guard let script = route.script(for: request.path) else {
            var response = HTTPResponse.text("404 Not Found: there is no script at this address\n", status: .notFound)
            response.route = route.prefix
            return .response(response)
        }
        let codec = FastCGIExchangeCodec(
            params: CGIEnvironment.variables(for: request, script: script, fastCGI: true), body: request.body,
            streamsBody: request.bodyStream != nil, keepConnection: keepConnections.load(ordering: .relaxed))
        return .onLoop { [self] responder in
            GatewayExchange(route: self, request: request, codec: codec, responder: responder).start()
        }
    }

    /// Bodies of a declared length stream to the responder; a chunked one is
    /// read whole first, since CGI's CONTENT_LENGTH must be known up front.
    func streamsBody(_ request: HTTPRequest) -> Bool { !request.headers.contains("Transfer-Encoding") }

    var maxBodySize: Int? { route.settings.maxBodySize }

    /// Asks each responder what it takes (FCGI_GET_VALUES). A responder
    /// works one connection per worker, and a kept idle connection holds its
    /// worker: so connections are kept only when the number of workers is
    /// known (FCGI_MAX_CONNS, or the route's `workers=`), and each event
    /// loop may then open its share of it. Otherwise, or with fewer workers
    /// than loops, each request closes its connection and frees the worker
    /// for the next waiting one. FCGI_MPXS_CONNS is logged, not used:
    /// requests are never multiplexed on one connection.
    public func discover(loops: EventLoopGroup) async {
        var query: [UInt8] = []
        let names = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]
        FastCGIRecord(kind: .getValues, requestID: 0, content: FastCGIRecord.encodePairs(names.map { ($0, "") })).write(to: &query)
        var keep = true
        for upstream in group.upstreams {
            let values = await UpstreamFetch.run(query, to: upstream.address, on: loops.next(), timeout: .seconds(2)) { buffer -> [String: String]? in
                guard let record = try FastCGIRecord.read(from: &buffer) else { return nil }
                guard record.kind == .getValuesResult else { throw UpstreamError(.malformed, "not a GET_VALUES_RESULT") }
                return Dictionary(try FastCGIRecord.decodePairs(record.content), uniquingKeysWith: { first, _ in first })
            }
            guard let maxConnections = values?["FCGI_MAX_CONNS"].flatMap({ Int($0) }) ?? route.workers, maxConnections >= loops.loops.count else {
                keep = false
                logger.warning(
                    "FastCGI responder's worker count unknown or below one per event loop; connections are not kept (give workers=N, php-fpm's pm.max_children)",
                    ("route", prefix), ("responder", upstream.address.description), ("max_conns", values?["FCGI_MAX_CONNS"] ?? "none"))
                continue
            }
            let perLoop = min(maxConnections / loops.loops.count, route.settings.maxConnectionsPerLoop)
            upstream.limit.perLoop.store(perLoop, ordering: .relaxed)
            logger.info(
                "FastCGI responder", ("route", prefix), ("responder", upstream.address.description), ("max_conns", String(maxConnections)),
                ("mpxs_conns", values?["FCGI_MPXS_CONNS"] ?? "unknown"), ("connections_per_loop", String(perLoop)))
        }
        keepConnections.store(keep, ordering: .relaxed)
    }
}
