import Synchronization

/// Caps retries so that a struggling service is not buried under them (the
/// scheme of Finagle's retry budget): every call deposits `ratio` of a token,
/// every retry spends a whole one, and the balance never exceeds `burst`.
/// Over time retries are therefore at most `ratio` of calls, while a burst
/// (a replica dying with many calls in flight) can still be retried at once.
final class RetryBudget: Sendable {
    let burst: Double
    let ratio: Double
    private let tokens: Mutex<Double>

    init(burst: Double = 100, ratio: Double = 0.2) {
        self.burst = burst
        self.ratio = ratio
        tokens = Mutex(burst)
    }

    /// Called once per call, before its first attempt.
    func recordCall() {
        tokens.withLock { $0 = min(burst, $0 + ratio) }
    }

    /// Spends a token for a retry; false when none is left.
    func withdrawForRetry() -> Bool {
        tokens.withLock { tokens in
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
    }
}
