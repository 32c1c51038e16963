/// A cancellable callback scheduled on an event loop.
public final class TimerHandle: @unchecked Sendable {
    let deadline: ContinuousClock.Instant
    let callback: () -> Void
    // Loop-confined: only the owning loop reads or writes it.
    var isCancelled = false

    init(deadline: ContinuousClock.Instant, callback: @escaping () -> Void) {
        self.deadline = deadline
        self.callback = callback
    }

    /// Stops the callback from running. Call on the owning loop.
    public func cancel() { isCancelled = true }
}

/// A binary min-heap of timers ordered by deadline.
///
/// Connections keep at most one pending timer each and re-arm it when it fires
/// early (see `Connection`), so cancelled entries never pile up.
struct TimerQueue {
    private var heap: [TimerHandle] = []

    var isEmpty: Bool { heap.isEmpty }

    mutating func insert(_ timer: TimerHandle) {
        heap.append(timer)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Milliseconds until the earliest live timer, rounded up; nil when none.
    mutating func millisecondsUntilNext(now: ContinuousClock.Instant) -> Int32? {
        while let first = heap.first, first.isCancelled { _ = popFirst() }
        guard let first = heap.first else { return nil }
        if first.deadline <= now { return 0 }
        let (seconds, attoseconds) = (first.deadline - now).components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }

    /// Removes and returns the timers due at `now`, earliest first.
    mutating func popDue(now: ContinuousClock.Instant) -> [TimerHandle] {
        var due: [TimerHandle] = []
        while let first = heap.first, first.deadline <= now {
            let timer = popFirst()
            if !timer.isCancelled { due.append(timer) }
        }
        return due
    }

    private mutating func popFirst() -> TimerHandle {
        let first = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = parent * 2 + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
