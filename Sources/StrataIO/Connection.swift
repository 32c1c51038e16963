import CStrataShims
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Receives a connection's events. Called only on the connection's loop.
public protocol ConnectionHandler: AnyObject {
    /// New bytes were appended to `connection.inbound`.
    func connectionReadable(_ connection: Connection)
    /// The peer shut down its sending side; bytes already read are still in `inbound`.
    func connectionInputClosed(_ connection: Connection)
    /// The connection is closed; nothing more can be written.
    func connectionClosed(_ connection: Connection)
    /// All queued output was written (only when `notifiesWhenDrained` is set).
    func connectionDrained(_ connection: Connection)
    /// The TLS handshake or a record failed; the connection closes right after.
    func connectionFailedTLS(_ connection: Connection, _ error: TLSError)
}

extension ConnectionHandler {
    /// By default a half-closed connection is closed once its output is flushed.
    public func connectionInputClosed(_ connection: Connection) { connection.close(afterFlush: true) }

    /// Most handlers do not wait for output to drain.
    public func connectionDrained(_ connection: Connection) {}

    /// By default a failed handshake just closes.
    public func connectionFailedTLS(_ connection: Connection, _ error: TLSError) {}
}

/// A non-blocking stream socket owned by one event loop.
///
/// Reads append to `inbound` and notify the handler; writes are queued and go
/// out with `writev` as the socket accepts them. When more than
/// `outboundHighWatermark` bytes wait to be written, reading pauses until the
/// peer catches up, so a client that does not read cannot make us buffer
/// without bound.
///
/// The mutable state is marked `@exclusivity(unchecked)`: it is touched only
/// on the owning loop's thread, one callback at a time, so accesses cannot
/// overlap, and the runtime checks cost strata-web about 0.4 µs of CPU per
/// request, a sixth of its user time (see ARCHITECTURE.md).
public final class Connection: Selectable, @unchecked Sendable {
    /// The loop that owns this connection.
    public let loop: EventLoop
    /// The remote address, when known.
    public let peer: String
    /// Bytes read and not yet consumed by the handler.
    @exclusivity(unchecked) public var inbound = ByteBuffer()
    /// Receives events; set before the first read.
    @exclusivity(unchecked) public var handler: (any ConnectionHandler)?
    /// Pending output above which reading pauses.
    public var outboundHighWatermark = 1 << 20
    /// Whether the loop keeps polling after this connection's events, for
    /// more to come within microseconds (see `EventLoop.pollAfterIteration`).
    /// True for the connections between tiers and to upstreams. A browser's
    /// next request is not that close: the HTTP server turns it off, so a
    /// loop that serves only browsers sleeps between events as nginx's do,
    /// rather than spending a `sched_yield` and an `epoll_wait` per request
    /// polling for it.
    @exclusivity(unchecked) public var pollsAfterActivity = true
    /// Whether `close()` has run.
    @exclusivity(unchecked) public private(set) var isClosed = false
    /// Whether the peer has shut down its sending side.
    @exclusivity(unchecked) public internal(set) var isInputClosed = false
    /// The TLS session, when the connection is encrypted (see Connection+TLS.swift).
    @exclusivity(unchecked) var tls: TLSSession?

    let fd: Int32
    /// Output waiting for the socket: byte buffers, and open files sent with sendfile.
    enum Pending {
        case bytes([UInt8])
        /// A descriptor the connection owns and closes, or one it shares (kept alive by `shared`).
        case file(fd: Int32, offset: Int64, end: Int64, shared: SharedFile?)
    }

    @exclusivity(unchecked) var outbound: [Pending] = []
    /// Bytes of the first pending buffer already written.
    @exclusivity(unchecked) var outboundOffset = 0
    /// Bytes queued and not yet accepted by the socket.
    @exclusivity(unchecked) public internal(set) var outboundBytes = 0
    /// Whether to call the handler's `connectionDrained` when queued output is all written.
    @exclusivity(unchecked) public var notifiesWhenDrained = false
    @exclusivity(unchecked) private var closeWhenFlushed = false
    @exclusivity(unchecked) private var corked = false
    @exclusivity(unchecked) private var flushScheduled = false
    /// Buffers queued since the last write attempt.
    @exclusivity(unchecked) private var unflushed = 0
    @exclusivity(unchecked) var wantsRead = true
    @exclusivity(unchecked) private var registeredEvents: UInt32 = 0

