/// Adds `Strict-Transport-Security` to answers that went out over TLS, so a
/// browser that has seen the site once never tries it in plaintext again.
///
/// Never on plaintext answers (RFC 6797 §7.2: browsers ignore it there) and
/// never for localhost: a developer's browser would then refuse every plain
/// `http://localhost` project for the max-age.
public struct StrictTransportSecurityMiddleware: HTTPMiddleware {
    private let value: String

    /// - Parameters:
    ///   - maxAge: seconds browsers remember it (two years, the preload list's value, by default).
    ///   - includeSubdomains: whether it covers every subdomain too.
    public init(maxAge: Int = 63_072_000, includeSubdomains: Bool = false) {
        value = "max-age=\(maxAge)" + (includeSubdomains ? "; includeSubDomains" : "")
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        guard request.isSecure, !response.headers.contains("Strict-Transport-Security") else { return }
        guard let host = request.headers["Host"].map(RateLimitMiddleware.host(of:)), !Self.isLocal(host) else { return }
        response.headers.add("Strict-Transport-Security", value)
    }

    static func isLocal(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host.hasPrefix("127.")
    }
}
