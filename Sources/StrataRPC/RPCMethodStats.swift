import StrataCore
import Synchronization

/// Counts and latencies of one method's calls, for `rpc.metrics`.
///
/// Latencies go into power-of-two microsecond buckets (≤ 1 µs, ≤ 2 µs, ...,
/// ≤ 2^24 µs ≈ 16.8 s, then everything slower), which is enough to read
/// percentiles to within a factor of two without storing samples.
final class RPCMethodStats: Sendable {
    static let bucketCount = 26

    private struct State {
        var calls = 0
        var errors: [RPCErrorCode: Int] = [:]
        var buckets = [Int](repeating: 0, count: RPCMethodStats.bucketCount)
        var totalMicroseconds: Int64 = 0
    }

    private let state = Mutex(State())

    func record(_ error: RPCErrorCode?, after elapsed: Duration) {
        let micros = max(1, elapsed.wholeMicroseconds)
        let bucket = min(Self.bucketCount - 1, Int.bitWidth - (micros - 1).leadingZeroBitCount)
        state.withLock { state in
            state.calls += 1
            if let error { state.errors[error, default: 0] += 1 }
            state.buckets[bucket] += 1
            state.totalMicroseconds += micros
        }
    }

    /// Writes this method's calls (by outcome code, `ok` for success) and
    /// latency histogram in Prometheus's text format.
    func write(_ method: String, into writer: inout MetricsWriter) {
        let (calls, errors, buckets, total) = state.withLock { ($0.calls, $0.errors, $0.buckets, $0.totalMicroseconds) }
        let failed = errors.values.reduce(0, +)
        let outcomes = [("ok", calls - failed)] + errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { ("\($0.key)", $0.value) }
        for (code, count) in outcomes {
            writer.add(
                "strata_rpc_server_calls_total", .counter, help: "RPC calls answered, by method and outcome code.",
                labels: [("method", method), ("code", code)], value: count)
        }
        // Bucket i holds calls of at most 2^i µs; the last, everything slower.
        writer.histogram(
            "strata_rpc_server_call_duration_seconds", help: "Time RPC handlers took, by method, in seconds.",
            labels: [("method", method)],
            buckets: (0..<(Self.bucketCount - 1)).map { (Double(1 << $0) / 1_000_000, UInt64(buckets[$0])) },
            overflow: UInt64(buckets[Self.bucketCount - 1]), sum: Double(total) / 1_000_000)
    }

    func snapshot(_ method: String) -> RPCMethodMetrics {
        state.withLock { state in
            RPCMethodMetrics(
                method: method, calls: state.calls,
                errors: Dictionary(uniqueKeysWithValues: state.errors.map { ("\($0.key)", $0.value) }),
                latencyBuckets: state.buckets.enumerated().compactMap { index, count in
                    count == 0 ? nil : RPCMethodMetrics.Bucket(upToMicroseconds: index == Self.bucketCount - 1 ? nil : 1 << index, count: count)
                })
        }
    }
}

/// One entry of `rpc.metrics`.
public struct RPCMethodMetrics: Codable, Sendable, Equatable {
    /// A histogram bucket: calls that took at most `upToMicroseconds` (nil: longer than every bound).
    public struct Bucket: Codable, Sendable, Equatable {
        /// The bucket's upper bound.
        public var upToMicroseconds: Int?
        /// Calls in this bucket (not cumulative).
        public var count: Int
    }

    /// The method name.
    public var method: String
    /// Calls answered, successful or not.
    public var calls: Int
    /// Failed calls by error code name.
    public var errors: [String: Int]
    /// Latency histogram; empty buckets are left out.
    public var latencyBuckets: [Bucket]
}
