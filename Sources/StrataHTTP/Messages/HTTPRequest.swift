import StrataCore

/// An HTTP request as the handler sees it.
public struct HTTPRequest: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The request-target exactly as sent.
    public var target: String
    /// The path part of the target (still percent-encoded).
    public var path: String
    /// The query string after `?`, if any.
    public var query: String?
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    public var minorVersion: Int
    /// Header fields.
    public var headers: HTTPHeaders
    /// The body, de-chunked.
    public var body: [UInt8]
    /// The body still arriving, for routes that stream it (see
    /// `HTTPLimits.streamsBody`); then `body` is empty.
    public var bodyStream: HTTPRequestBody?
    /// The client's address.
    public var remoteAddress: String
    /// Values captured by `:name` segments of the matched route.
    public var pathParameters: [String: String] = [:]
    /// The id tying this request's log lines and calls together (set by `RequestIDMiddleware`).
    public var requestID = ""
    /// The W3C trace this request belongs to (the caller's `traceparent`, or a
    /// new one) with this server's span; set by `RequestIDMiddleware`.
    public var trace = TraceContext.unset
    /// When the server finished reading the request head.
    public var receivedAt: ContinuousClock.Instant
    /// Whether the request came over TLS to this server (not what a proxy says).
    public var isSecure = false

    /// Creates a request (used by the parser and by tests).
    public init(
        method: HTTPMethod, target: String, minorVersion: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], remoteAddress: String = "", receivedAt: ContinuousClock.Instant = .now
    ) {
        self.receivedAt = receivedAt
        self.method = method
        self.target = target
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<mark])
            query = String(target[target.utf8.index(after: mark)...])
        } else {
            path = target
            query = nil
        }
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// Whether the client asked to keep the connection open after this request.
    public var wantsKeepAlive: Bool {
        if minorVersion == 0 { return headers.containsToken("keep-alive", in: "Connection") }
        return !headers.containsToken("close", in: "Connection")
    }

    /// Query parameters, percent-decoded; malformed pairs (bad escapes, invalid UTF-8, NUL) are skipped.
    public var queryParameters: [String: String] {
        guard let query else { return [:] }
        let pairs = (try? FormDecoding.decode(Array(query.utf8), skippingMalformed: true)) ?? []
        return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
    }
}
