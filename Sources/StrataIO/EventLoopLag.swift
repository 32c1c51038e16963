import StrataCore

/// How late each event loop runs a timer: a loop busy with long jobs (or
/// starved of CPU) answers everything late by as much. Each loop sets a timer
/// every `interval` and records how far past its deadline it fired, which
/// includes the timer's own granularity (about a millisecond).
public final class EventLoopLag: MetricsSource {
    private let histograms: [LatencyHistogram]

    /// Starts measuring every loop of `group`; stops when this is deallocated.
    public init(group: EventLoopGroup, every interval: Duration = .milliseconds(250)) {
        histograms = group.loops.map { _ in LatencyHistogram() }
        for (loop, histogram) in zip(group.loops, histograms) {
            loop.execute { [weak self] in self?.tick(loop, histogram, interval) }
        }
    }

    private func tick(_ loop: EventLoop, _ histogram: LatencyHistogram, _ interval: Duration) {
        let due = ContinuousClock.now + interval
        loop.scheduleTimer(after: interval) { [weak self] in
            histogram.record(max(.zero, ContinuousClock.now - due))
            self?.tick(loop, histogram, interval)
        }
    }

    public func collect(into writer: inout MetricsWriter) {
        for (index, histogram) in histograms.enumerated() {
            histogram.write(
                "strata_event_loop_lag_seconds", help: "How late event loops ran their timers, by loop, in seconds.",
                labels: [("loop", String(index))], into: &writer)
        }
    }
}
