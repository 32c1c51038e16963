import StrataIO

/// A shared HTTP cache (RFC 9111) in front of a handler: proxied and
/// FastCGI answers and the application's own pages, whatever says it may
/// be stored.
///
/// - Stored: answers to GET with explicit freshness (`s-maxage`,
///   `max-age`, `Expires`) or, for statuses cacheable by default, a
///   `Last-Modified` to guess from (a tenth of its age, at most a day);
///   never with `no-store`, `private`, `Set-Cookie`, `Vary: *`, a streamed
///   or file body, or over the size limit.
/// - Requests with `Authorization` or a `Cookie` are someone's own: they
///   are answered from the cache, and their answers stored, only when the
///   answer is explicitly `public` (or has `s-maxage`).
/// - Reused while fresh, with `Age` and `Cache-Status` (RFC 9211); when
///   stale it is revalidated with `If-None-Match`/`If-Modified-Since`
///   (a 304 refreshes it), served stale meanwhile within
///   `stale-while-revalidate`, or instead of a 5xx within `stale-if-error`.
/// - Simultaneous misses for one key send one request upstream; the others
///   get its stored answer (or, when it could not be stored, ask for themselves).
/// - A successful unsafe request (POST, PUT, DELETE, PATCH) drops the
///   entries of its target.
public struct CachingHandler: HTTPHandler {
    private let cache: HTTPCache
    private let inner: any HTTPHandler

    /// Caches `inner`'s answers in `cache`.
    public init(cache: HTTPCache, wrapping inner: any HTTPHandler) {
        self.cache = cache
        self.inner = inner
    }

