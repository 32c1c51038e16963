import CStrataShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Accepts connections and hands each to `onAccept` on the loop that will own it.
public final class Listener: Sendable {
    /// How new connections are spread over a group's loops.
    public enum Distribution: Sendable {
        /// One socket per loop with `SO_REUSEPORT`: the kernel spreads
        /// connections by a hash of their addresses, without a shared accept
        /// lock. Right for many short-lived clients (browsers).
        case kernel
        /// One socket; each new connection goes to the next loop in turn.
        /// Right for a few long-lived connections (RPC peers), which a hash
        /// could put on the same loop and leave the other cores idle.
        case roundRobin
    }

    /// The bound address; for port 0, the port the kernel chose.
    public let address: SocketAddress
    private let acceptors: [Acceptor]

    /// Binds `address` for `group`'s loops.
    public init(
        address: SocketAddress, group: EventLoopGroup, distribution: Distribution = .kernel, backlog: Int32 = 1024,
        onAccept: @escaping @Sendable (Connection) -> Void
    ) throws(SocketError) {
        var bound = address
        var acceptors: [Acceptor] = []
        let loops: [EventLoop]
        if case .unix = address {
            loops = [group.loops[0]]
        } else if distribution == .roundRobin {
            loops = [group.loops[0]]
        } else {
            loops = group.loops
        }
        let targets = distribution == .roundRobin ? group.loops : nil
        do throws(SocketError) {
            for loop in loops {
                let fd = try Socket.listen(on: bound, reusePort: loops.count > 1, backlog: backlog)
                bound = SocketAddress.local(of: fd, fallback: bound)
                acceptors.append(Acceptor(fd: fd, loop: loop, targets: targets ?? [loop], onAccept: onAccept))
            }
        } catch {
            for acceptor in acceptors { Glibc.close(acceptor.fd) }
            throw error
        }
        self.address = bound
        self.acceptors = acceptors
        for acceptor in acceptors {
            acceptor.loop.execute { acceptor.start() }
        }
    }

    /// Stops accepting; open connections are not touched.
    public func close() {
        for acceptor in acceptors {
            acceptor.loop.execute { acceptor.stop(acceptingQueued: false) }
        }
        if case .unix(let path) = address { unlink(path) }
    }

    /// Stops accepting after accepting (and handing on) the connections the
    /// kernel has already completed: closing the socket would reset them,
    /// and with `SO_REUSEPORT` the kernel keeps queueing on a listener until
    /// it is closed, even while another process listens on the same port.
    /// Returns once every loop has closed its socket (or after `limit`,
    /// should a loop be gone), so the connections accepted last are known
    /// to the caller.
    public func closeAcceptingQueued(limit: Duration = .seconds(2)) async {
        let remaining = Countdown(acceptors.count)
        for acceptor in acceptors {
            acceptor.loop.execute {
                acceptor.stop(acceptingQueued: true)
                remaining.count.subtract(1, ordering: .releasing)
            }
        }
        let deadline = ContinuousClock.now + limit
        while remaining.count.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
        if case .unix(let path) = address { unlink(path) }
    }
}

private final class Countdown: Sendable {
    let count: Atomic<Int>
    init(_ count: Int) { self.count = Atomic(count) }
}

private final class Acceptor: Selectable, @unchecked Sendable {
    let fd: Int32
    let loop: EventLoop
    /// The loops new connections go to, in turn.
    private let targets: [EventLoop]
    private var next = 0
    let onAccept: @Sendable (Connection) -> Void
    private var active = false

    init(fd: Int32, loop: EventLoop, targets: [EventLoop], onAccept: @escaping @Sendable (Connection) -> Void) {
        self.fd = fd
        self.loop = loop
        self.targets = targets
        self.onAccept = onAccept
    }

    func start() {
        do {
            try loop.register(self, fd: fd, events: STRATA_EPOLLIN)
            active = true
        } catch {
            Glibc.close(fd)
        }
    }

    func loopStopped() { stop(acceptingQueued: false) }

    func stop(acceptingQueued: Bool) {
        guard active else { return }
        // Bounded: a flood must not hold the close back.
        if acceptingQueued {
            for _ in 0..<4096 {
                guard acceptOne() else { break }
            }
        }
        active = false
        loop.deregister(fd: fd)
        Glibc.close(fd)
    }

    func handleEvents(_ events: UInt32) {
        // Bounded so one busy listener cannot starve the loop's connections.
        for _ in 0..<64 {
            guard acceptOne() else { return }
        }
    }

    /// Accepts one connection and hands it on; false when none was waiting
    /// (EAGAIN), or on EMFILE and friends (tried again on the next event).
    private func acceptOne() -> Bool {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                strata_accept(fd, $0, &length)
            }
        }
        guard client >= 0 else { return false }
        let peer = Self.describe(&storage)
        if storage.ss_family != sa_family_t(AF_UNIX) { Socket.setNoDelay(client) }
        let target = targets[next % targets.count]
        next &+= 1
        let connection = Connection(fd: client, loop: target, peer: peer)
        if target === loop {
            onAccept(connection)
        } else {
            let onAccept = self.onAccept
            target.execute { onAccept(connection) }
        }
        return true
    }

    private static func describe(_ storage: inout sockaddr_storage) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &port, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard status == 0 else { return "unix" }
        return host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + ":"
            + port.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
