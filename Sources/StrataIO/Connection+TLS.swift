import CStrataShims
import CStrataTLS

#if canImport(Glibc)
    import Glibc
#endif

/// TLS on a connection: OpenSSL reads and writes the socket itself, driven
/// by the same readiness events as plaintext, and never blocks the loop. A
/// call that cannot finish says what it waits for (the socket readable or
/// writable) and is retried when that event comes.
extension Connection {
    /// Whether the connection is encrypted.
    public var isSecure: Bool { tls != nil }

    /// What the session negotiated, once the handshake is done.
    public var tlsFacts: TLSFacts? {
        guard let tls, tls.isEstablished else { return nil }
        return TLSFacts(tls)
    }

    /// Makes this accepted connection a TLS server: the handshake runs as
    /// the client's bytes arrive. Call on the loop before `start(handler:)`.
    public func startTLS(serving certificates: TLSServerCertificates) throws(TLSError) {
        let context = certificates.initial
        guard let session = strata_tls_server_session(context.pointer, fd) else {
            throw TLSError("could not create a TLS session")
        }
        tls = TLSSession(pointer: session, context: context)
    }

    /// Sends `bytes` on the socket unencrypted, once and best effort (an
    /// answer to a client that spoke plaintext to a TLS port). Call on the loop.
    public func sendUnencrypted(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    func readTLS() {
        guard let tls else { return }
        tls.readWantsWritable = false
        let scratch = loop.readScratch
        var total = 0
        var ended = false
        reading: while total < scratch.count {
            let result = strata_tls_read(tls.pointer, scratch.baseAddress! + total, Int32(scratch.count - total))
            if result > 0 {
                total += Int(result)
                // With read-ahead OpenSSL took all the socket had; when it
                // holds nothing more, another call would only be a read(2)
                // answering EAGAIN. Bytes still arriving raise the next event.
                if !tls.holdsInput { break reading }
                continue
            }
            switch result {
            case Int32(STRATA_TLS_WANT_READ):
                break reading
            case Int32(STRATA_TLS_WANT_WRITE):
                tls.readWantsWritable = true
                break reading
            case Int32(STRATA_TLS_CLOSED):
                ended = true
                break reading
            default:
                let error = tls.failure()
                handler?.connectionFailedTLS(self, error)
                close()
                return
            }
        }
        if total > 0 {
            inbound.write(UnsafeRawBufferPointer(rebasing: scratch[0..<total]))
            handler?.connectionReadable(self)
        }
        if ended && !isClosed {
            isInputClosed = true
            wantsRead = false
            handler?.connectionInputClosed(self)
            return
        }
        // A full scratch may leave bytes inside OpenSSL that no socket event
        // will announce: they are read on a later iteration (once reading
        // resumes, if the handler has paused it).
        if wantsRead && total == scratch.count && tls.holdsInput { readHeldInputLater() }
    }

    /// Reads what OpenSSL holds on the next iteration, once.
    func readHeldInputLater() {
        guard let tls, !tls.rereadScheduled else { return }
        tls.rereadScheduled = true
        loop.execute { [self] in
            guard let tls = self.tls else { return }
            tls.rereadScheduled = false
            guard !isClosed, wantsRead, tls.holdsInput else { return }
            readTLS()
            updateInterest()
        }
    }

    /// Encrypts and writes queued output; true when all of it went.
    func writeTLS() -> Bool {
        guard let tls else { return false }
        tls.writeWantsReadable = false
        while let first = outbound.first {
            let result: Int32
            if case .bytes(let only) = first, outbound.count == 1 || only.count - outboundOffset >= loop.recordScratch.count {
                // One buffer, or a big one: straight from it, no copy.
                result = only.withUnsafeBytes { raw in
                    strata_tls_write(tls.pointer, raw.baseAddress! + outboundOffset, Int32(min(raw.count - outboundOffset, 1 << 30)))
                }
            } else {
                // Small buffers (a head and its body) and files go out as one record.
                let length = gatherRecord()
                guard length > 0 else {
                    // A file that shrank or cannot be read: the promised length cannot be sent.
                    close()
                    return false
                }
                result = strata_tls_write(tls.pointer, loop.recordScratch.baseAddress!, Int32(length))
            }
            if result > 0 {
                consumeEncrypted(Int(result))
                continue
            }
            switch result {
            case Int32(STRATA_TLS_WANT_WRITE):
                return false
            case Int32(STRATA_TLS_WANT_READ):
                tls.writeWantsReadable = true
                return false
            default:
                close()
                return false
            }
        }
        return true
    }

    /// Copies the leading queued bytes (files read with pread) into the
    /// loop's record scratch. A retried write gathers the same leading bytes,
    /// as OpenSSL requires, because nothing is consumed until it succeeds.
    private func gatherRecord() -> Int {
        let scratch = loop.recordScratch
        var used = 0
        var skip = outboundOffset
        gathering: for item in outbound {
            guard used < scratch.count else { break }
            switch item {
            case .bytes(let bytes):
                let count = min(bytes.count - skip, scratch.count - used)
                bytes.withUnsafeBytes { raw in
                    (scratch.baseAddress! + used).copyMemory(from: raw.baseAddress! + skip, byteCount: count)
                }
                used += count
            case .file(let file, let offset, let end, _):
                let wanted = min(Int(end - offset), scratch.count - used)
                let read = pread(file, scratch.baseAddress! + used, wanted, off_t(offset))
                guard read > 0 else { break gathering }
                used += read
                if read < wanted { break gathering }
            }
            skip = 0
        }
        return used
    }

    /// Drops `written` bytes from the front of the queue, files included.
    private func consumeEncrypted(_ written: Int) {
        var remaining = written
        outboundBytes -= written
        var done = 0
        while remaining > 0 {
            switch outbound[done] {
            case .bytes(let bytes):
                let available = bytes.count - outboundOffset
                if remaining >= available {
                    remaining -= available
                    done += 1
                    outboundOffset = 0
                } else {
                    outboundOffset += remaining
                    remaining = 0
                }
            case .file(let file, let offset, let end, let shared):
                let available = Int(end - offset)
                if remaining >= available {
                    remaining -= available
                    if shared == nil { Glibc.close(file) }
                    done += 1
                } else {
                    outbound[done] = .file(fd: file, offset: offset + Int64(remaining), end: end, shared: shared)
                    remaining = 0
                }
            }
        }
        outbound.removeFirst(done)
    }
}

/// How a client connection speaks TLS.
public struct TLSClientOptions: Sendable {
    /// Whom to trust, and the certificate to present for mutual TLS.
    public var context: TLSContext
    /// The name or address dialled: sent as SNI (names only) and checked against the server's certificate.
    public var serverName: String
    /// Whether the certificate must be for `serverName` (on unless a test says otherwise).
    public var verifiesHost: Bool
    /// How long the server may take to complete the handshake: a peer that
    /// accepts the connection and then says nothing must not hold the caller.
    public var handshakeTimeout: Duration

