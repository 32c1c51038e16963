import StrataCore
import StrataIO

/// Hands requests under a prefix to FastCGI responders (php-fpm and the
/// like), with the same pooling, balancing, ejection and 502/503/504
/// answers as a reverse-proxy route. See `FastCGIRoute`.
public final class FastCGIHandler: HTTPHandler, UpstreamRoute {
    public let route: FastCGIRoute
    public let group: UpstreamGroup
    let logger: Logger

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
        let codec = FastCGIExchangeCodec(params: CGIEnvironment.variables(for: request, script: script, fastCGI: true), body: request.body)
        return .onLoop { [self] responder in
            GatewayExchange(route: self, request: request, codec: codec, responder: responder).start()
        }
    }
}
