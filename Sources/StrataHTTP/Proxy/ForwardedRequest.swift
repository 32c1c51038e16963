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
    static func isReplaced(_ name: String) -> Bool {
        guard let first = name.utf8.first.map({ $0 | 0x20 }) else { return false }
        switch first {
        case UInt8(ascii: "h"): return name.caseInsensitiveEquals("Host")
        case UInt8(ascii: "c"): return name.caseInsensitiveEquals("Content-Length")
        case UInt8(ascii: "e"): return name.caseInsensitiveEquals("Expect")
        case UInt8(ascii: "f"): return name.caseInsensitiveEquals("Forwarded")
        case UInt8(ascii: "v"): return name.caseInsensitiveEquals("Via")
        case UInt8(ascii: "x"):
            return name.caseInsensitiveEquals("X-Forwarded-For") || name.caseInsensitiveEquals("X-Forwarded-Proto")
                || name.caseInsensitiveEquals("X-Forwarded-Host") || name.caseInsensitiveEquals("X-Request-ID")
        default: return false
        }
    }

    /// The request head and body (unless it streams) for `upstream`, with `target` as the request-target.
    static func serialize(
        _ request: HTTPRequest, target: String, host: HostHeader, upstream: Upstream, trusted: Bool
    ) -> [UInt8] {
        let client = RateLimitMiddleware.host(of: request.remoteAddress)
        let proto = request.isSecure ? "https" : "http"
        let clientHost = request.headers["Host"] ?? ""
        var out: [UInt8] = []
        out.reserveCapacity(512 + request.body.count + target.utf8.count)
        func line(_ name: String, _ value: String) {
            out.append(contentsOf: name.utf8)
            out.append(58)
            out.append(32)
            out.append(contentsOf: value.utf8)
            out.append(13)
            out.append(10)
        }
        out.append(contentsOf: request.method.rawValue.utf8)
        out.append(32)
        out.append(contentsOf: target.utf8)
        out.append(contentsOf: " HTTP/1.1\r\n".utf8)
        switch host {
        case .pass: line("Host", clientHost.isEmpty ? upstream.authority : clientHost)
        case .upstream: line("Host", upstream.authority)
        case .fixed(let value): line("Host", value)
        }
        // The client's fields in one pass: hop-by-hop and replaced ones dropped.
        let named = request.headers.contains("Connection") ? HopByHop.named(in: request.headers) : []
        var hasVia = false
        for (name, value) in request.headers {
            if isReplaced(name) || HopByHop.isFixed(name) || (!named.isEmpty && named.contains { name.caseInsensitiveEquals($0) }) {
                if !hasVia && name.caseInsensitiveEquals("Via") { hasVia = true }
                continue
            }
            line(name, value)
        }
        if trusted {
            let previous = request.headers.values("X-Forwarded-For")
            line("X-Forwarded-For", (previous + [client]).joined(separator: ", "))
            line("X-Forwarded-Proto", request.headers["X-Forwarded-Proto"] ?? proto)
        } else {
            line("X-Forwarded-For", client)
            line("X-Forwarded-Proto", proto)
        }
        let forwardedHost = trusted ? request.headers["X-Forwarded-Host"] ?? clientHost : clientHost
        if !forwardedHost.isEmpty { line("X-Forwarded-Host", forwardedHost) }
        let element = forwardedElement(client: client, proto: proto, host: clientHost)
        line("Forwarded", trusted ? (request.headers.values("Forwarded") + [element]).joined(separator: ", ") : element)
        let via = request.minorVersion == 1 ? "1.1 strata" : "1.0 strata"
        line("Via", hasVia ? (request.headers.values("Via") + [via]).joined(separator: ", ") : via)
        if !request.requestID.isEmpty { line("X-Request-ID", request.requestID) }
        if let stream = request.bodyStream {
            // Passed on as it arrives: its length when the client gave one, else re-chunked.
            if let length = stream.length { line("Content-Length", String(length)) } else { line("Transfer-Encoding", "chunked") }
        } else if !request.body.isEmpty || request.method == .post || request.method == .put || request.method == .patch {
            line("Content-Length", String(request.body.count))
        }
        out.append(13)
        out.append(10)
        out.append(contentsOf: request.body)
        return out
    }

    /// One `Forwarded` element (RFC 7239): `for=` the client, quoted when it
    /// is an IPv6 address, `proto=`, and `host=` quoted when it needs it.
    static func forwardedElement(client: String, proto: String, host: String) -> String {
        // `utf8.contains`: `String.contains(String)` is Foundation's, and costs a microsecond.
        let node = client.utf8.contains(UInt8(ascii: ":")) ? "\"[\(client)]\"" : (client.isEmpty ? "unknown" : client)
        var element = "for=\(node);proto=\(proto)"
        if !host.isEmpty {
            let isToken = host.utf8.allSatisfy(RequestParser.isTokenByte)
            let needsEscapes = host.utf8.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
            element += ";host=" + (isToken ? host : "\"\(needsEscapes ? host.replacingBackslashesAndQuotes() : host)\"")
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