    /// Buffers queued in one iteration that are written without waiting for
    /// its end. Measured with 64 RPC calls in flight on one connection: no
    /// early write 74k calls/s, after 8 buffers 140k, after 16 or 32 160k.
    static let earlyFlushCount = 32

    init(fd: Int32, loop: EventLoop, peer: String) {
        self.fd = fd
        self.loop = loop
        self.peer = peer
    }

    /// Registers the connection with its loop and starts reading. Call on the loop.
    public func start(handler: any ConnectionHandler) throws(SocketError) {
        self.handler = handler
        registeredEvents = STRATA_EPOLLIN | STRATA_EPOLLRDHUP
        try loop.register(self, fd: fd, events: registeredEvents)
    }

    /// Queues `bytes` for writing and tries to write them at once. Call on the loop.
    public func write(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        enqueue(.bytes(bytes), count: bytes.count)
    }

    /// Queues `count` bytes of the open file `file` from `offset`, sent with
    /// sendfile(2). The connection owns `file` from now on and closes it. Call on the loop.
    public func writeFile(_ file: Int32, offset: Int64, count: Int64) {
        guard !isClosed, count > 0 else {
            Glibc.close(file)
            return
        }
        enqueue(.file(fd: file, offset: offset, end: offset + count, shared: nil), count: Int(count))
    }

    /// Queues `count` bytes of a shared open file from `offset`, sent with
    /// sendfile(2); the file stays open (and owned by others). Call on the loop.
    public func writeFile(_ file: SharedFile, offset: Int64, count: Int64) {
        guard !isClosed, count > 0 else { return }
        enqueue(.file(fd: file.descriptor, offset: offset, end: offset + count, shared: file), count: Int(count))
    }

    private func enqueue(_ item: Pending, count: Int) {
        outbound.append(item)
        outboundBytes += count
        unflushed += 1
        // While corked, `uncork()` flushes and updates interest once for all writes.
        guard !corked else { return }
        if flushScheduled && unflushed >= Self.earlyFlushCount {
            // Waiting for the end of the iteration would hold a long batch
            // back until the last piece is ready, and the peer would idle
            // meanwhile: send this part now, so both sides work at once.
            flush()
            return
        }
        if outbound.count == 1 && !flushScheduled && registeredEvents & STRATA_EPOLLOUT == 0 {
            // Written at the end of the loop's current iteration, together with
            // whatever else is queued by then: answers to many multiplexed RPC
            // calls finishing at once leave in one writev instead of one send each.
            flushScheduled = true
            loop.scheduleFlush(self)
        }
    }

    /// Called by the loop at the end of an iteration for connections with output queued in it.
    func flushScheduledOutput() {
        flushScheduled = false
        guard !isClosed, !corked, !outbound.isEmpty else { return }
        flush()
        updateInterest()
    }

    /// Holds writes back until `uncork()`, so answers to pipelined requests
    /// leave together in one `writev`. Call on the loop.
    public func cork() { corked = true }

    /// Writes what `cork()` held back. Call on the loop.
    public func uncork() {
        guard corked else { return }
        corked = false
        guard !isClosed else { return }
        if !outbound.isEmpty { flush() }
        // Also when nothing was written: a `setReading` while corked waited for this.
        updateInterest()
    }

    /// Closes the socket, at once or once queued output is written. Call on the loop.
    public func close(afterFlush: Bool = false) {
        guard !isClosed else { return }
        // Before the handshake is done nothing queued can be sent.
        if afterFlush && outboundBytes > 0 && tls?.isEstablished != false {
            closeWhenFlushed = true
            if !corked { flush() }
            return
        }
        isClosed = true
        loop.deregister(fd: fd)
        tls?.end()
        tls = nil
        Glibc.close(fd)
        for case .file(let file, _, _, nil) in outbound { Glibc.close(file) }
        outbound.removeAll()
        outboundBytes = 0
        let handler = self.handler
        self.handler = nil
        handler?.connectionClosed(self)
    }