    /// The statuses a cache may store without explicit freshness (RFC 9110 §15.1).
    static let heuristicallyCacheable: Set<Int> = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        let key = request.target
        guard request.method == .get || request.method == .head else {
            guard !request.method.isSafe else { return inner.handle(request) }
            // RFC 9111 §4.4: a successful unsafe request makes stored answers for its target stale.
            let cache = self.cache
            return inner.handle(request).map { response in
                if response.status.code < 400 { cache.invalidate(key) }
                return response
            }
        }
        let control = CacheControl(request.headers)
        if control.noStore { return forward(request, key: key, status: "strata; fwd=bypass") }
        let personal = request.headers.contains("Authorization") || request.headers.contains("Cookie")
        let now = CacheEntry.now
        if let entry = cache.lookup(key, for: request), !personal || entry.control.isPublic || entry.control.sharedMaxAge != nil {
            if entry.isFresh(at: now, request: control) {
                return .response(answer(entry, request, now: now, status: "strata; hit; ttl=\(entry.ttl(at: now))"))
            }
            if control.onlyIfCached { return .response(Self.notCached) }
            if entry.mayServeWhileRevalidating(at: now) {
                revalidateInBackground(entry, request, key: key)
                return .response(
                    answer(entry, request, now: now, status: "strata; hit; ttl=\(entry.ttl(at: now)); detail=stale-while-revalidate"))
            }
            return revalidate(entry, request, key: key)
        }
        if control.onlyIfCached { return .response(Self.notCached) }
        return miss(request, key: key, personal: personal)
    }

    static let notCached = HTTPResponse.text("504 Gateway Timeout: not in the cache (only-if-cached)\n", status: .gatewayTimeout)

    /// An entry's answer to `request`: 304 when its own validators match, the body left out for HEAD.
    private func answer(_ entry: CacheEntry, _ request: HTTPRequest, now: Int, status: String) -> HTTPResponse {
        if entry.status.code == 200, Preconditions.evaluate(request, etag: entry.etag, lastModified: entry.lastModified) == .notModified {
            var response = entry.response(at: now, status: status, omitBody: true)
            response.status = .notModified
            return response
        }
        return entry.response(at: now, status: status, omitBody: request.method == .head)
    }

    // MARK: Misses

    private func miss(_ request: HTTPRequest, key: String, personal: Bool) -> HTTPOutcome {
        // Only GETs are fetched once for all: a HEAD's answer has no body to share.
        guard request.method == .get else { return forward(request, key: key, status: "strata; fwd=miss") }
        let cache = self.cache
        let inner = self.inner
        return .onLoop { responder in
            let leader = cache.beginFetch(key) { entry in
                responder.loop.execute {
                    if let entry, entry.matches(request), !personal || entry.control.isPublic || entry.control.sharedMaxAge != nil {
                        responder.respond(
                            CachingHandler(cache: cache, wrapping: inner).answer(
                                entry, request, now: CacheEntry.now, status: "strata; hit; collapsed"))
                    } else {
                        inner.handle(request).deliver(to: responder)
                    }
                }
            }
            guard leader else { return }
            inner.handle(request).map { response in
                var response = response
                let entry = Self.storable(response, for: request)
                cache.finishFetch(key, storing: entry)
                response.headers.appendCacheStatus(entry != nil ? "strata; fwd=miss; stored" : "strata; fwd=miss")
                return response
            }.deliver(to: responder)
        }
    }

    /// Passes the request on, and its answer back with `status`, storing nothing.
    private func forward(_ request: HTTPRequest, key: String, status: String) -> HTTPOutcome {
        inner.handle(request).map { response in
            var response = response
            response.headers.appendCacheStatus(status)
            return response
        }
    }

    // MARK: Revalidation

    /// The stale `entry`'s validators on a copy of `request`.
    private static func conditional(_ request: HTTPRequest, for entry: CacheEntry) -> HTTPRequest {
        var conditional = request
        conditional.method = .get
        conditional.headers.set("Cache-Control", "max-age=0")
        if let etag = entry.etag { conditional.headers.set("If-None-Match", etag) }
        if let lastModified = entry.lastModified { conditional.headers.set("If-Modified-Since", HTTPDate.format(epochSeconds: lastModified)) }
        return conditional
    }

    private func revalidate(_ entry: CacheEntry, _ request: HTTPRequest, key: String) -> HTTPOutcome {
        let cache = self.cache
        let handler = self
        return inner.handle(Self.conditional(request, for: entry)).map { response in
            let now = CacheEntry.now
            if response.status.code == 304, let refreshed = Self.refreshed(entry, with: response) {
                cache.store(refreshed, under: key)
                return handler.answer(refreshed, request, now: now, status: "strata; fwd=stale; fwd-status=304")
            }
            if response.status.code >= 500, entry.mayServeOnError(at: now) {
                return handler.answer(
                    entry, request, now: now, status: "strata; fwd=stale; fwd-status=\(response.status.code); detail=stale-if-error")
            }
            var response = response
            if let fresh = Self.storable(response, for: request) {
                cache.store(fresh, under: key)
                response.headers.appendCacheStatus("strata; fwd=stale; fwd-status=\(response.status.code); stored")
            } else {
                cache.invalidate(key)
                response.headers.appendCacheStatus("strata; fwd=stale; fwd-status=\(response.status.code)")
            }
            return response
        }
    }

    private func revalidateInBackground(_ entry: CacheEntry, _ request: HTTPRequest, key: String) {
        // One revalidation per key at a time: it goes through the coalescing table.
        guard let loop = EventLoop.current, cache.beginFetch(key, waiter: { _ in }) else { return }
        let cache = self.cache
        inner.handle(Self.conditional(request, for: entry)).deliver(
            to: HTTPResponder(loop: loop) { response in
                if response.status.code == 304, let refreshed = Self.refreshed(entry, with: response) {
                    cache.finishFetch(key, storing: refreshed)
                } else if let fresh = Self.storable(response, for: request) {
                    cache.finishFetch(key, storing: fresh)
                } else {
                    // Keep serving the stale entry on a failed refresh; its windows will run out.
                    cache.finishFetch(key, storing: nil)
                }
            })
    }

    /// `entry` with the header fields of a 304 that validated it (RFC 9111 §4.3.4), stored anew.
    static func refreshed(_ entry: CacheEntry, with response: HTTPResponse) -> CacheEntry? {
        var merged = HTTPResponse(status: entry.status, headers: entry.headers, body: entry.body)
        for (name, value) in response.headers where !name.caseInsensitiveEquals("Content-Length") && !name.caseInsensitiveEquals("Cache-Status") {
            merged.headers.set(name, value)
        }
        var request = HTTPRequest(method: .get, target: "/")
        for (name, value) in entry.vary { if let value { request.headers.add(name, value) } }
        return storable(merged, for: request, varyFrom: entry.vary)
    }

    // MARK: Storing

    /// The entry to store for `response` to `request`, or nil when it may not be stored.
    static func storable(_ response: HTTPResponse, for request: HTTPRequest, varyFrom stored: [(String, String?)]? = nil) -> CacheEntry? {
        guard request.method == .get, response.stream == nil, response.file == nil, response.localRedirect == nil else { return nil }
        let code = response.status.code
        guard code >= 200, code != 206, code != 304 else { return nil }
        let control = CacheControl(response.headers)
        if control.noStore || control.isPrivate || response.headers.contains("Set-Cookie") { return nil }
        let personal = request.headers.contains("Authorization") || request.headers.contains("Cookie")
        if personal && !control.isPublic && control.sharedMaxAge == nil { return nil }
        let now = CacheEntry.now
        let lastModified = response.headers["Last-Modified"].flatMap(HTTPDate.parse)
        let lifetime: Int
        if let shared = control.sharedMaxAge {
            lifetime = shared
        } else if control.invalidMaxAge {
            lifetime = 0
        } else if let maxAge = control.maxAge {
            lifetime = maxAge
        } else if let expires = response.headers["Expires"] {
            let date = response.headers["Date"].flatMap(HTTPDate.parse) ?? now
            lifetime = HTTPDate.parse(expires).map { max(0, $0 - date) } ?? 0
        } else if heuristicallyCacheable.contains(code), let lastModified, lastModified < now {
            lifetime = min((now - lastModified) / 10, 86_400)
        } else {
            return nil
        }
        let etag = response.headers["ETag"]
        // An answer stale from the start is worth keeping only if it can be revalidated.
        guard lifetime > 0 || etag != nil || lastModified != nil else { return nil }
        var varyNames = ["host"]
        for value in response.headers.values("Vary") {
            for name in value.split(separator: ",").map({ $0.trimmed().lowercased() }) where !name.isEmpty {
                if name == "*" { return nil }
                varyNames.append(name)
            }
        }
        let vary = stored ?? varyNames.map { ($0, CacheEntry.varyValue(request, $0)) }
        var headers = HTTPHeaders(capacity: response.headers.count)
        for (name, value) in response.headers where !name.caseInsensitiveEquals("Age") && !name.caseInsensitiveEquals("Cache-Status") {
            headers.add(name, value)
        }
        let initialAge = response.headers["Age"].flatMap { Int($0) }.map { max(0, $0) } ?? 0
        let size = response.body.count + headers.reduce(64) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        return CacheEntry(
            status: response.status, headers: headers, body: response.body, vary: vary, storedAt: now, initialAge: initialAge,
            freshnessLifetime: lifetime, control: control, etag: etag, lastModified: lastModified, size: size)
    }
}

extension HTTPOutcome {
    /// The same outcome with `transform` applied to its answer, keeping its kind
    /// (a task stays a task, so cancelling it when the client leaves still works).
    func map(_ transform: @escaping @Sendable (HTTPResponse) -> HTTPResponse) -> HTTPOutcome {
        switch self {
        case .response(let response): .response(transform(response))
        case .later(let work): .later { transform(await work()) }
        case .onLoop(let start): .onLoop { responder in start(responder.wrapped { $0 = transform($0) }) }
        }
    }

    /// Gives the answer to `responder`, on its loop, whatever the outcome's kind.
    func deliver(to responder: HTTPResponder) {
        switch self {
        case .response(let response):
            responder.respond(response)
        case .later(let work):
            let task = Task {
                let response = await work()
                responder.loop.execute { responder.respond(response) }
            }
            responder.onCancel = { task.cancel() }
        case .onLoop(let start):
            start(responder)
        }
    }
}
