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

    /// Follows the library to its descriptor now, registering it afresh on
    /// the next `watch`. libpq switches sockets while connecting (to the
    /// next host of a multi-host URL), and the new socket often gets the
    /// old one's number: closing took the old one out of the epoll set, so
    /// an unchanged number must not be taken for an unchanged registration.
    public func move(to newFD: Int32) {
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