    /// Stops or resumes reading from the socket (for backpressure). Call on the loop.
    public func setReading(_ enabled: Bool) {
        wantsRead = enabled
        updateInterest()
        if enabled, let tls, tls.holdsInput { readHeldInputLater() }
    }

    func loopStopped() { close() }

    func handleEvents(_ events: UInt32) {
        if events & STRATA_EPOLLOUT != 0 {
            flush()
            if let tls, tls.readWantsWritable, !isClosed { readAvailable() }
        }
        if !isClosed && events & (STRATA_EPOLLIN | STRATA_EPOLLHUP | STRATA_EPOLLERR | STRATA_EPOLLRDHUP) != 0 {
            if let tls, tls.writeWantsReadable { flush() }
            if !isClosed { readAvailable() }
        }
        if !isClosed { updateInterest() }
    }

    private func readAvailable() {
        guard !isInputClosed else {
            // Input already ended, so only HUP or ERR get here: the socket is dead.
            close()
            return
        }
        if tls != nil {
            readTLS()
            return
        }
        let scratch = loop.readScratch
        let n = Glibc.read(fd, scratch.baseAddress, scratch.count)
        if n > 0 {
            inbound.write(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            handler?.connectionReadable(self)
        } else if n == 0 {
            isInputClosed = true
            wantsRead = false
            handler?.connectionInputClosed(self)
        } else if errno != EAGAIN && errno != EINTR {
            close()
        }
    }

    func flush() {
        unflushed = 0
        if tls != nil {
            guard writeTLS() else { return }
        } else {
            guard writePlain() else { return }
        }
        if closeWhenFlushed {
            close()
        } else if notifiesWhenDrained {
            handler?.connectionDrained(self)
        }
    }

    /// Writes queued output to the socket; true when all of it went.
    private func writePlain() -> Bool {
        while let first = outbound.first {
            let written: Int
            if case .file(let file, let offset, let end, let shared) = first {
                var position = offset
                written = strata_sendfile(fd, file, &position, Int(min(end - offset, 1 << 30)))
                if written == 0 {
                    // The file shrank under us: the promised length cannot be sent.
                    close()
                    return false
                }
                if written > 0 {
                    outboundBytes -= written
                    if position >= end {
                        if shared == nil { Glibc.close(file) }
                        outbound.removeFirst()
                    } else {
                        outbound[0] = .file(fd: file, offset: position, end: end, shared: shared)
                    }
                    continue
                }
            } else {
                written = writeBuffers()
                if written >= 0 {
                    consume(written)
                    continue
                }
            }
            if errno == EAGAIN || errno == EINTR { return false }
            close()
            return false
        }
        return true
    }

    /// Writes the leading run of byte buffers (up to 64) with one send or writev.
    private func writeBuffers() -> Int {
        if outbound.count == 1, case .bytes(let only) = outbound[0] {
            return only.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + outboundOffset, raw.count - outboundOffset, Int32(MSG_NOSIGNAL))
            }
        }
        // The iovecs go in the loop's scratch space (no arrays per write); the
        // buffers they point into stay alive and unchanged in `outbound`.
        let vectors = loop.writeVectors
        var count = 0
        for item in outbound.prefix(EventLoop.writeVectorCount) {
            guard case .bytes(let bytes) = item else { break }
            bytes.withUnsafeBytes { raw in
                let skip = count == 0 ? outboundOffset : 0
                vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + skip), iov_len: raw.count - skip)
            }
            count += 1
        }
        return withExtendedLifetime(outbound) { Glibc.writev(fd, vectors, Int32(count)) }
    }

    /// Drops `written` bytes from the leading byte buffers.
    private func consume(_ written: Int) {
        var remaining = written
        outboundBytes -= written
        var done = 0
        while remaining > 0, case .bytes(let bytes) = outbound[done] {
            let available = bytes.count - outboundOffset
            if remaining >= available {
                remaining -= available
                done += 1
                outboundOffset = 0
            } else {
                outboundOffset += remaining
                remaining = 0
            }
        }
        // One shift for the whole batch, not one per buffer.
        outbound.removeFirst(done)
    }

    func updateInterest() {
        // While corked the pending output is about to be flushed; `uncork()` decides.
        guard !isClosed, !corked else { return }
        // After the peer's FIN, RDHUP would fire forever on a level-triggered set.
        var events: UInt32 = isInputClosed ? 0 : STRATA_EPOLLRDHUP
        if wantsRead && outboundBytes <= outboundHighWatermark { events |= STRATA_EPOLLIN }
        // Output waiting for the end-of-iteration flush needs no EPOLLOUT yet,
        // nor output that OpenSSL can only send once it has read something.
        if outboundBytes > 0 && !flushScheduled && tls?.writeWantsReadable != true { events |= STRATA_EPOLLOUT }
        if let tls {
            if tls.readWantsWritable { events |= STRATA_EPOLLOUT }
            if tls.writeWantsReadable { events |= STRATA_EPOLLIN }
        }
        if events != registeredEvents {
            registeredEvents = events
            loop.modify(fd: fd, events: events)
        }
    }
}

