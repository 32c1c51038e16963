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

    /// Whether `header` accepts gzip.
    static func acceptsGzip(_ header: String?) -> Bool { accepts("gzip", header) }

    /// Whether `header` accepts `coding` (lowercase letters, digits and `-`):
    /// its first mention has a quality above zero (an unreadable `q` refuses),
    /// or it is not named and `*` is accepted. `x-gzip` counts as `gzip`.
    /// Read in place, with nothing allocated: it runs for every static text request.
    static func accepts(_ coding: StaticString, _ header: String?) -> Bool {
        guard var header else { return false }
        return header.withUTF8 { bytes -> Bool in
            let isGzip = coding.utf8CodeUnitCount == 4 && UnsafeRawBufferPointer(start: coding.utf8Start, count: 4).elementsEqual("gzip".utf8)
            var wildcard = false
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 44 { end += 1 }  // ","
                let (item, quality) = itemAndQuality(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<end]))
                if item.equalsIgnoringCase(coding) || (isGzip && item.equalsIgnoringCase("x-gzip")) { return quality > 0 }
                if item.count == 1 && item[0] == 42 { wildcard = quality > 0 }  // "*"
                start = end + 1
            }
            return wildcard
        }
    }

    /// The coding name of one list element (trimmed) and its `q` (1 when absent, 0 when unreadable).
    private static func itemAndQuality(_ item: UnsafeRawBufferPointer) -> (UnsafeRawBufferPointer, Double) {
        var lower = 0, upper = item.count
        while lower < upper && (item[lower] == 32 || item[lower] == 9) { lower += 1 }
        var nameEnd = lower
        while nameEnd < upper && item[nameEnd] != 59 && item[nameEnd] != 32 && item[nameEnd] != 9 { nameEnd += 1 }  // ";"
        let name = UnsafeRawBufferPointer(rebasing: item[lower..<nameEnd])
        guard let semicolon = item[nameEnd..<upper].firstIndex(of: 59) else { return (name, 1) }
        let parameters = String(decoding: item[(semicolon + 1)..<upper], as: UTF8.self)
        for parameter in parameters.split(separator: ";") {
            let trimmed = parameter.trimmed().lowercased()
            if trimmed.hasPrefix("q=") { return (name, Double(trimmed.dropFirst(2)) ?? 0) }
        }
        return (name, 1)
    }
}
