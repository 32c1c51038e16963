import StrataIO
import Synchronization

/// One server of an upstream group: where it is, how loaded and how healthy
/// it is, and its connections (a pool per event loop).
///
/// Health is two signals. Passive: `maxFailures` consecutive failures
/// (connect errors, timeouts, broken answers) take it out of rotation for
/// `ejectionTime`; after that one request at a time probes it, and the
/// first success puts it back. Active: when the group checks a path, a
/// failed check takes it out until a check passes.
public final class Upstream: Sendable {
    /// Where the server listens.
    public let address: SocketAddress
    /// `host:port`, for a `Host` header naming the upstream.
    let authority: String
    let settings: UpstreamSettings
    /// Connections per event loop at most (`max-connections`, or what the server says it takes).
    let limit: ConnectionLimit
    private let pools: LoopLocal<UpstreamPool>
    /// Requests sent and not yet answered in full.
    let outstanding = Atomic<Int>(0)
    private let failures = Atomic<Int>(0)
    /// Nanoseconds on `Upstream.clock` until which it is out of rotation; 0 when in.
    private let ejectedUntil = Atomic<Int64>(0)
    /// Set while the one probe request after an ejection is in flight.
    private let probing = Atomic<Bool>(false)
    /// The last active health check's verdict.
    let checkedHealthy = Atomic<Bool>(true)
    /// Answers that completed, and failures, for metrics.
    let succeeded = Atomic<Int>(0)
    let failed = Atomic<Int>(0)

    init(address: SocketAddress, authority: String, settings: UpstreamSettings) {
        self.address = address
        self.authority = authority
        self.settings = settings
        let limit = ConnectionLimit(settings.maxConnectionsPerLoop)
        self.limit = limit
        pools = LoopLocal { loop in UpstreamPool(loop: loop, address: address, settings: settings, limit: limit) }
    }

    /// The calling loop's pool of connections to this upstream.
    var pool: UpstreamPool { pools.value! }

    private static let start = ContinuousClock.now
    private static var clock: Int64 {
        let elapsed = (ContinuousClock.now - start).components
        return elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
    }

    /// Whether a request may go here now. After an ejection has run out, the
    /// first caller to ask becomes the probe; others keep away until it answers.
    func admits() -> Bool {
        guard checkedHealthy.load(ordering: .relaxed) else { return false }
        let until = ejectedUntil.load(ordering: .relaxed)
        guard until != 0 else { return true }
        guard Self.clock >= until else { return false }
        return probing.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
    }

    /// Whether `admits` might say yes, without claiming a probe.
    var mayAdmit: Bool {
        guard checkedHealthy.load(ordering: .relaxed) else { return false }
        let until = ejectedUntil.load(ordering: .relaxed)
        return until == 0 || (Self.clock >= until && !probing.load(ordering: .relaxed))
    }

    /// Whether it is in rotation (not ejected, last check passed).
    public var isHealthy: Bool { checkedHealthy.load(ordering: .relaxed) && ejectedUntil.load(ordering: .relaxed) == 0 }

    /// An answer arrived: the failure streak ends and an ejection is over.
    func noteSuccess() {
        succeeded.wrappingAdd(1, ordering: .relaxed)
        if failures.load(ordering: .relaxed) != 0 { failures.store(0, ordering: .relaxed) }
        if ejectedUntil.load(ordering: .relaxed) != 0 {
            ejectedUntil.store(0, ordering: .relaxed)
            probing.store(false, ordering: .relaxed)
        }
    }

    /// A request failed here; returns true when this failure ejected it.
    @discardableResult
    func noteFailure() -> Bool {
        failed.wrappingAdd(1, ordering: .relaxed)
        let streak = failures.wrappingAdd(1, ordering: .relaxed).newValue
        let wasProbe = probing.load(ordering: .relaxed)
        guard streak >= settings.maxFailures || wasProbe else { return false }
        let ejection = settings.ejectionTime.components
        ejectedUntil.store(Self.clock + ejection.seconds * 1_000_000_000 + ejection.attoseconds / 1_000_000_000, ordering: .relaxed)
        probing.store(false, ordering: .relaxed)
        return true
    }
}
