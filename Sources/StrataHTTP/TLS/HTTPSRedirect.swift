/// What the plain-HTTP port answers when the site is served over HTTPS:
/// 308 Permanent Redirect to the same host and path on the HTTPS port, so
/// the method and body survive (a 301 lets clients turn a POST into a GET).
public struct HTTPSRedirect: HTTPHandler {
    private let httpsPort: Int

    /// Redirects to `httpsPort` (left out of the URL when it is 443).
    public init(httpsPort: Int) { self.httpsPort = httpsPort }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        // The parser has checked Host's syntax; HTTP/1.0 clients may send none.
        guard let host = request.headers["Host"].map(RateLimitMiddleware.host(of:)), !host.isEmpty else {
            return .response(.text("400 Bad Request: a Host header is needed to redirect to HTTPS\n", status: .badRequest))
        }
        let authority = host.contains(":") ? "[\(host)]" : host
        let port = httpsPort == 443 ? "" : ":\(httpsPort)"
        let target = request.target.hasPrefix("/") ? request.target : "/"
        var response = HTTPResponse(status: .permanentRedirect, headers: HTTPHeaders([("Location", "https://\(authority)\(port)\(target)")]))
        response.headers.add("Content-Type", "text/plain; charset=utf-8")
        response.body = Array("308 Permanent Redirect: this site is served over HTTPS\n".utf8)
        return .response(response)
    }
}
