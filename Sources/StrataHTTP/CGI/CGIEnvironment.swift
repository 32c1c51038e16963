/// The meta-variables a CGI script or FastCGI responder gets for a request
/// (RFC 3875 §4.1), plus the `HTTP_*` variables for header fields.
///
/// Header fields that carry credentials (`Authorization`,
/// `Proxy-Authorization`) or describe the connection are not passed, nor
/// `Proxy` (as `HTTP_PROXY` it would set the outbound proxy of many
/// libraries: "httpoxy"), nor names with `_`, which would be
/// indistinguishable from the `-` they become.
struct CGIEnvironment {
    /// Where the script sits in the URL and the file system.
    struct Script {
        /// The URL path of the script (`/cgi-bin/hello.py`).
        var name: String
        /// What follows the script in the path, not decoded (`/extra/path`), or empty.
        var pathInfo: String
        /// The script's file.
        var filename: String
        /// The folder the route serves from.
        var root: String
    }

    /// The variables for `request` run by `script`, in a stable order.
    static func variables(for request: HTTPRequest, script: Script, fastCGI: Bool) -> [(String, String)] {
        var out: [(String, String)] = []
        out.reserveCapacity(32)
        let (serverName, serverPort) = serverAddress(request)
        out.append(("GATEWAY_INTERFACE", "CGI/1.1"))
        out.append(("SERVER_SOFTWARE", "strata"))
        out.append(("SERVER_PROTOCOL", "HTTP/1.\(request.minorVersion)"))
        out.append(("SERVER_NAME", serverName))
        out.append(("SERVER_PORT", serverPort))
        out.append(("REQUEST_METHOD", request.method.rawValue))
        out.append(("SCRIPT_NAME", script.name))
        out.append(("QUERY_STRING", request.query ?? ""))
        if !script.pathInfo.isEmpty {
            let decoded = script.pathInfo.contains("%") ? script.pathInfo.removingPercentEncoding ?? script.pathInfo : script.pathInfo
            out.append(("PATH_INFO", decoded))
            out.append(("PATH_TRANSLATED", script.root + decoded))
        }
        let client = RateLimitMiddleware.host(of: request.remoteAddress)
        out.append(("REMOTE_ADDR", client))
        out.append(("REMOTE_HOST", client))
        if let authorization = request.headers["Authorization"], let scheme = authorization.split(separator: " ").first {
            out.append(("AUTH_TYPE", String(scheme)))
        }
        if let length = request.bodyStream?.length {
            out.append(("CONTENT_LENGTH", String(length)))
        } else if !request.body.isEmpty || request.headers.contains("Content-Length") {
            out.append(("CONTENT_LENGTH", String(request.body.count)))
        }
        if let type = request.headers["Content-Type"] { out.append(("CONTENT_TYPE", type)) }
        if fastCGI {
            // What PHP and other FastCGI applications expect besides RFC 3875's list.
            out.append(("SCRIPT_FILENAME", script.filename))
            out.append(("DOCUMENT_ROOT", script.root))
            out.append(("REQUEST_URI", request.target))
            out.append(("DOCUMENT_URI", request.path))
            out.append(("REQUEST_SCHEME", request.isSecure ? "https" : "http"))
            if request.isSecure { out.append(("HTTPS", "on")) }
            if let port = request.remoteAddress.split(separator: ":").last, request.remoteAddress.contains(":") {
                out.append(("REMOTE_PORT", String(port)))
            }
            if !request.requestID.isEmpty { out.append(("HTTP_X_REQUEST_ID", request.requestID)) }
        }
        var seen: [String: Int] = [:]
        for (name, value) in request.headers {
            guard let variable = httpVariable(name) else { continue }
            if let index = seen[variable] {
                out[index].1 += (variable == "HTTP_COOKIE" ? "; " : ", ") + value
            } else {
                seen[variable] = out.count
                out.append((variable, value))
            }
        }
        return out
    }

    private static let withheld: [String] = [
        "authorization", "proxy-authorization", "proxy", "content-length", "content-type", "connection", "keep-alive",
        "te", "trailer", "transfer-encoding", "upgrade", "x-request-id",
    ]

    /// `HTTP_ACCEPT_LANGUAGE` for `Accept-Language`; nil for fields not passed.
    static func httpVariable(_ name: String) -> String? {
        guard !name.utf8.contains(UInt8(ascii: "_")), !withheld.contains(where: { name.caseInsensitiveEquals($0) }) else { return nil }
        var bytes: [UInt8] = Array("HTTP_".utf8)
        bytes.reserveCapacity(5 + name.utf8.count)
        for byte in name.utf8 {
            // Names are tokens (ASCII): upper case, and `-` becomes `_`.
            bytes.append(byte == UInt8(ascii: "-") ? UInt8(ascii: "_") : (byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The server's name and port as the client addressed it (the `Host` header).
    static func serverAddress(_ request: HTTPRequest) -> (String, String) {
        let defaultPort = request.isSecure ? "443" : "80"
        guard let host = request.headers["Host"], !host.isEmpty else { return ("localhost", defaultPort) }
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            return (String(host[...close]), rest.hasPrefix(":") ? String(rest.dropFirst()) : defaultPort)
        }
        if let colon = host.lastIndex(of: ":") { return (String(host[..<colon]), String(host[host.index(after: colon)...])) }
        return (host, defaultPort)
    }
}
