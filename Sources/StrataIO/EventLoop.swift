import CStrataShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Something registered in a loop's epoll set. Called only on that loop's thread.
protocol Selectable: AnyObject {
    func handleEvents(_ events: UInt32)
    /// Whether the loop keeps polling after handling this one's events (see `EventLoop.pollAfterIteration`).
    var pollsAfterActivity: Bool { get }
    /// The loop is stopping: deregister, close the descriptor and mark it
    /// closed, so nothing closes the same number again later (by then it may
    /// belong to someone else).
    func loopStopped()
}

extension Selectable {
    var pollsAfterActivity: Bool { true }
}

/// One thread that owns an epoll set, an eventfd for wake-ups and a timer heap.
///
/// Sockets registered with a loop are only touched on its thread; other threads
/// hand work over with `execute(_:)`. This confinement is what makes the
/// `@unchecked Sendable` classes of this module safe.
public final class EventLoop: @unchecked Sendable {
    /// Position of this loop in its group, for logs and metrics.
    public let index: Int
    private let epollFD: Int32
    private let wakeFD: Int32
    private let pending = Mutex<[Work]>([])
    /// The jobs of the current round, swapped with `pending` so that neither
    /// array is reallocated per round.
    @exclusivity(unchecked) private var running: [Work] = []
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let threadID = Atomic<UInt>(0)
    private let finished = Mutex<Bool>(false)
    // Loop-confined state (no runtime exclusivity checks: see `Connection`).
    /// Scratch space every socket read on this loop goes through, so an idle
    /// connection holds no read buffer of its own.
    let readScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
    /// Where small queued buffers are gathered into one TLS record (a full record's worth).
    let recordScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
    /// Scratch space for the iovecs of one `writev` on this loop.
    let writeVectors = UnsafeMutablePointer<iovec>.allocate(capacity: EventLoop.writeVectorCount)
    /// Buffers one `writev` sends at most.
    static let writeVectorCount = 64
    /// Indexed by file descriptor: the kernel hands out the lowest free
    /// number, so this stays dense and a lookup per event costs no hashing.
    @exclusivity(unchecked) private var registrations: [(any Selectable)?] = []
    @exclusivity(unchecked) private var timers = TimerQueue()
    /// A job was queued from the loop itself (no eventfd signal): the next
    /// `epoll_wait` must not block.
    @exclusivity(unchecked) private var queuedFromLoop = false
    /// Connections whose queued output is written at the end of this iteration.
    @exclusivity(unchecked) private var flushQueue: [Connection] = []
    /// Loop-local values (`LoopLocal`), by slot.
    @exclusivity(unchecked) private var locals: [AnyObject?] = []
    /// Called once when the current iteration ends (buffered log lines, say).
    @exclusivity(unchecked) private var iterationEndQueue: [any IterationEndFlushable] = []
    /// When the current iteration's events arrived. Per-request bookkeeping
    /// (activity times, receive times) reads this instead of the clock.
    @exclusivity(unchecked) public private(set) var now = ContinuousClock.now
    /// How long the loop keeps polling after a busy iteration before it
    /// blocks in the kernel (see `BusyPoll`).
    private let busyPoll: Duration
    /// Whether this iteration did work after which more is expected within
    /// microseconds (see `pollAfterIteration`).
    @exclusivity(unchecked) private var pollRequested = false
    private var threadName = ""

    /// Creates a loop and starts its thread.
    ///
    /// - Parameter busyPoll: how long to keep polling without blocking after
    ///   an iteration that did work; zero blocks at once. See `BusyPoll`.
    /// - Parameter name: the thread's name in `top -H` and profiles (15 characters at most).
    public static func start(index: Int = 0, name: String? = nil, busyPoll: Duration = BusyPoll.configured) -> EventLoop {
        _ = ignoreBrokenPipes
        let loop = EventLoop(index: index, busyPoll: busyPoll)
        loop.threadName = name ?? "strata-loop-\(index)"
        var thread = pthread_t()
        let context = Unmanaged.passRetained(loop).toOpaque()
        let status = pthread_create(
            &thread, nil,
            { context in
                let loop = Unmanaged<EventLoop>.fromOpaque(context!).takeRetainedValue()
                // Named for `top -H` and perf; otherwise it inherits the name of
                // whichever pool thread created it.
                strata_set_thread_name(loop.threadName)
                loop.run()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
        return loop
    }

    /// A write to a socket whose peer has gone raises SIGPIPE, whose default
    /// action ends the process: `send` can be told not to (MSG_NOSIGNAL), but
    /// `writev` and `sendfile` cannot. A client that resets the connection
    /// in the middle of a large answer once killed strata-web this way. Any
    /// process running loops ignores it and sees EPIPE instead.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    private init(index: Int, busyPoll: Duration) {
        self.index = index
        self.busyPoll = busyPoll
        epollFD = strata_epoll_create()
        wakeFD = strata_eventfd()
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll/eventfd creation failed: \(errno)")
        _ = strata_epoll_ctl(epollFD, STRATA_EPOLL_CTL_ADD, wakeFD, STRATA_EPOLLIN)
    }

    deinit {
        // Only after the thread ended: it holds the loop while it runs.
        readScratch.deallocate()
        recordScratch.deallocate()
        writeVectors.deallocate()
    }

    /// Whether the caller runs on this loop's thread.
    public var inEventLoop: Bool {
        pthread_equal(pthread_self(), threadID.load(ordering: .acquiring)) != 0
    }

    /// Something to run on the loop: a closure, or a Swift task's job (kept
    /// apart so a task hop allocates no closure).
    enum Work: Sendable {
        case closure(@Sendable () -> Void)
        case task(UnownedJob)
    }

    /// Runs `job` on the loop's thread, after the current iteration's I/O.
    public func execute(_ job: @escaping @Sendable () -> Void) {
        schedule(.closure(job))
    }

    func schedule(_ work: Work) {
        pending.withLock { $0.append(work) }
        // On the loop itself (a task with this loop as its executor, say) the
        // job runs after the current events anyway: no wake-up needed.
        if inEventLoop {
            queuedFromLoop = true
            return
        }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            _ = strata_eventfd_signal(wakeFD)
        }
    }

