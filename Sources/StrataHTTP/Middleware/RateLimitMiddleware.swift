import Synchronization

/// Per-client rate limits (token buckets): every client may make `rate`
/// requests a second with bursts up to `burst`. Attempts at something worth
/// guessing have their own, smaller bucket (`POST /login`, not the page that
/// shows the form: the `AttemptPaths`), and some are never limited (static assets
/// and health checks: a page's stylesheets, or a hundred people in one office
/// loading them at once, must not use up anyone's allowance). Over the limit a
/// request gets 429 with `Retry-After`.
///
/// The client is the peer address, or the first address of
/// `X-Forwarded-For` when the peer is one of `trustedProxies` (a header from
/// anyone else could name any address and dodge the limit).
public struct RateLimitMiddleware: HTTPMiddleware {
    /// A limit: sustained requests per second and the burst allowed above it.
    public struct Limit: Sendable {
        /// Requests per second.
        public var rate: Double
        /// Requests allowed at once beyond the rate.
        public var burst: Double

        /// A limit of `rate` per second with bursts of `burst`.
        public init(rate: Double, burst: Double) {
            self.rate = rate
            self.burst = burst
        }
    }

    /// The general limit by default: 50 requests a second, bursts of 100.
    public static let defaultLimit = Limit(rate: 50, burst: 100)
    /// The limit on attempts (password forms) by default: 1 a second, bursts of 10.
    public static let defaultAttemptLimit = Limit(rate: 1, burst: 10)
    /// Never limited: static assets and health checks.
    public static let defaultExempt = ["/static/", "/healthz", "/readyz"]

    private let general: Limit?
    private let attempts: Limit?
    private let attemptPaths: AttemptPaths
    /// `exempt`, read once: prefixes (entries ending in `/`) and exact paths.
    private let exemptPrefixes: [String]
    private let exemptPaths: [String]
    private let trustedProxies: Set<String>
    private let buckets: Buckets

    /// Limits every client to `general` (nil: no general limit), and its
    /// POSTs to `attemptPaths` to `attempts`, in a bucket per path (nil: no
    /// such limit). Paths in `exempt` are never limited: an entry ending in
    /// `/` is a prefix, any other an exact path.
    public init(
        general: Limit? = RateLimitMiddleware.defaultLimit,
        attempts: Limit? = RateLimitMiddleware.defaultAttemptLimit,
        attemptPaths: AttemptPaths = AttemptPaths(),
        exempt: [String] = RateLimitMiddleware.defaultExempt,
        trustedProxies: Set<String> = []
    ) {
        self.general = general
        self.attempts = attempts
        self.attemptPaths = attemptPaths
        exemptPrefixes = exempt.filter { $0.hasSuffix("/") }
        exemptPaths = exempt.filter { !$0.hasSuffix("/") }
        self.trustedProxies = trustedProxies
        buckets = Buckets()
    }

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        let path = request.path
        if exemptPaths.contains(path) || exemptPrefixes.contains(where: { path.hasPrefix($0) }) { return nil }
        let client = clientAddress(request)
        let key: String
        let limit: Limit
        if request.method == .post, let attempts, attemptPaths.contains(path) {
            key = path + " " + client
            limit = attempts
        } else if let general {
            key = client
            limit = general
        } else {
            return nil
        }
        guard let wait = buckets.take(key, limit: limit, now: ContinuousClock.now) else { return nil }
        var response = HTTPResponse.text("429 Too Many Requests: slow down and try again in \(wait) s\n", status: HTTPStatus(429))
        response.headers.add("Retry-After", String(wait))
        return response
    }

    /// The address the limit applies to.
    func clientAddress(_ request: HTTPRequest) -> String {
        let peer = Self.host(of: request.remoteAddress)
        guard trustedProxies.contains(peer), let forwarded = request.headers["X-Forwarded-For"],
            let first = forwarded.split(separator: ",").first?.trimmed(), !first.isEmpty
        else { return peer }
        return first
    }

    /// The host part of a peer address: `1.2.3.4:5678` → `1.2.3.4`; `[::1]:80` → `::1`.
    public static func host(of address: String) -> String {
        // On UTF-8 bytes: per request, and Character-wise search costs several times more.
        let bytes = address.utf8
        if bytes.first == UInt8(ascii: "["), let end = bytes.firstIndex(of: UInt8(ascii: "]")) {
            return String(address[bytes.index(after: bytes.startIndex)..<end])
        }
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")), bytes.firstIndex(of: UInt8(ascii: ":")) == colon else { return address }
        return String(address[..<colon])
    }
}

/// Token buckets by key, in shards so the event loops seldom meet on one lock.
final class Buckets: Sendable {
    private struct Bucket: Sendable {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private static let shardCount = 16
    /// A shard with more keys than this drops its full buckets (they carry no state).
    private static let maxKeysPerShard = 4_096
    private final class Shard: Sendable {
        let buckets = Mutex<[String: Bucket]>([:])
    }

    private let shards = (0..<Buckets.shardCount).map { _ in Shard() }

    /// Takes a token for `key`; nil when allowed, else the whole seconds to wait.
    func take(_ key: String, limit: RateLimitMiddleware.Limit, now: ContinuousClock.Instant) -> Int? {
        var hasher = Hasher()
        hasher.combine(key)
        let shard = shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.shardCount))]
        return shard.buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(limit.burst, bucket.tokens + seconds * limit.rate)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return max(1, Int(((1 - bucket.tokens) / limit.rate).rounded(.up)))
            }
            bucket.tokens -= 1
            if buckets.count >= Self.maxKeysPerShard {
                buckets = buckets.filter { $0.value.tokens < limit.burst - 1 }
            }
            buckets[key] = bucket
            return nil
        }
    }
}
