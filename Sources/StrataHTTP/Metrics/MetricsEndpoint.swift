import StrataCore

/// `GET /metrics`: the tier's metrics in Prometheus text format, answered
/// only to the allowed addresses (loopback by default) and 404 to everyone
/// else, as if there were nothing there.
///
/// A request that came through a proxy (`X-Forwarded-For`) is answered only
/// when every forwarded address is allowed too: a reverse proxy on the same
/// host must not open the endpoint to the Internet. The web tier runs it
/// inside `HTTPMetrics` (one link of the chain less per request).
public struct MetricsEndpoint: HTTPMiddleware {
    /// The path scrapers ask.
    public static let path = "/metrics"
    /// The text format's media type.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    private let registry: MetricsRegistry
    private let allowed: [AddressRange]

    /// Serves `registry` to loopback and `allowed`.
    public init(registry: MetricsRegistry, allowed: [AddressRange] = []) {
        self.registry = registry
        self.allowed = AddressRange.loopback + allowed
    }

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        guard request.path == Self.path else { return nil }
        guard isAllowed(request) else {
            var response = HTTPResponse.text("404 Not Found\n", status: .notFound)
            response.route = Self.path
            return response
        }
        guard request.method == .get || request.method == .head else {
            var response = HTTPResponse.text("405 Method Not Allowed: GET or HEAD\n", status: .methodNotAllowed)
            response.headers.add("Allow", "GET, HEAD")
            response.route = Self.path
            return response
        }
        return Self.scrape(registry)
    }

    /// `registry`'s samples as a scrape answer.
    static func scrape(_ registry: MetricsRegistry) -> HTTPResponse {
        var response = HTTPResponse(
            status: .ok, headers: HTTPHeaders([("Content-Type", contentType), ("Cache-Control", "no-store")]),
            body: Array(registry.render().utf8))
        response.route = path
        return response
    }

    func isAllowed(_ request: HTTPRequest) -> Bool {
        guard permits(RateLimitMiddleware.host(of: request.remoteAddress)) else { return false }
        guard let forwarded = request.headers["X-Forwarded-For"] else { return true }
        return forwarded.split(separator: ",").allSatisfy { permits($0.trimmed()) }
    }

    private func permits(_ host: String) -> Bool { allowed.contains { $0.contains(host) } }
}
