#if canImport(Glibc)
    import Glibc
#endif

/// How long an event loop keeps polling for more work before it sleeps.
///
/// Waking a sleeping thread costs tens of microseconds on a virtual machine
/// (on the 2-core reference VM a blocking TCP ping-pong between two threads
/// takes 77 µs, a polling one 13 µs), and every request crosses two tiers, so
/// each hop would pay it twice. After an iteration that did work a loop
/// therefore polls `epoll_wait` without blocking, yielding the core between
/// polls, for this long before it blocks (only after work on connections
/// between tiers or to upstreams, not on browsers' connections: see
/// `EventLoop.pollAfterIteration`). An idle loop does not poll: it
/// costs at most this much CPU after each burst of work. The same trade is
/// made by Go's scheduler (spinning threads) and by Linux guests' haltpoll.
public enum BusyPoll {
    /// The default: 50 µs.
    public static let standard: Duration = .microseconds(50)

    /// `STRATA_BUSY_POLL_US` (microseconds, 0 turns polling off), or `standard`.
    public static var configured: Duration {
        guard let raw = getenv("STRATA_BUSY_POLL_US"), let micros = Int(String(cString: raw)), micros >= 0 else {
            return standard
        }
        return .microseconds(micros)
    }
}

extension Duration {
    var isZero: Bool { self == .zero }
}
