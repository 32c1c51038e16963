import StrataCore
import StrataIO
import Synchronization

/// Servers that can all answer the same requests, and how to choose among them.
public final class UpstreamGroup: Sendable {
    /// How the next request's server is chosen.
    public enum Balancing: String, Sendable {
        /// The server with the fewest requests outstanding (ties rotate), as
        /// the RPC client chooses among app replicas.
        case leastOutstanding = "least-outstanding"
        /// Each server in turn.
        case roundRobin = "round-robin"
    }

    /// An active health check: `GET path` on each server every `interval`;
    /// a 2xx or 3xx answer within the interval passes.
    public struct HealthCheck: Sendable {
        public var path: String
        public var interval: Duration

        public init(path: String, interval: Duration = .seconds(5)) {
            self.path = path
            self.interval = interval
        }
    }

    /// The servers, in the order given.
    public let upstreams: [Upstream]
    public let balancing: Balancing
    public let healthCheck: HealthCheck?
    let settings: UpstreamSettings
    private let cursor = Atomic<Int>(0)

    /// A group of `addresses` (each `host:port` or a Unix socket path).
    public init(
        addresses: [SocketAddress], balancing: Balancing = .leastOutstanding, healthCheck: HealthCheck? = nil,
        settings: UpstreamSettings = UpstreamSettings()
    ) {
        upstreams = addresses.map { Upstream(address: $0, authority: $0.description, settings: settings) }
        self.balancing = balancing
        self.healthCheck = healthCheck
        self.settings = settings
    }

    /// The server for the next request, leaving out those already `tried`;
    /// nil when none admits requests now.
    func pick(excluding tried: [Upstream]) -> Upstream? {
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        let count = upstreams.count
        switch balancing {
        case .roundRobin:
            for offset in 0..<count {
                let upstream = upstreams[(start &+ offset) % count]
                if !tried.contains(where: { $0 === upstream }) && upstream.admits() { return upstream }
            }
            return nil
        case .leastOutstanding:
            // One scan from a rotating start, so ties spread; `admits` is asked
            // only of the winner, since asking claims an ejected server's probe.
            var skipped = tried
            while true {
                var best: Upstream?
                var bestLoad = Int.max
                for offset in 0..<count {
                    let upstream = upstreams[(start &+ offset) % count]
                    guard upstream.mayAdmit, !skipped.contains(where: { $0 === upstream }) else { continue }
                    let load = upstream.outstanding.load(ordering: .relaxed)
                    if load < bestLoad {
                        best = upstream
                        bestLoad = load
                    }
                }
                guard let best else { return nil }
                if best.admits() { return best }
                skipped.append(best)
            }
        }
    }

    /// Runs the active health checks until the task is cancelled.
    func checkHealth(on loop: EventLoop, logger: Logger) async {
        guard let check = healthCheck else { return }
        while !Task.isCancelled {
            for upstream in upstreams {
                let healthy = await UpstreamFetch.status(of: check.path, at: upstream, on: loop, timeout: check.interval).map { $0 < 400 } ?? false
                let was = upstream.checkedHealthy.exchange(healthy, ordering: .relaxed)
                if was != healthy {
                    let address = upstream.address.description
                    if healthy {
                        logger.info("upstream passed its health check; back in rotation", ("upstream", address), ("path", check.path))
                    } else {
                        logger.warning("upstream failed its health check; out of rotation", ("upstream", address), ("path", check.path))
                    }
                }
            }
            try? await Task.sleep(for: check.interval)
        }
    }
}
