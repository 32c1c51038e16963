import StrataIO

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
    /// The route pattern that answered (`/todos/:id`, `/static/*`), for
    /// metrics: a label from a fixed set, never the raw path. Not sent.
    public var route: String?
    /// For an answer to HEAD without its body (a proxied one): the length a
    /// GET would have had, announced in `Content-Length`.
    var headLength: Int?
    /// A CGI local redirect (RFC 3875 §6.2.2): `Gateway` answers this path instead.
    var localRedirect: String?

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
