import StrataHTTP

/// Which other sites' pages may call the API routes from a browser
/// (`--cors-origins`, the Fetch standard's CORS): only the origins listed,
/// each echoed back by name, never `*` (answers may depend on the
/// browser's cookies, and `*` with credentials is what CORS forbids). The
/// CSRF rule still holds for cookie-authenticated calls.
public struct CORSPolicy: Sendable {
    /// `scheme://host[:port]` of each allowed origin, lowercased.
    let origins: Set<String>
    /// The route group the policy covers.
    static let prefix = "/api/"
    /// Request headers a cross-origin call may send.
    static let allowedHeaders = "Accept, Authorization, Content-Type, X-CSRF-Token"

    /// Parses `--cors-origins` (comma-separated); an entry that is not an origin is refused, naming it.
    public init(parsing text: String) throws(CORSPolicyError) {
        var origins: Set<String> = []
        for entry in text.split(separator: ",").map({ $0.trimmed().lowercased() }) where !entry.isEmpty {
            guard entry != "*" else { throw CORSPolicyError("--cors-origins: '*' is not allowed; list the origins") }
            let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "http:" || parts[0] == "https:", parts[1].isEmpty, !parts[2].isEmpty else {
                throw CORSPolicyError("--cors-origins: '\(entry)' is not an origin like https://app.example.com")
            }
            origins.insert(entry)
        }
        self.origins = origins
    }

    /// The request's origin when the policy lets it call `request`'s route.
    func allowedOrigin(_ request: HTTPRequest) -> String? {
        guard request.path.hasPrefix(Self.prefix), let origin = request.headers["Origin"], origins.contains(origin.lowercased()) else { return nil }
        return origin
    }

    /// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`)
    /// for a route allowing `methods`; nil when `request` is no preflight this policy covers.
    func preflight(_ request: HTTPRequest, methods: String) -> HTTPResponse? {
        guard request.method == .options, request.headers["Access-Control-Request-Method"] != nil, let origin = allowedOrigin(request) else {
            return nil
        }
        var response = HTTPResponse(status: .noContent)
        decorate(&response, origin: origin)
        response.headers.set("Access-Control-Allow-Methods", methods)
        response.headers.set("Access-Control-Allow-Headers", Self.allowedHeaders)
        response.headers.set("Access-Control-Max-Age", "600")
        return response
    }

    /// Marks `response` as readable by `origin`'s pages.
    func decorate(_ response: inout HTTPResponse, origin: String) {
        response.headers.set("Access-Control-Allow-Origin", origin)
        response.headers.set("Access-Control-Allow-Credentials", "true")
        response.headers.set("Access-Control-Expose-Headers", "Retry-After, X-Request-ID")
        response.headers.add("Vary", "Origin")
    }
}

/// A `--cors-origins` value that cannot be used.
public struct CORSPolicyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
