/// A cancellable callback scheduled on an event loop.
public final class TimerHandle: @unchecked Sendable {
    let deadline: ContinuousClock.Instant
    /// Dropped once the timer fires or is cancelled: callers keep the handle
    /// next to what the callback captures (an RPC call holds its deadline
    /// timer, whose callback holds the call), and the cycle must not outlive
    /// the timer. Keeping it leaked about 800 bytes per RPC call.
    private var callback: (() -> Void)?
    // Loop-confined: only the owning loop reads or writes these.
    /// Position in the loop's heap; -1 once fired or cancelled.
    var heapIndex = -1
    var isCancelled = false
    /// Set while the timer is in the loop's heap, cleared when it leaves.
    /// Strong, not weak: a weak reference would give the loop a side table,
    /// and every retain of the loop (each task hop) would take the slow path.
    var loop: EventLoop?

    init(deadline: ContinuousClock.Instant, callback: @escaping () -> Void) {
        self.deadline = deadline
        self.callback = callback
    }

    /// Stops the callback from running and removes it from the loop's heap
    /// at once, so a timer per request (RPC deadlines) leaves nothing behind.
    /// Call on the owning loop.
    public func cancel() {
        isCancelled = true  // also stops a timer already taken off the heap in this round
        callback = nil
        guard heapIndex >= 0 else { return }
        loop?.removeTimer(self)
    }

    /// Runs the callback once, unless cancelled. Called by the loop.
    func fire() {
        guard !isCancelled, let callback else { return }
        self.callback = nil
        callback()
    }
}

/// A binary min-heap of timers ordered by deadline. Each timer knows its
/// index, so cancelling removes it in O(log n) instead of leaving it to expire.
struct TimerQueue {
    private var heap: [TimerHandle] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func insert(_ timer: TimerHandle) {
        timer.heapIndex = heap.count
        heap.append(timer)
        siftUp(heap.count - 1)
    }

    mutating func remove(_ timer: TimerHandle) {
        let index = timer.heapIndex
        guard index >= 0, index < heap.count, heap[index] === timer else { return }
        timer.heapIndex = -1
        timer.loop = nil
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap[index] = last
        last.heapIndex = index
        siftDown(index)
        siftUp(last.heapIndex)
    }

    /// Milliseconds until the earliest timer, rounded up; nil when none.
    func millisecondsUntilNext(now: ContinuousClock.Instant) -> Int32? {
        guard let first = heap.first else { return nil }
        if first.deadline <= now { return 0 }
        let (seconds, attoseconds) = (first.deadline - now).components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }

    /// Empties the heap (the loop stopped); the timers never fire.
    mutating func removeAll() {
        for timer in heap {
            timer.heapIndex = -1
            timer.loop = nil
        }
        heap.removeAll()
    }

    /// Removes and returns the timers due at `now`, earliest first.
    mutating func popDue(now: ContinuousClock.Instant) -> [TimerHandle] {
        var due: [TimerHandle] = []
        while let first = heap.first, first.deadline <= now {
            remove(first)
            due.append(first)
        }
        return due
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = parent * 2 + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            swapAt(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].heapIndex = a
        heap[b].heapIndex = b
    }
}
