import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A value each event loop keeps for itself, made on first use on that loop.
///
/// State that every request touches (a cache, a log buffer, a random number
/// generator) is cheapest when no two threads share it: no lock, no cache line
/// bouncing between cores. Off a loop (a task on the global pool, a test)
/// `value` is nil and the caller takes its shared, locked path.
public final class LoopLocal<Value: AnyObject>: Sendable {
    /// Unique per instance for the life of the process, so a loop's slot is
    /// never reused by a later `LoopLocal` at the same address.
    let slot: Int
    private let make: @Sendable (EventLoop) -> Value

    /// A loop-local value made by `make` on each loop that asks for it
    /// (given that loop, for values that schedule work on it).
    public init(_ make: @escaping @Sendable (EventLoop) -> Value) {
        slot = _nextLoopLocalSlot.wrappingAdd(1, ordering: .relaxed).oldValue
        self.make = make
    }

    /// This loop's value, or nil when the caller is not on an event loop.
    public var value: Value? {
        guard let loop = EventLoop.current else { return nil }
        return loop.local(slot: slot) { make(loop) }
    }
}

private let _nextLoopLocalSlot = Atomic<Int>(0)

/// Something a loop calls once at the end of the iteration it was scheduled
/// in (see `EventLoop.flushAtIterationEnd`).
public protocol IterationEndFlushable: AnyObject {
    /// Called on the loop after the iteration's I/O, jobs and timers.
    func flushAtIterationEnd()
}

/// The key of the thread-local `EventLoop.current`.
let currentLoopKey: pthread_key_t = {
    var key = pthread_key_t()
    precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
    return key
}()

extension EventLoop {
    /// The loop running on the calling thread, or nil off the loops.
    public static var current: EventLoop? {
        guard let pointer = pthread_getspecific(currentLoopKey) else { return nil }
        return Unmanaged<EventLoop>.fromOpaque(pointer).takeUnretainedValue()
    }
}
