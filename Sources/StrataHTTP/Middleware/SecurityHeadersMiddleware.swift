/// Adds security headers a response did not set itself.
public struct SecurityHeadersMiddleware: HTTPMiddleware {
    /// The headers added by default.
    public static let defaults: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]

    private let headers: [(String, String)]

    /// Adds `headers` (the defaults unless given) to responses that lack them.
    public init(headers: [(String, String)] = SecurityHeadersMiddleware.defaults) { self.headers = headers }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        // Most responses set none of these: each `contains` is then a bit test (`HTTPHeaders.nameBits`).
        for (name, value) in headers where !response.headers.contains(name) {
            response.headers.add(name, value)
        }
    }
}
