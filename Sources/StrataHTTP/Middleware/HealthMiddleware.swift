/// Answers `GET /healthz` with `ok` before anything else runs.
public struct HealthMiddleware: HTTPMiddleware {
    /// Creates the middleware.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        guard request.path == "/healthz", request.method == .get || request.method == .head else { return nil }
        var response = HTTPResponse.text("ok\n")
        response.headers.add("Cache-Control", "no-store")
        response.route = "/healthz"
        return response
    }
}
