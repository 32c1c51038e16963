/// Header fields that describe one connection, not the message (RFC 9110
/// §7.6.1): a proxy removes them, and every field the `Connection` header
/// names, before forwarding in either direction.
enum HopByHop {
    static let fixed: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// The lowercased names `headers`' `Connection` fields list.
    static func named(in headers: HTTPHeaders) -> Set<String> {
        var names: Set<String> = []
        for value in headers.values("Connection") {
            for token in value.split(separator: ",") {
                let name = token.trimmed().lowercased()
                if !name.isEmpty { names.insert(name) }
            }
        }
        return names
    }

    /// `headers` without hop-by-hop fields and without `also` (lowercased names).
    static func strip(_ headers: HTTPHeaders, also dropped: Set<String> = []) -> HTTPHeaders {
        let named = headers.contains("Connection") ? Self.named(in: headers) : []
        var kept = HTTPHeaders(capacity: headers.count + 6)
        for (name, value) in headers {
            let lower = name.lowercased()
            if fixed.contains(lower) || named.contains(lower) || dropped.contains(lower) { continue }
            kept.add(name, value)
        }
        return kept
    }
}
