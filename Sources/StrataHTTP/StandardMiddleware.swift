import StrataCore

/// Gives every request an id: the client's (or proxy's) `X-Request-ID` when it
/// is short and plain, else a new random one. Echoed in the response.
public struct RequestIDMiddleware: HTTPMiddleware {
    /// Creates the middleware.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        request.requestID = request.headers["X-Request-ID"].flatMap(Self.acceptable) ?? Digest.hex(Digest.randomBytes(8))
        return nil
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        response.headers.set("X-Request-ID", request.requestID)
    }

    /// Accepts an incoming id only if it cannot forge log lines or headers.
    static func acceptable(_ value: String) -> String? {
        guard (1...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 45 || $0 == 95 })
        else { return nil }
        return value
    }
}

/// One structured log line per request: method, path, status, bytes, duration, request id.
public struct AccessLogMiddleware: HTTPMiddleware {
    private let logger: Logger

    /// Logs to `logger` at info level.
    public init(logger: Logger) { self.logger = logger }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        guard logger.level <= .info else { return }
        let elapsed = ContinuousClock.now - request.receivedAt
        let micros = elapsed.wholeMicroseconds
        logger.info("request", ("method", request.method.rawValue), ("path", request.path),
                    ("status", String(response.status.code)), ("bytes", String(response.body.count)),
                    ("us", String(micros)), ("client", request.remoteAddress), ("request_id", request.requestID))
    }
}

/// Adds security headers a response did not set itself.
public struct SecurityHeadersMiddleware: HTTPMiddleware {
    /// The headers added by default.
    public static let defaults: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]

    private let headers: [(String, String)]

    /// Adds `headers` (the defaults unless given) to responses that lack them.
    public init(headers: [(String, String)] = SecurityHeadersMiddleware.defaults) { self.headers = headers }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        for (name, value) in headers where !response.headers.contains(name) {
            response.headers.add(name, value)
        }
    }
}

/// Answers `GET /healthz` with `ok` before anything else runs.
public struct HealthMiddleware: HTTPMiddleware {
    /// Creates the middleware.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        guard request.path == "/healthz", request.method == .get || request.method == .head else { return nil }
        var response = HTTPResponse.text("ok\n")
        response.headers.add("Cache-Control", "no-store")
        return response
    }
}
