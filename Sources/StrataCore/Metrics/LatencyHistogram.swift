import Synchronization

/// Counts of durations in fixed buckets from 100 µs to 10 s, with their sum:
/// what a latency histogram needs, kept in atomics so recording takes no lock.
public final class LatencyHistogram: Sendable {
    /// The buckets' upper bounds, in microseconds.
    static let boundsMicroseconds: [Int64] = [
        100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
    ]
    /// One count per bound, and one for slower observations.
    private let counts: InlineArray<17, Atomic<UInt64>> = InlineArray { _ in Atomic(0) }
    private let sumMicroseconds = Atomic<UInt64>(0)

    /// An empty histogram.
    public init() {}

    /// Counts one observation of `duration`.
    public func record(_ duration: Duration) {
        let micros = max(0, duration.wholeMicroseconds)
        var index = 0
        while index < Self.boundsMicroseconds.count && micros > Self.boundsMicroseconds[index] { index += 1 }
        counts[index].wrappingAdd(1, ordering: .relaxed)
        sumMicroseconds.wrappingAdd(UInt64(micros), ordering: .relaxed)
    }

    /// Observations so far.
    public var count: UInt64 {
        var total: UInt64 = 0
        for index in 0..<17 { total += counts[index].load(ordering: .relaxed) }
        return total
    }

    /// Writes this histogram as series `name` with `labels`, in seconds.
    public func write(_ name: String, help: String, labels: [(String, String)] = [], into writer: inout MetricsWriter) {
        var buckets: [(upperBound: Double, count: UInt64)] = []
        buckets.reserveCapacity(Self.boundsMicroseconds.count)
        for (index, bound) in Self.boundsMicroseconds.enumerated() {
            buckets.append((Double(bound) / 1_000_000, counts[index].load(ordering: .relaxed)))
        }
        writer.histogram(
            name, help: help, labels: labels, buckets: buckets, overflow: counts[16].load(ordering: .relaxed),
            sum: Double(sumMicroseconds.load(ordering: .relaxed)) / 1_000_000)
    }
}
