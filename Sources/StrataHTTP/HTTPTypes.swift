import StrataCore
import StrataIO

/// An HTTP request method. Methods that are not `isKnown` are answered 501.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method name as sent, such as `GET`.
    public let rawValue: String
    /// A method by name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The GET method.
    public static let get = HTTPMethod(rawValue: "GET")
    /// The HEAD method.
    public static let head = HTTPMethod(rawValue: "HEAD")
    /// The POST method.
    public static let post = HTTPMethod(rawValue: "POST")
    /// The PUT method.
    public static let put = HTTPMethod(rawValue: "PUT")
    /// The PATCH method.
    public static let patch = HTTPMethod(rawValue: "PATCH")
    /// The DELETE method.
    public static let delete = HTTPMethod(rawValue: "DELETE")
    /// The OPTIONS method.
    public static let options = HTTPMethod(rawValue: "OPTIONS")
    /// The TRACE method.
    public static let trace = HTTPMethod(rawValue: "TRACE")
    /// The CONNECT method.
    public static let connect = HTTPMethod(rawValue: "CONNECT")

    /// Whether this server implements the method (the nine of RFC 9110 plus PATCH).
    public var isKnown: Bool {
        switch rawValue {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT": true
        default: false
        }
    }

    /// Methods that must not change state, so need no CSRF check.
    public var isSafe: Bool { self == .get || self == .head || self == .options || self == .trace }

    public var description: String { rawValue }
}

/// A response status code with its reason phrase.
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    /// The three-digit code.
    public let code: Int
    /// The reason phrase sent on the status line.
    public let reason: String

    /// Creates a status; the reason defaults to the standard phrase for `code`.
    public init(_ code: Int, reason: String? = nil) {
        self.code = code
        self.reason = reason ?? HTTPStatus.standardReason(code)
    }

    public var description: String { "\(code) \(reason)" }

    /// 200 OK.
    public static let ok = HTTPStatus(200)
    /// 204 No Content.
    public static let noContent = HTTPStatus(204)
    /// 303 See Other.
    public static let seeOther = HTTPStatus(303)
    /// 304 Not Modified.
    public static let notModified = HTTPStatus(304)
    /// 400 Bad Request.
    public static let badRequest = HTTPStatus(400)
    /// 403 Forbidden.
    public static let forbidden = HTTPStatus(403)
    /// 404 Not Found.
    public static let notFound = HTTPStatus(404)
    /// 405 Method Not Allowed.
    public static let methodNotAllowed = HTTPStatus(405)
    /// 308 Permanent Redirect.
    public static let permanentRedirect = HTTPStatus(308)
    /// 408 Request Timeout.
    public static let requestTimeout = HTTPStatus(408)
    /// 412 Precondition Failed.
    public static let preconditionFailed = HTTPStatus(412)
    /// 413 Content Too Large.
    public static let payloadTooLarge = HTTPStatus(413)
    /// 414 URI Too Long.
    public static let uriTooLong = HTTPStatus(414)
    /// 422 Unprocessable Content.
    public static let unprocessableContent = HTTPStatus(422)
    /// 431 Request Header Fields Too Large.
    public static let headersTooLarge = HTTPStatus(431)
    /// 500 Internal Server Error.
    public static let internalServerError = HTTPStatus(500)
    /// 501 Not Implemented.
    public static let notImplemented = HTTPStatus(501)
    /// 502 Bad Gateway.
    public static let badGateway = HTTPStatus(502)
    /// 503 Service Unavailable.
    public static let serviceUnavailable = HTTPStatus(503)
    /// 505 HTTP Version Not Supported.
    public static let versionNotSupported = HTTPStatus(505)

    static func standardReason(_ code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(code)"
        }
    }
}

/// Header fields in arrival order, looked up case-insensitively.
public struct HTTPHeaders: Sendable, Sequence {
    private var fields: [(name: String, value: String)] = []

    /// Room reserved up front: a response gathers a dozen fields on its way
    /// through the middleware, and growing 1 → 2 → 4 → 8 → 16 cost an
    /// allocation each time.
    static let typicalCount = 16

    /// Creates headers from name/value pairs.
    public init(_ fields: [(String, String)] = []) {
        self.fields.reserveCapacity(Swift.max(fields.count, Self.typicalCount))
        for (name, value) in fields { self.fields.append((name: name, value: value)) }
    }

    /// Creates empty headers with room for `capacity` fields (the parser's one allocation for them).
    init(capacity: Int) {
        fields.reserveCapacity(capacity)
    }

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces all fields named `name` with one.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
        fields.append((name: name, value: value))
    }

    /// Whether a `name` field lists `token` among its comma-separated
    /// elements, compared case-insensitively (`Connection: keep-alive, Upgrade`).
    public func containsToken(_ token: String, in name: String) -> Bool {
        for field in fields where field.name.caseInsensitiveEquals(name) {
            var value = field.value
            let found = value.withUTF8 { bytes in
                UnsafeRawBufferPointer(bytes).commaSeparated(omittingEmpty: true).contains { element in
                    String(decoding: element, as: UTF8.self).caseInsensitiveEquals(token)
                }
            }
            if found { return true }
        }
        return false
    }

    /// Whether a field named `name` is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// The number of fields.
    public var count: Int { fields.count }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        fields.makeIterator()
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            // ASCII letters differ by 0x20 between cases.
            guard x | 0x20 == y | 0x20, (x | 0x20) >= 0x61, (x | 0x20) <= 0x7A else { return false }
        }
        return true
    }
}

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
    /// The client's address.
    public var remoteAddress: String
    /// Values captured by `:name` segments of the matched route.
    public var pathParameters: [String: String] = [:]
    /// The id tying this request's log lines and calls together (set by `RequestIDMiddleware`).
    public var requestID = ""
    /// When the server finished reading the request head.
    public var receivedAt: ContinuousClock.Instant

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

/// Part of a file to send as (the rest of) a response body.
public struct FileRegion: Sendable, Equatable {
    /// The file's path; opened when the response is written.
    public var path: String
    /// The first byte to send.
    public var offset: Int64
    /// How many bytes to send.
    public var count: Int64
    /// The file already open (kept by a cache), sent without opening `path` again.
    public var open: SharedFile?

    /// Describes `count` bytes of `path` from `offset`.
    public init(path: String, offset: Int64, count: Int64, open: SharedFile? = nil) {
        self.path = path
        self.offset = offset
        self.count = count
        self.open = open
    }

    public static func == (a: FileRegion, b: FileRegion) -> Bool {
        a.path == b.path && a.offset == b.offset && a.count == b.count && a.open === b.open
    }
}

/// What a handler answers.
public struct HTTPResponse: Sendable {
    /// The status.
    public var status: HTTPStatus
    /// Header fields; `Content-Length`, `Date` and `Server` are added when written.
    public var headers: HTTPHeaders
    /// The body bytes.
    public var body: [UInt8]
    /// A file region sent after `body` with sendfile, for large static files.
    public var file: FileRegion?
    /// A body produced piece by piece and sent with chunked transfer coding
    /// (close-delimited to HTTP/1.0 clients). When set, `body` and `file` are ignored.
    public var stream: HTTPBodyStream?

    /// Creates a response.
    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]), body: Array(text.utf8))
    }

    /// A `text/html; charset=utf-8` response.
    public static func html(_ bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8")]), body: bytes)
    }

    /// A 303 See Other to `location`, the answer to a successful form POST.
    public static func redirect(to location: String) -> HTTPResponse {
        HTTPResponse(status: .seeOther, headers: HTTPHeaders([("Location", location)]))
    }
}
