import StrataCore
import StrataIO
import Synchronization

/// Times and counts every request by route, method and status, and tracks
/// requests in flight: the `strata_http_*` families of `/metrics`.
///
/// Recording takes no lock on an event loop: each loop finds its series in a
/// dictionary of its own, and the series count in atomics. Put it first in
/// the chain so it sees every answer, early ones included.
public final class HTTPMetrics: HTTPMiddleware, MetricsSource {
    struct Key: Hashable, Sendable {
        let route: String
        let method: String
        let status: Int
    }

    /// Series beyond this many share the route label `other`: a bound on
    /// what a client sending odd methods can make the scrape hold.
    static let maxSeries = 2_000

    private let inFlight = Atomic<Int>(0)
    private let series = Mutex<[Key: LatencyHistogram]>([:])
    private let caches = LoopLocal { _ in SeriesCache() }

    /// An empty set of counters.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        inFlight.wrappingAdd(1, ordering: .relaxed)
        return nil
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        let key = Key(route: response.route ?? "none", method: request.method.rawValue, status: response.status.code)
        let elapsed = ContinuousClock.now - request.receivedAt
        if let cache = caches.value {
            if let histogram = cache.series[key] {
                histogram.record(elapsed)
                return
            }
            let histogram = shared(key)
            cache.series[key] = histogram
            histogram.record(elapsed)
        } else {
            shared(key).record(elapsed)
        }
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
        writer.add(
            "strata_http_requests_in_flight", .gauge, help: "HTTP requests received and not yet answered.",
            value: inFlight.load(ordering: .relaxed))
    }
}

/// One loop's view of the series, so lookups take no lock. Loop-confined.
private final class SeriesCache {
    var series: [HTTPMetrics.Key: LatencyHistogram] = [:]
}
