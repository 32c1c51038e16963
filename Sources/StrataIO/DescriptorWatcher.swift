import CStrataShims

/// Reports readiness of a descriptor another library owns (libpq's socket,
/// say) to a callback on an event loop. The watcher never reads, writes or
/// closes the descriptor; it only registers it with the loop's epoll set.
/// Create, change and stop it on the loop's thread.
public final class DescriptorWatcher: Selectable, @unchecked Sendable {
    /// The loop that reports the events.
    public let loop: EventLoop
    /// The watched descriptor.
    public private(set) var fd: Int32
    private let onReady: (_ readable: Bool, _ writable: Bool) -> Void
    private let onLoopStopped: () -> Void
    private var registered: UInt32?

    /// Watches nothing yet; call `watch(readable:writable:)`.
    public init(
        fd: Int32, loop: EventLoop, onReady: @escaping (_ readable: Bool, _ writable: Bool) -> Void,
        onLoopStopped: @escaping () -> Void
    ) {
        self.fd = fd
        self.loop = loop
        self.onReady = onReady
        self.onLoopStopped = onLoopStopped
    }

    /// Asks for the given readiness (both false: no events until asked again).
    public func watch(readable: Bool, writable: Bool) throws(SocketError) {
        var events: UInt32 = 0
        if readable { events |= STRATA_EPOLLIN }
        if writable { events |= STRATA_EPOLLOUT }
        if let current = registered {
            if current != events { loop.modify(fd: fd, events: events) }
        } else {
            try loop.register(self, fd: fd, events: events)
        }
        registered = events
    }

    /// Follows the library to a new descriptor (libpq may switch sockets while connecting).
    public func move(to newFD: Int32) {
        guard newFD != fd else { return }
        stop()
        fd = newFD
    }

    /// Stops reporting; the descriptor stays open.
    public func stop() {
        guard registered != nil else { return }
        registered = nil
        loop.deregister(fd: fd)
    }

    func handleEvents(_ events: UInt32) {
        let failed = events & (STRATA_EPOLLERR | STRATA_EPOLLHUP) != 0
        onReady(events & STRATA_EPOLLIN != 0 || failed, events & STRATA_EPOLLOUT != 0 || failed)
    }

    func loopStopped() {
        stop()
        onLoopStopped()
    }
}
