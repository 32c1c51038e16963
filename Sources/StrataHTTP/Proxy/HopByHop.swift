/// Header fields that describe one connection, not the message (RFC 9110
/// §7.6.1): a proxy removes them, and every field the `Connection` header
/// names, before forwarding in either direction.
enum HopByHop {
    /// The lowercased names `headers`' `Connection` fields list, leaving out
    /// the usual `close` and `keep-alive`, which name no field to drop.
    static func named(in headers: HTTPHeaders) -> [String] {
        var names: [String] = []
        for value in headers.values("Connection") {
            if value.caseInsensitiveEquals("keep-alive") || value.caseInsensitiveEquals("close") { continue }
            for token in value.split(separator: ",") {
                let name = token.trimmed().lowercased()
                if !name.isEmpty && name != "close" && name != "keep-alive" { names.append(name) }
            }
        }
        return names
    }

    /// `headers` without hop-by-hop fields and without those `dropped` says to drop.
    static func strip(_ headers: HTTPHeaders, dropping dropped: (String) -> Bool = { _ in false }) -> HTTPHeaders {
        let named = headers.contains("Connection") ? Self.named(in: headers) : []
        var kept = HTTPHeaders(capacity: headers.count + 6)
        for (name, value) in headers {
            if isFixed(name) || dropped(name) || (!named.isEmpty && named.contains { name.caseInsensitiveEquals($0) }) { continue }
            kept.add(name, value)
        }
        return kept
    }

    /// Whether `name` is always hop-by-hop (Connection, Keep-Alive,
    /// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, and the
    /// proxy's own Proxy-Authenticate and Proxy-Authorization), without
    /// lowercasing it: most names are ruled out by their first letter.
    static func isFixed(_ name: String) -> Bool {
        guard let first = name.utf8.first.map({ $0 | 0x20 }) else { return false }
        switch first {
        case UInt8(ascii: "c"): return name.caseInsensitiveEquals("Connection")
        case UInt8(ascii: "k"): return name.caseInsensitiveEquals("Keep-Alive")
        case UInt8(ascii: "p"):
            return name.caseInsensitiveEquals("Proxy-Connection") || name.caseInsensitiveEquals("Proxy-Authenticate")
                || name.caseInsensitiveEquals("Proxy-Authorization")
        case UInt8(ascii: "t"):
            return name.caseInsensitiveEquals("TE") || name.caseInsensitiveEquals("Trailer") || name.caseInsensitiveEquals("Transfer-Encoding")
        case UInt8(ascii: "u"): return name.caseInsensitiveEquals("Upgrade")
        default: return false
        }
    }
}
