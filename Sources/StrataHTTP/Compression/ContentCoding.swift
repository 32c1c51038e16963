/// What may be compressed, and what a client accepts (RFC 9110 §12.5.3).
enum ContentCoding {
    /// Media types worth compressing: text and the text-like formats.
    /// Images, fonts, video and archives are compressed already.
    static func isCompressible(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmed().lowercased() } ?? ""
        if type.hasPrefix("text/") { return true }
        switch type {
        case "application/json", "application/javascript", "application/xml", "application/wasm", "application/manifest+json",
             "application/problem+json", "application/ld+json", "image/svg+xml", "application/xhtml+xml", "application/rss+xml",
             "application/atom+xml":
            return true
        default:
            return false
        }
    }

    /// The codings `header` accepts with a quality above zero; `*` stands for
    /// every coding not named, and a coding named with `q=0` is refused.
    static func accepted(_ header: String?) -> Set<String> {
        guard let header else { return [] }
        var accepted: Set<String> = []
        var refused: Set<String> = []
        var wildcard = false
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmed().lowercased() }
            guard let name = parts.first, !name.isEmpty else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if name == "*" {
                wildcard = quality > 0
            } else if quality > 0 {
                accepted.insert(name == "x-gzip" ? "gzip" : name)
            } else {
                refused.insert(name)
            }
        }
        if wildcard { accepted.formUnion(Set(["br", "gzip"]).subtracting(refused)) }
        return accepted
    }

    /// Whether `header` accepts gzip.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        // The common case, "gzip, deflate, br", without building sets.
        if !header.contains(";") && !header.contains("*") {
            return header.split(separator: ",").contains { $0.trimmed().lowercased() == "gzip" || $0.trimmed().lowercased() == "x-gzip" }
        }
        return accepted(header).contains("gzip")
    }
}
