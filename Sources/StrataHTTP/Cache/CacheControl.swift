/// The `Cache-Control` directives a shared cache acts on (RFC 9111 §5.2),
/// from a request or a response. Unknown directives are ignored, as the
/// RFC asks; a malformed number counts as absent, except that an invalid
/// `max-age` on a response makes it stale (§4.2.1).
struct CacheControl: Equatable, Sendable {
    var maxAge: Int?
    var sharedMaxAge: Int?
    var noStore = false
    var noCache = false
    var isPrivate = false
    var isPublic = false
    var mustRevalidate = false
    var proxyRevalidate = false
    var staleWhileRevalidate: Int?
    var staleIfError: Int?
    var onlyIfCached = false
    var maxStale: Int?
    var minFresh: Int?
    /// A `max-age` that was present but not a number.
    var invalidMaxAge = false

    init() {}

    init(_ headers: HTTPHeaders) {
        for value in headers.values("Cache-Control") {
            for directive in value.split(separator: ",") {
                let parts = directive.split(separator: "=", maxSplits: 1)
                guard let rawName = parts.first else { continue }
                let name = rawName.trimmed().lowercased()
                var argument = parts.count == 2 ? parts[1].trimmed() : nil
                if let quoted = argument, quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") {
                    argument = String(quoted.dropFirst().dropLast())
                }
                let seconds = argument.flatMap { Int($0) }.map { max(0, $0) }
                switch name {
                case "max-age":
                    maxAge = seconds
                    invalidMaxAge = seconds == nil
                case "s-maxage": sharedMaxAge = seconds
                case "no-store": noStore = true
                case "no-cache": noCache = true
                case "private": isPrivate = true
                case "public": isPublic = true
                case "must-revalidate": mustRevalidate = true
                case "proxy-revalidate": proxyRevalidate = true
                case "stale-while-revalidate": staleWhileRevalidate = seconds
                case "stale-if-error": staleIfError = seconds
                case "only-if-cached": onlyIfCached = true
                case "max-stale": maxStale = seconds ?? Int.max
                case "min-fresh": minFresh = seconds
                default: continue
                }
            }
        }
    }
}