    public init(context: TLSContext, serverName: String, verifiesHost: Bool = true, handshakeTimeout: Duration = .seconds(5)) {
        self.context = context
        self.serverName = serverName
        self.verifiesHost = verifiesHost
        self.handshakeTimeout = handshakeTimeout
    }
}

extension Connection {
    /// Opens a connection to `address` and, with `tls`, completes a TLS
    /// handshake on it before returning; a certificate that fails
    /// verification throws a `TLSError` naming why.
    public static func connect(to address: SocketAddress, on loop: EventLoop, tls: TLSClientOptions?) async throws -> Connection {
        let connection = try await connect(to: address, on: loop)
        guard let tls else { return connection }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { ClientHandshake(connection: connection, options: tls, continuation: continuation).begin() }
        }
        return connection
    }
}

/// Drives a client handshake on a connection not yet started, then hands it back.
private final class ClientHandshake: Selectable, @unchecked Sendable {
    let connection: Connection
    let options: TLSClientOptions
    var continuation: CheckedContinuation<Void, any Error>?
    var registered: UInt32 = 0
    var deadline: TimerHandle?

    init(connection: Connection, options: TLSClientOptions, continuation: CheckedContinuation<Void, any Error>) {
        self.connection = connection
        self.options = options
        self.continuation = continuation
    }

    func begin() {
        guard
            let session = strata_tls_client_session(
                options.context.pointer, connection.fd, options.serverName, options.verifiesHost ? 1 : 0)
        else {
            fail(TLSError("could not create a TLS session"))
            return
        }
        connection.tls = TLSSession(pointer: session, context: options.context)
        let timeout = options.handshakeTimeout
        deadline = connection.loop.scheduleTimer(after: timeout) { [self] in
            fail(TLSError("\(connection.peer) did not complete the TLS handshake within \(timeout)"))
        }
        step()
    }

    func handleEvents(_ events: UInt32) { step() }

    func loopStopped() { fail(TLSError("the event loop stopped during the TLS handshake")) }

    private func step() {
        guard let tls = connection.tls else { return }
        switch strata_tls_handshake(tls.pointer) {
        case Int32(STRATA_TLS_OK):
            if registered != 0 { connection.loop.deregister(fd: connection.fd) }
            deadline?.cancel()
            continuation?.resume()
            continuation = nil
        case Int32(STRATA_TLS_WANT_READ):
            wait(for: STRATA_EPOLLIN)
        case Int32(STRATA_TLS_WANT_WRITE):
            wait(for: STRATA_EPOLLOUT)
        case Int32(STRATA_TLS_CLOSED):
            fail(TLSError("the server closed the connection during the TLS handshake"))
        default:
            fail(tls.failure())
        }
    }

    private func wait(for events: UInt32) {
        do {
            if registered == 0 {
                try connection.loop.register(self, fd: connection.fd, events: events)
            } else if registered != events {
                connection.loop.modify(fd: connection.fd, events: events)
            }
            registered = events
        } catch {
            fail(TLSError("could not wait for the TLS handshake: \(error)"))
        }
    }

    private func fail(_ error: TLSError) {
        guard continuation != nil else { return }
        deadline?.cancel()
        connection.close()
        continuation?.resume(throwing: error)
        continuation = nil
    }
}
