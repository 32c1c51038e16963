import Synchronization

/// Something that reports metrics when scraped: a server, a client, a pool.
/// Values are read at scrape time, so a source keeps whatever counters are
/// cheapest on its own hot path.
public protocol MetricsSource: AnyObject, Sendable {
    /// Adds this source's current samples to `writer`.
    func collect(into writer: inout MetricsWriter)
}

/// A tier's metrics: the sources it was given, rendered together for
/// `GET /metrics`. Sources are held weakly, so a server that goes away stops
/// reporting without being removed.
public final class MetricsRegistry: Sendable {
    private struct Entry {
        weak var source: (any MetricsSource)?
        /// Set for sources only the registry holds (`keep`).
        var owned: (any MetricsSource)?
    }

    private let entries = Mutex<[Entry]>([])

    /// An empty registry.
    public init() {}

    /// Adds `source`; it reports until it is deallocated (a server, which
    /// its owner keeps while it serves).
    public func add(_ source: any MetricsSource) {
        entries.withLock { entries in
            entries.removeAll { $0.source == nil }
            entries.append(Entry(source: source))
        }
    }

    /// Adds `source` and keeps it alive as long as the registry: for sources
    /// nothing else holds (process statistics, a loop-lag monitor).
    public func keep(_ source: any MetricsSource) {
        entries.withLock { $0.append(Entry(source: source, owned: source)) }
    }

    /// Every live source's samples, in Prometheus text format.
    public func render() -> String {
        let sources = entries.withLock { $0.compactMap(\.source) }
        var writer = MetricsWriter()
        for source in sources { source.collect(into: &writer) }
        return writer.text
    }
}