extension Connection {
    /// Opens a TCP or Unix-domain connection to `address` on `loop`. A peer
    /// that does not answer within `timeout` (a host that is down, a full
    /// accept queue) fails the connect instead of leaving the caller to the
    /// kernel's SYN retries, which take about two minutes.
    public static func connect(to address: SocketAddress, on loop: EventLoop, timeout: Duration = .seconds(5)) async throws -> Connection {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { connect(to: address, on: loop, timeout: timeout) { continuation.resume(with: $0) } }
        }
    }

    /// The same, for callers on `loop` itself: `completion` runs on the loop,
    /// with no task (the reverse proxy opens upstream connections this way).
    public static func connect(
        to address: SocketAddress, on loop: EventLoop, timeout: Duration, completion: @escaping (Result<Connection, any Error>) -> Void
    ) {
        let fd: Int32
        do {
            fd = try address.withResolved(passive: false) { (family, pointer, length) throws(SocketError) -> Int32 in
                let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
                if Glibc.connect(fd, pointer, length) != 0 && errno != EINPROGRESS {
                    let code = errno
                    Glibc.close(fd)
                    throw SocketError(operation: "connect \(address)", errno: code)
                }
                if family != AF_UNIX { Socket.setNoDelay(fd) }
                return fd
            }
        } catch {
            completion(.failure(error))
            return
        }
        PendingConnect(fd: fd, loop: loop, address: address, timeout: timeout, completion: completion).begin()
    }
}

/// Waits for a non-blocking `connect` to finish, then hands over a `Connection`.
private final class PendingConnect: Selectable, @unchecked Sendable {
    let fd: Int32
    let loop: EventLoop
    let address: SocketAddress
    let timeout: Duration
    var completion: ((Result<Connection, any Error>) -> Void)?
    var deadline: TimerHandle?

    init(fd: Int32, loop: EventLoop, address: SocketAddress, timeout: Duration, completion: @escaping (Result<Connection, any Error>) -> Void) {
        self.fd = fd
        self.loop = loop
        self.address = address
        self.timeout = timeout
        self.completion = completion
    }

    func begin() {
        do {
            try loop.register(self, fd: fd, events: STRATA_EPOLLOUT)
        } catch {
            Glibc.close(fd)
            finish(.failure(error))
            return
        }
        deadline = loop.scheduleTimer(after: timeout) { [self] in
            guard completion != nil else { return }
            loop.deregister(fd: fd)
            Glibc.close(fd)
            finish(.failure(SocketError(operation: "connect \(address)", message: "no answer within \(timeout)")))
        }
    }

    func handleEvents(_ events: UInt32) {
        deadline?.cancel()
        loop.deregister(fd: fd)
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        if code != 0 {
            Glibc.close(fd)
            finish(.failure(SocketError(operation: "connect \(address)", errno: code)))
        } else {
            finish(.success(Connection(fd: fd, loop: loop, peer: address.description)))
        }
    }

    func loopStopped() {
        deadline?.cancel()
        loop.deregister(fd: fd)
        Glibc.close(fd)
        finish(.failure(SocketError(operation: "connect \(address)", message: "the event loop stopped")))
    }

    private func finish(_ result: Result<Connection, any Error>) {
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }
}
