/// Conditional requests (RFC 9110 §13): whether a request's preconditions
/// hold for the representation it targets, evaluated in the order of §13.2.2.
public enum Preconditions {
    /// What to do with the request.
    public enum Outcome: Equatable, Sendable {
        /// Every precondition holds (or none was sent): answer normally.
        case proceed
        /// `If-None-Match` or `If-Modified-Since` says the client's copy is current: 304.
        case notModified
        /// `If-Match`, `If-Unmodified-Since`, or `If-None-Match` on an unsafe method failed: 412.
        case failed
    }

    /// Evaluates `request`'s preconditions against the selected representation:
    /// its strong `etag` (nil when it has none) and modification time
    /// `lastModified` in seconds since the epoch (nil when unknown).
    /// `exists` is whether there is a current representation at all (`*`).
    public static func evaluate(_ request: HTTPRequest, etag: String?, lastModified: Int?, exists: Bool = true) -> Outcome {
        let headers = request.headers
        let safe = request.method == .get || request.method == .head
        // 1–2: the client's idea of the current state must hold, or nothing happens.
        let ifMatch = headers.values("If-Match")
        if !ifMatch.isEmpty {
            if !matches(ifMatch, etag: etag, exists: exists, weak: false) { return .failed }
        } else if let since = headers["If-Unmodified-Since"].flatMap(HTTPDate.parse), let lastModified, lastModified > since {
            return .failed
        }
        // 3–4: the client's copy may already be current.
        let ifNoneMatch = headers.values("If-None-Match")
        if !ifNoneMatch.isEmpty {
            // A malformed list is ignored rather than guessed at.
            if matches(ifNoneMatch, etag: etag, exists: exists, weak: true, malformedMatches: false) { return safe ? .notModified : .failed }
        } else if safe, let since = headers["If-Modified-Since"].flatMap(HTTPDate.parse), let lastModified, lastModified <= since {
            return .notModified
        }
        return .proceed
    }

    /// Whether the entity-tag lists in `fields` name `etag` (or are `*` and a representation exists).
    /// Strong comparison needs both tags strong and equal; weak comparison ignores `W/`.
    static func matches(
        _ fields: [String], etag: String?, exists: Bool, weak: Bool, malformedMatches: Bool = false
    ) -> Bool {
        var found = false
        for field in fields {
            if field.trimmed() == "*" {
                if exists { found = true }
                continue
            }
            guard let tags = entityTags(field) else { return malformedMatches }
            guard let etag else { continue }
            let mine = etag.hasPrefix("W/") ? (weak ? String(etag.dropFirst(2)) : nil) : etag
            guard let mine else { continue }
            for tag in tags {
                if tag.hasPrefix("W/") {
                    if weak && String(tag.dropFirst(2)) == mine { found = true }
                } else if tag == mine {
                    found = true
                }
            }
        }
        return found
    }

    /// The entity tags of a `#entity-tag` list (`W/"a", "b"`), nil when it is malformed.
    /// An entity tag may hold commas, so the list is read tag by tag, not split.
    static func entityTags(_ field: String) -> [String]? {
        let bytes = Array(field.utf8)
        var tags: [String] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 32 || byte == 9 || byte == 44 {
                i += 1
                continue
            }
            let start = i
            if byte == UInt8(ascii: "W") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "/") else { return nil }
                i += 2
            }
            guard i < bytes.count, bytes[i] == 34 else { return nil }
            i += 1
            while i < bytes.count, bytes[i] != 34 {
                // etagc: %x21 / %x23-7E / obs-text
                guard bytes[i] == 0x21 || bytes[i] >= 0x23 && bytes[i] != 0x7F else { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            i += 1
            tags.append(String(decoding: bytes[start..<i], as: UTF8.self))
            // Only whitespace or a comma may follow a tag.
            guard i == bytes.count || bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 44 else { return nil }
        }
        return tags
    }
}
