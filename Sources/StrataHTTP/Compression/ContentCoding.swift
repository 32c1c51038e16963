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
    /// every coding not named, and a coding named with `q=0` (or a `q` that
    /// cannot be read) is refused.
    static func accepted(_ header: String?) -> Set<String> {
        guard var header else { return [] }
        var accepted: Set<String> = []
        var refused: Set<String> = []
        var wildcard = false
        header.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 44 { end += 1 }  // ","
                let (item, quality) = itemAndQuality(UnsafeBufferPointer(rebasing: bytes[start..<end]))
                start = end + 1
                guard !item.isEmpty else { continue }
                var name = String(decoding: item, as: UTF8.self).lowercased()
                if name == "x-gzip" { name = "gzip" }
                // A coding named twice counts as first named.
                guard !accepted.contains(name), !refused.contains(name) else { continue }
                if name == "*" {
                    wildcard = quality > 0
                } else if quality > 0 {
                    accepted.insert(name)
                } else {
                    refused.insert(name)
                }
            }
        }
        if wildcard { accepted.formUnion(Set(["br", "gzip"]).subtracting(refused)) }
        return accepted
    }

    /// Whether `header` accepts gzip.
    static func acceptsGzip(_ header: String?) -> Bool { accepts("gzip", header) }

    /// Whether `header` accepts `coding` (lowercase): named with a quality
    /// above zero, or covered by `*` without being refused by name. Read in
    /// place, with nothing allocated: it runs for every static text request.
    static func accepts(_ coding: StaticString, _ header: String?) -> Bool {
        guard var header else { return false }
        return header.withUTF8 { bytes -> Bool in
            let name = UnsafeBufferPointer(start: coding.utf8Start, count: coding.utf8CodeUnitCount)
            let alias: StaticString? = equalsIgnoringCase(name, "gzip") ? "x-gzip" : nil
            var wildcard = false
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 44 { end += 1 }  // ","
                let (item, quality) = itemAndQuality(UnsafeBufferPointer(rebasing: bytes[start..<end]))
                if equalsIgnoringCase(item, name) || alias.map({ equalsIgnoringCase(item, $0) }) == true { return quality > 0 }
                if item.count == 1 && item[0] == 42 { wildcard = quality > 0 }  // "*"
                start = end + 1
            }
            return wildcard
        }
    }

    /// The coding name of one list element (trimmed) and its `q` (1 when absent, 0 when unreadable).
    private static func itemAndQuality(_ item: UnsafeBufferPointer<UInt8>) -> (UnsafeBufferPointer<UInt8>, Double) {
        var lower = 0, upper = item.count
        while lower < upper && (item[lower] == 32 || item[lower] == 9) { lower += 1 }
        var nameEnd = lower
        while nameEnd < upper && item[nameEnd] != 59 && item[nameEnd] != 32 && item[nameEnd] != 9 { nameEnd += 1 }  // ";"
        let name = UnsafeBufferPointer(rebasing: item[lower..<nameEnd])
        guard let semicolon = item[nameEnd..<upper].firstIndex(of: 59) else { return (name, 1) }
        let parameters = String(decoding: item[(semicolon + 1)..<upper], as: UTF8.self)
        for parameter in parameters.split(separator: ";") {
            let trimmed = parameter.trimmed().lowercased()
            if trimmed.hasPrefix("q=") { return (name, Double(trimmed.dropFirst(2)) ?? 0) }
        }
        return (name, 1)
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: StaticString) -> Bool {
        equalsIgnoringCase(bytes, UnsafeBufferPointer(start: lowercased.utf8Start, count: lowercased.utf8CodeUnitCount))
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == lowercased.count else { return false }
        for i in 0..<bytes.count where (bytes[i] >= 65 && bytes[i] <= 90 ? bytes[i] | 0x20 : bytes[i]) != lowercased[i] { return false }
        return true
    }
}
