import StrataCore
import StrataIO
import Synchronization

/// Times and counts every request by route, method and status, and tracks
/// requests in flight: the `strata_http_*` families of `/metrics`; and, given
/// an endpoint, answers `/metrics` itself (one link in the chain, not two).
///
/// Recording takes no lock and shares no counter between event loops: each
/// loop keeps its own in-flight count and finds its series in a dictionary of
/// its own (the last one used first), and the series count in atomics. Put
/// it first in the chain so it sees every answer, early ones included.
public final class HTTPMetrics: HTTPMiddleware, MetricsSource {
    struct Key: Hashable, Sendable {
        let route: String
        let method: String
        let status: Int
    }

    /// Series beyond this many share the route label `other`: a bound on
    /// what a client sending odd methods can make the scrape hold.
    static let maxSeries = 2_000

    private let series = Mutex<[Key: LatencyHistogram]>([:])
    /// Every loop's cache, for the in-flight sum; and the count of requests
    /// handled off the loops.
    private let allCaches = CacheList()
    private let offLoopInFlight = Atomic<Int>(0)
    private let caches: LoopLocal<SeriesCache>
    private let endpoint: MetricsEndpoint?

    /// An empty set of counters; with `endpoint`, `/metrics` is answered here too.
    public init(endpoint: MetricsEndpoint? = nil) {
        self.endpoint = endpoint
        let all = allCaches
        caches = LoopLocal { _ in
            let cache = SeriesCache()
            all.caches.withLock { $0.append(cache) }
            return cache
        }
    }

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        if let cache = caches.value { cache.inFlight.wrappingAdd(1, ordering: .relaxed) } else { offLoopInFlight.wrappingAdd(1, ordering: .relaxed) }
        // The length first: binding the endpoint copies it (two retains) on every request.
        guard request.path.utf8.count == MetricsEndpoint.path.utf8.count, let endpoint else { return nil }
        return endpoint.intercept(&request)
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        let key = Key(route: response.route ?? "none", method: request.method.rawValue, status: response.status.code)
        let elapsed = ContinuousClock.now - request.receivedAt
        guard let cache = caches.value else {
            offLoopInFlight.wrappingSubtract(1, ordering: .relaxed)
            shared(key).record(elapsed)
            return
        }
        // A request counted on one loop may finish on another (a task
        // resumed elsewhere): only the sum over loops is meaningful.
        cache.inFlight.wrappingSubtract(1, ordering: .relaxed)
        if let last = cache.last, cache.lastKey == key {
            last.record(elapsed)
            return
        }
        let histogram = cache.series[key] ?? shared(key)
        cache.series[key] = histogram
        cache.lastKey = key
        cache.last = histogram
        histogram.record(elapsed)
    }

    private func shared(_ key: Key) -> LatencyHistogram {
        series.withLock { series in
            if let made = series[key] { return made }
            let key = series.count < Self.maxSeries ? key : Key(route: "other", method: "other", status: 0)
            if let made = series[key] { return made }
            let made = LatencyHistogram()
            series[key] = made
            return made
        }
    }

    public func collect(into writer: inout MetricsWriter) {
        let all = series.withLock { $0 }.sorted { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }
        for (key, histogram) in all {
            let labels = [("route", key.route), ("method", key.method), ("status", String(key.status))]
            writer.add(
                "strata_http_requests_total", .counter, help: "HTTP requests answered, by route pattern, method and status.", labels: labels,
                value: Double(histogram.count))
            histogram.write(
                "strata_http_request_duration_seconds", help: "Time from a request's arrival to its answer being ready, in seconds.",
                labels: labels, into: &writer)
        }
        let inFlight =
            allCaches.caches.withLock { $0.reduce(0) { $0 + $1.inFlight.load(ordering: .relaxed) } } + offLoopInFlight.load(ordering: .relaxed)
        writer.add("strata_http_requests_in_flight", .gauge, help: "HTTP requests received and not yet answered.", value: inFlight)
    }
}

/// Every loop's cache, for the scrape.
private final class CacheList: Sendable {
    let caches = Mutex<[SeriesCache]>([])
}

/// One loop's view of the series, so lookups take no lock: loop-confined but
/// for `inFlight`, which the scrape reads.
private final class SeriesCache: @unchecked Sendable {
    var series: [HTTPMetrics.Key: LatencyHistogram] = [:]
    var lastKey: HTTPMetrics.Key?
    var last: LatencyHistogram?
    let inFlight = Atomic<Int>(0)
}
