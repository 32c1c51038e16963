import Synchronization

/// Caps retries so that a struggling service is not buried under them (the
/// scheme of Finagle's retry budget): every call deposits `ratio` of a token,
/// every retry spends a whole one, and the balance never exceeds `burst`.
/// Over time retries are therefore at most `ratio` of calls, while a burst
/// (a replica dying with many calls in flight) can still be retried at once.
///
/// Tokens are kept in thousandths in one atomic: every call touches the
/// budget, and a full budget (the usual state) costs a deposit only a load.
final class RetryBudget: Sendable {
    private let burst: Int
    private let deposit: Int
    private let milliTokens: Atomic<Int>

    init(burst: Double = 100, ratio: Double = 0.2) {
        self.burst = Int(burst * 1000)
        deposit = Int(ratio * 1000)
        milliTokens = Atomic(self.burst)
    }

    /// Called once per call, before its first attempt.
    func recordCall() {
        var current = milliTokens.load(ordering: .relaxed)
        while current < burst {
            let (exchanged, actual) = milliTokens.compareExchange(
                expected: current, desired: min(burst, current + deposit), ordering: .relaxed)
            if exchanged { return }
            current = actual
        }
    }

    /// Spends a token for a retry; false when none is left.
    func withdrawForRetry() -> Bool {
        var current = milliTokens.load(ordering: .relaxed)
        while current >= 1000 {
            let (exchanged, actual) = milliTokens.compareExchange(expected: current, desired: current - 1000, ordering: .relaxed)
            if exchanged { return true }
            current = actual
        }
        return false
    }
}
