/// Compresses dynamic responses with gzip when the client accepts it: HTML,
/// JSON and other text above `minimumSize`, and streamed (chunked) bodies as
/// they are produced. Adds `Vary: Accept-Encoding` to every response it
/// could have compressed, so a cache keeps the two forms apart.
///
/// Left alone: bodies already encoded, responses with an `ETag` (static files
/// choose and tag their own representations), `Cache-Control: no-transform`,
/// partial content, images and other compressed media, and small bodies,
/// where gzip's header and the CPU cost more than they save.
///
/// A page that shows a secret (the CSRF token) beside text an attacker
/// controls is open to BREACH once compressed; Strata masks the token with a
/// fresh pad in every response, so its bytes never repeat.
public struct CompressionMiddleware: HTTPMiddleware {
    /// The smallest body compressed.
    public let minimumSize: Int

    /// Compresses bodies of `minimumSize` bytes or more (default 1 KiB).
    public init(minimumSize: Int = 1024) { self.minimumSize = minimumSize }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        let code = response.status.code
        guard code >= 200, code != 204, code != 206, code != 304, response.file == nil,
            response.stream != nil || response.body.count >= minimumSize,
            ContentCoding.isCompressible(response.headers["Content-Type"]),
            !response.headers.contains("Content-Encoding"), !response.headers.contains("ETag"),
            !(response.headers["Cache-Control"]?.lowercased().contains("no-transform") ?? false)
        else { return }
        Self.addVary(&response.headers)
        guard ContentCoding.acceptsGzip(request.headers["Accept-Encoding"]) else { return }
        if let stream = response.stream {
            response.stream = stream.gzipped()
        } else {
            let compressed = Gzip.compress(response.body)
            guard compressed.count < response.body.count else { return }
            response.body = compressed
        }
        response.headers.set("Content-Encoding", "gzip")
    }

    /// Adds `Accept-Encoding` to `Vary` unless it is listed (or `*`).
    static func addVary(_ headers: inout HTTPHeaders) {
        guard let vary = headers["Vary"] else {
            headers.add("Vary", "Accept-Encoding")
            return
        }
        let listed = vary.split(separator: ",").map { $0.trimmed().lowercased() }
        if !listed.contains("accept-encoding") && !listed.contains("*") { headers.set("Vary", vary + ", Accept-Encoding") }
    }
}
