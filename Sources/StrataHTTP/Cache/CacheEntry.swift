#if canImport(Glibc)
    import Glibc
#endif

/// A stored response and what decides whether it may be reused (RFC 9111 §4).
struct CacheEntry: Sendable {
    var status: HTTPStatus
    /// The stored header fields, without `Age` or hop-by-hop fields.
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The request header values the response varies on (`Vary`), lowercased names.
    var vary: [(String, String?)]
    /// When the response was received (seconds since the epoch) and how old it already was then.
    var storedAt: Int
    var initialAge: Int
    /// How long it is fresh from its origin, in seconds.
    var freshnessLifetime: Int
    var control: CacheControl
    var etag: String?
    var lastModified: Int?
    /// Bytes it holds, for the size limit.
    var size: Int

    /// Seconds since the epoch, the clock `Age` is counted on.
    static var now: Int { time(nil) }

    /// Its age now (RFC 9111 §4.2.3).
    func age(at now: Int) -> Int { initialAge + max(0, now - storedAt) }

    /// Seconds it stays fresh (negative: stale for that long).
    func ttl(at now: Int) -> Int { freshnessLifetime - age(at: now) }

    /// Whether it may be served without asking the origin, for a request with `request` directives.
    func isFresh(at now: Int, request: CacheControl) -> Bool {
        if control.noCache || request.noCache { return false }
        var remaining = ttl(at: now)
        if let maxAge = request.maxAge, age(at: now) > maxAge { return false }
        if let minFresh = request.minFresh { remaining -= minFresh }
        if remaining > 0 { return true }
        // A client may accept stale answers, unless the origin forbade serving them stale.
        if let maxStale = request.maxStale, !control.mustRevalidate, !control.proxyRevalidate, control.sharedMaxAge == nil {
            return -remaining <= maxStale
        }
        return false
    }

    /// Whether it may be served stale while a revalidation runs in the background.
    func mayServeWhileRevalidating(at now: Int) -> Bool {
        guard let window = control.staleWhileRevalidate, !control.mustRevalidate, !control.noCache else { return false }
        return -ttl(at: now) <= window
    }

    /// Whether it may be served stale because the origin failed.
    func mayServeOnError(at now: Int) -> Bool {
        guard let window = control.staleIfError, !control.mustRevalidate, !control.proxyRevalidate else { return false }
        return -ttl(at: now) <= window
    }

    /// Whether `request` carries the header values this response was stored for.
    func matches(_ request: HTTPRequest) -> Bool {
        vary.allSatisfy { name, value in CacheEntry.varyValue(request, name) == value }
    }

    /// A request's value of a `Vary` field, normalised so `gzip, br` and `gzip,br` match.
    static func varyValue(_ request: HTTPRequest, _ name: String) -> String? {
        let values = request.headers.values(name)
        guard !values.isEmpty else { return nil }
        return values.joined(separator: ",").split(separator: ",").map { $0.trimmed().lowercased() }.joined(separator: ",")
    }

    /// The stored answer, with `Age` and `Cache-Status` for this use.
    func response(at now: Int, status cacheStatus: String, omitBody: Bool = false) -> HTTPResponse {
        var response = HTTPResponse(status: status, headers: headers, body: omitBody ? [] : body)
        if omitBody { response.headLength = body.count }
        response.headers.add("Age", String(age(at: now)))
        response.headers.appendCacheStatus(cacheStatus)
        return response
    }
}

extension HTTPHeaders {
    /// Adds this cache's member to `Cache-Status`, after those of caches nearer the origin (RFC 9211 §2).
    mutating func appendCacheStatus(_ member: String) {
        let earlier = values("Cache-Status")
        set("Cache-Status", earlier.isEmpty ? member : (earlier + [member]).joined(separator: ", "))
    }
}