    /// Runs `job` on the loop and returns its result to an async caller.
    public func submit<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            execute {
                continuation.resume(with: Result { try job() })
            }
        }
    }

    /// Schedules `callback` after `delay`. Call on the loop's thread.
    @discardableResult
    public func scheduleTimer(after delay: Duration, _ callback: @escaping () -> Void) -> TimerHandle {
        let timer = TimerHandle(deadline: .now + delay, callback: callback)
        timer.loop = self
        timers.insert(timer)
        return timer
    }

    /// Stops the loop after its current iteration and closes what is
    /// registered. Called from another thread, it waits (up to five seconds)
    /// for the loop's thread to finish: a process may then exit without a
    /// loop still running while `exit` tears down the libraries it uses.
    public func shutdown() {
        requestStop()
        waitUntilStopped()
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        _ = strata_eventfd_signal(wakeFD)
    }

    func waitUntilStopped() {
        guard !inEventLoop else { return }
        for _ in 0..<5_000 where !finished.withLock({ $0 }) { usleep(1_000) }
    }

    func removeTimer(_ timer: TimerHandle) { timers.remove(timer) }

    func scheduleFlush(_ connection: Connection) { flushQueue.append(connection) }

    /// Calls `flushable` once at the end of the current iteration, after its
    /// I/O, jobs and timers, before the loop waits again. Call on the loop;
    /// schedule each object at most once per iteration.
    public func flushAtIterationEnd(_ flushable: any IterationEndFlushable) { iterationEndQueue.append(flushable) }

    /// One pass: what is scheduled during it (a flush that found its lock
    /// taken, say) runs at the end of the next iteration, which then comes
    /// within a millisecond even if no event arrives.
    private func runIterationEnd() {
        guard !iterationEndQueue.isEmpty else { return }
        let due = iterationEndQueue
        iterationEndQueue.removeAll(keepingCapacity: true)
        for item in due { item.flushAtIterationEnd() }
    }

    /// The value in `slot`, made by `make` the first time. Call on the loop.
    func local<Value: AnyObject>(slot: Int, make: () -> Value) -> Value {
        if slot < locals.count, let value = locals[slot] { return unsafeDowncast(value, to: Value.self) }
        if slot >= locals.count { locals.append(contentsOf: repeatElement(nil, count: slot + 1 - locals.count)) }
        let value = make()
        locals[slot] = value
        return value
    }

    private func flushScheduledOutput() {
        while !flushQueue.isEmpty {
            let due = flushQueue
            flushQueue.removeAll(keepingCapacity: true)
            for connection in due { connection.flushScheduledOutput() }
        }
    }

    /// Timers pending on this loop (for tests). Call on the loop.
    var pendingTimers: Int { timers.count }

    func register(_ selectable: any Selectable, fd: Int32, events: UInt32) throws(SocketError) {
        guard strata_epoll_ctl(epollFD, STRATA_EPOLL_CTL_ADD, fd, events) == 0 else {
            throw SocketError(operation: "epoll add", errno: errno)
        }
        let index = Int(fd)
        if index >= registrations.count {
            registrations.append(contentsOf: repeatElement(nil, count: index + 1 - registrations.count))
        }
        registrations[index] = selectable
    }

    func modify(fd: Int32, events: UInt32) {
        _ = strata_epoll_ctl(epollFD, STRATA_EPOLL_CTL_MOD, fd, events)
    }

    func deregister(fd: Int32) {
        _ = strata_epoll_ctl(epollFD, STRATA_EPOLL_CTL_DEL, fd, 0)
        if Int(fd) < registrations.count { registrations[Int(fd)] = nil }
    }

    private func run() {
        threadID.store(pthread_self(), ordering: .releasing)
        pthread_setspecific(currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
        let capacity: Int32 = 256
        var fds = [Int32](repeating: 0, count: Int(capacity))
        var events = [UInt32](repeating: 0, count: Int(capacity))
        var busy = false
        while !stopRequested.load(ordering: .acquiring) {
            var count: Int32 = 0
            if busy && !busyPoll.isZero && !queuedFromLoop {
                count = poll(for: busyPoll, fds: &fds, events: &events, capacity: capacity)
            }
            if count == 0 {
                // Jobs queued from the loop itself (which does not wake it) run without waiting.
                var timeout = queuedFromLoop ? 0 : timers.millisecondsUntilNext(now: .now) ?? -1
                if !iterationEndQueue.isEmpty && (timeout < 0 || timeout > 1) { timeout = 1 }
                count = strata_epoll_wait(epollFD, &fds, &events, capacity, timeout)
                if count < 0 && errno != EINTR {
                    preconditionFailure("epoll_wait failed: \(String(cString: strerror(errno)))")
                }
            }
            now = .now
            for i in 0..<Int(max(count, 0)) {
                let fd = Int(fds[i])
                if fd == wakeFD {
                    _ = strata_eventfd_drain(wakeFD)
                    wakePending.store(false, ordering: .releasing)
                    pollRequested = true
                } else if fd < registrations.count, let selectable = registrations[fd] {
                    if selectable.pollsAfterActivity { pollRequested = true }
                    selectable.handleEvents(events[i])
                }
            }
            flushScheduledOutput()
            runPendingJobs()
            flushScheduledOutput()
            if !timers.isEmpty {
                now = .now
                for timer in timers.popDue(now: now) { timer.fire() }
                flushScheduledOutput()
            }
            runIterationEnd()
            // As before there was any opt-out, an iteration that handled no
            // events does not poll (jobs alone, timers): only events on
            // browsers' connections, with no call sent, now leave it out.
            busy = count > 0 && pollRequested
            pollRequested = false
        }
        for registration in registrations.compactMap({ $0 }) { registration.loopStopped() }
        registrations.removeAll()
        runPendingJobs()
        // Buffered log lines must not be lost: retry a flush that found its lock taken (bounded).
        for _ in 0..<1_000 where !iterationEndQueue.isEmpty {
            runIterationEnd()
            if !iterationEndQueue.isEmpty { usleep(100) }
        }
        timers.removeAll()
        locals.removeAll()
        pthread_setspecific(currentLoopKey, nil)
        close(epollFD)
        close(wakeFD)
        finished.withLock { $0 = true }
    }

    /// Keep polling after this iteration, if it handled events, instead of
    /// sleeping: more work is expected within microseconds (the answer to a
    /// call just sent). Every readiness event asks for it too, except on
    /// connections that opt out (`Connection.pollsAfterActivity`). Call on
    /// the loop.
    public func pollAfterIteration() {
        assert(inEventLoop, "pollAfterIteration() called off the loop")
        pollRequested = true
    }

    /// Polls without blocking until an event arrives or `duration` passes.
    /// Returns the number of events (0 when none came in time).
    private func poll(for duration: Duration, fds: inout [Int32], events: inout [UInt32], capacity: Int32) -> Int32 {
        let until = ContinuousClock.now + duration
        repeat {
            let count = strata_epoll_wait(epollFD, &fds, &events, capacity, 0)
            if count != 0 { return max(count, 0) }
            // Let a thread of another tier on this core run instead of spinning against it.
            sched_yield()
        } while ContinuousClock.now < until && !stopRequested.load(ordering: .relaxed)
        return 0
    }

    private func runPendingJobs() {
        // Jobs queued while these run wait for the next iteration, so a job
        // that re-queues itself cannot starve I/O.
        queuedFromLoop = false
        pending.withLock { swap(&$0, &running) }
        for work in running {
            switch work {
            case .closure(let job): job()
            case .task(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        running.removeAll(keepingCapacity: true)
    }
}

/// A fixed set of event loops, one per core by default.
public final class EventLoopGroup: Sendable {
    /// The loops, each on its own thread.
    public let loops: [EventLoop]
    private let cursor = Atomic<Int>(0)

    /// Starts `count` loops (default: one per online core).
    public init(loopCount count: Int = System.coreCount, busyPoll: Duration = BusyPoll.configured) {
        loops = (0..<max(1, count)).map { EventLoop.start(index: $0, busyPoll: busyPoll) }
    }

    /// The next loop in round-robin order.
    public func next() -> EventLoop {
        let i = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[i % loops.count]
    }

    /// Stops every loop and, called from outside them, waits for their threads to finish.
    public func shutdown() {
        for loop in loops { loop.requestStop() }
        for loop in loops { loop.waitUntilStopped() }
    }
}

/// Facts about the machine.
public enum System {
    /// Online processor cores.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
