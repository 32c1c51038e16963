/// Builds the request a proxy sends upstream from the one it received.
///
/// The client's own `X-Forwarded-*` and `Forwarded` fields are believed only
/// when the peer is a trusted proxy (then this hop is appended to them);
/// from anyone else they are replaced, so a client cannot make the upstream
/// believe it comes from elsewhere.
struct ForwardedRequest {
    /// How the `Host` header upstream is set.
    enum HostHeader: Equatable, Sendable {
        /// The client's `Host`, as nginx's `proxy_set_header Host $host`.
        case pass
        /// The upstream's own `host:port`.
        case upstream
        /// A fixed value.
        case fixed(String)
    }

    /// Fields this proxy sets itself: whatever the client sent for them is dropped.
    static let replaced: Set<String> = [
        "host", "content-length", "expect", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "via",
        "x-request-id",
    ]

    /// The request head and body for `upstream`, with `target` as the request-target.
    static func serialize(
        _ request: HTTPRequest, target: String, host: HostHeader, upstream: Upstream, trusted: Bool
    ) -> [UInt8] {
        let client = RateLimitMiddleware.host(of: request.remoteAddress)
        let proto = request.isSecure ? "https" : "http"
        let clientHost = request.headers["Host"] ?? ""
        var out = "\(request.method.rawValue) \(target) HTTP/1.1\r\n"
        let hostValue: String
        switch host {
        case .pass: hostValue = clientHost.isEmpty ? upstream.authority : clientHost
        case .upstream: hostValue = upstream.authority
        case .fixed(let value): hostValue = value
        }
        out += "Host: \(hostValue)\r\n"
        for (name, value) in HopByHop.strip(request.headers, also: replaced) { out += "\(name): \(value)\r\n" }

        let previousFor = trusted ? request.headers.values("X-Forwarded-For").joined(separator: ", ") : ""
        out += "X-Forwarded-For: \(previousFor.isEmpty ? client : previousFor + ", " + client)\r\n"
        out += "X-Forwarded-Proto: \(trusted ? request.headers["X-Forwarded-Proto"] ?? proto : proto)\r\n"
        let forwardedHost = trusted ? request.headers["X-Forwarded-Host"] ?? clientHost : clientHost
        if !forwardedHost.isEmpty { out += "X-Forwarded-Host: \(forwardedHost)\r\n" }
        let previousForwarded = trusted ? request.headers.values("Forwarded").joined(separator: ", ") : ""
        let element = forwardedElement(client: client, proto: proto, host: clientHost)
        out += "Forwarded: \(previousForwarded.isEmpty ? element : previousForwarded + ", " + element)\r\n"
        let previousVia = request.headers.values("Via").joined(separator: ", ")
        out += "Via: \(previousVia.isEmpty ? "" : previousVia + ", ")1.\(request.minorVersion) strata\r\n"
        if !request.requestID.isEmpty { out += "X-Request-ID: \(request.requestID)\r\n" }
        if !request.body.isEmpty || request.method == .post || request.method == .put || request.method == .patch {
            out += "Content-Length: \(request.body.count)\r\n"
        }
        out += "\r\n"
        var bytes = Array(out.utf8)
        bytes.append(contentsOf: request.body)
        return bytes
    }

    /// One `Forwarded` element (RFC 7239): `for=` the client, quoted when it
    /// is an IPv6 address, `proto=`, and `host=` quoted when it needs it.
    static func forwardedElement(client: String, proto: String, host: String) -> String {
        let node = client.contains(":") ? "\"[\(client)]\"" : (client.isEmpty ? "unknown" : client)
        var element = "for=\(node);proto=\(proto)"
        if !host.isEmpty {
            let isToken = host.utf8.allSatisfy(RequestParser.isTokenByte)
            element += ";host=" + (isToken ? host : "\"\(host.replacingBackslashesAndQuotes())\"")
        }
        return element
    }
}

extension String {
    /// Escapes `\` and `"` for a quoted-string.
    fileprivate func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for character in self {
            if character == "\\" || character == "\"" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
