import StrataCore
import StrataIO
import Synchronization

/// One connection's calls in flight. Loop-confined, except `isOpen`.
final class ClientConnection: ConnectionHandler, @unchecked Sendable {
    /// Unsafe, not checked: one per call on the hottest path, and `finish`
    /// resumes it exactly once (the call leaves `pending` as it does).
    typealias Reply = UnsafeContinuation<Result<[UInt8], RPCError>, Never>

    let connection: Connection
    let decoder: FrameDecoder
    private let secret: [UInt8]
    private let name: String
    private let clientNonce = Digest.randomBytes(PeerAuthentication.nonceSize)
    private var handshake: CheckedContinuation<Void, any Error>?
    private let pingInterval: Duration
    /// When the last frame arrived; a peer silent for three ping intervals is dead.
    private var lastReceived = ContinuousClock.now
    private let open = Atomic<Bool>(true)
    private var pending: [UInt32: (reply: Reply, call: Call)] = [:]
    /// Calls beyond `maxInFlight`, waiting for an answer to make room, oldest first.
    private var waiting: [(request: RPCRequest, call: Call, reply: Reply)] = [] {
        didSet { waitingCount.store(waiting.count, ordering: .relaxed) }
    }
    private let waitingCount = Atomic<Int>(0)
    /// Calls queued for room (for metrics; read from any thread).
    var queued: Int { waitingCount.load(ordering: .relaxed) }
    /// Calls sent and unanswered at most: a server's default limit per
    /// connection (`RPCServerConfiguration.maxInFlightPerConnection`). More
    /// would be refused `resourceExhausted`; queued here they wait their turn,
    /// as an HTTP/2 client does at the peer's MAX_CONCURRENT_STREAMS.
    static let maxInFlight = 1_024
    private var nextStream: UInt32 = 1
    /// From the server's GOAWAY: calls on later streams were not and will not be run.
    private var lastProcessedStream: UInt32?

    /// The one timer watching every call's deadline, armed for the earliest
    /// (a timer per call cost an allocation and a heap insert and removal each).
    private var deadlineTimer: TimerHandle?
    private var deadlineTimerAt: ContinuousClock.Instant?

    /// Remembers which stream a call got, so cancellation can name it, and when it gives up.
    final class Call: @unchecked Sendable {
        var stream: UInt32 = 0
        let method: String
        let timeout: Duration
        let deadline: ContinuousClock.Instant

        init(method: String, timeout: Duration) {
            self.method = method
            self.timeout = timeout
            deadline = .now + timeout
        }
    }

    init(connection: Connection, decoder: FrameDecoder, secret: [UInt8], name: String, pingInterval: Duration) {
        self.connection = connection
        self.decoder = decoder
        self.secret = secret
        self.name = name
        self.pingInterval = pingInterval
    }

    /// Health check: after a quiet interval send PING; after three, give the
    /// connection up, failing its calls, so the endpoint reconnects or backs off.
    private func schedulePing() {
        connection.loop.scheduleTimer(after: pingInterval) { [self] in
            guard isOpen, !connection.isClosed else { return }
            let quiet = ContinuousClock.now - lastReceived
            if quiet >= pingInterval * 3 {
                fail(RPCError(.unavailable, "\(connection.peer) stopped answering (no frame for \(quiet))"))
                return
            }
            if quiet >= pingInterval {
                connection.write(Frame(type: .ping, streamID: 0, payload: Digest.randomBytes(8)).encoded())
            }
            schedulePing()
        }
    }

    /// Sends the first HELLO; `continuation` resumes once the server has proved
    /// it holds the secret and this side has sent its own proof.
    func beginHandshake(_ continuation: CheckedContinuation<Void, any Error>) {
        handshake = continuation
        do {
            try connection.start(handler: self)
        } catch {
            finishHandshake(.failure(error))
            return
        }
        connection.write(
            Frame(type: .hello, streamID: 0, payload: Hello(version: rpcProtocolVersion, peer: name, nonce: clientNonce).payload()).encoded())
        connection.loop.scheduleTimer(after: .seconds(5)) { [self] in
            guard handshake != nil else { return }
            fail(RPCError(.unavailable, "\(connection.peer) did not answer the HELLO handshake within 5 s"))
        }
    }

    private func finishHandshake(_ result: Result<Void, any Error>) {
        guard let continuation = handshake else { return }
        handshake = nil
        continuation.resume(with: result)
    }

    private func completeHandshake(_ hello: Hello) {
        let expected = PeerAuthentication.serverProof(secret: secret, clientNonce: clientNonce, serverNonce: hello.nonce)
        guard hello.version == rpcProtocolVersion, hello.nonce.count == PeerAuthentication.nonceSize,
            Digest.constantTimeEquals(hello.proof, expected)
        else {
            fail(RPCError(.unauthenticated, "\(connection.peer) failed authentication: it does not hold the same STRATA_RPC_SECRET"))
            return
        }
        let proof = PeerAuthentication.clientProof(secret: secret, clientNonce: clientNonce, serverNonce: hello.nonce)
        connection.write(Frame(type: .hello, streamID: 0, payload: Hello(version: rpcProtocolVersion, peer: name, proof: proof).payload()).encoded())
        finishHandshake(.success(()))
        schedulePing()
    }

    var isOpen: Bool { open.load(ordering: .acquiring) }

    func close() {
        connection.loop.execute { self.connection.close() }
    }

    func send(_ request: RPCRequest, timeout: Duration) async -> Result<[UInt8], RPCError> {
        let call = Call(method: request.method, timeout: timeout)
        let loop = connection.loop
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: Reply) in
                // A caller already on this connection's loop (a handler of the
                // web or app tier) starts the call without a hand-off.
                if loop.inEventLoop {
                    start(request, call: call, continuation: continuation)
                } else {
                    loop.execute { self.start(request, call: call, continuation: continuation) }
                }
            }
        } onCancel: {
            loop.execute { self.abandon(call, with: RPCError(.cancelled, "the call was cancelled")) }
        }
    }

    private func start(_ request: RPCRequest, call: Call, continuation: Reply) {
        guard isOpen else {
            continuation.resume(returning: .failure(RPCError(.unavailable, "connection to \(connection.peer) is closed").markedNotProcessed()))
            return
        }
        watchDeadline(call.deadline)
        if pending.count >= Self.maxInFlight {
            waiting.append((request, call, continuation))
            return
        }
        send(request, call: call, continuation: continuation)
    }

    private func send(_ request: RPCRequest, call: Call, continuation: Reply) {
        let stream = nextStream
        nextStream = nextStream == UInt32.max ? 1 : nextStream + 1
        call.stream = stream
        pending[stream] = (continuation, call)
        connection.write(request.frame(streamID: stream))
        // The answer is microseconds away: be awake for it.
        connection.loop.pollAfterIteration()
    }

    /// Makes sure the deadline timer fires by `deadline`.
    private func watchDeadline(_ deadline: ContinuousClock.Instant) {
        if let armed = deadlineTimerAt, armed <= deadline { return }
        deadlineTimer?.cancel()
        deadlineTimerAt = deadline
        deadlineTimer = connection.loop.scheduleTimer(after: deadline - .now) { [self] in
            deadlineTimer = nil
            deadlineTimerAt = nil
            expireCalls()
        }
    }

    /// Gives up on every call past its deadline and re-arms for the next one.
    private func expireCalls() {
        let now = ContinuousClock.now
        var next: ContinuousClock.Instant?
        var expired: [Call] = []
        for (_, entry) in pending {
            if entry.call.deadline <= now { expired.append(entry.call) } else { next = min(next ?? entry.call.deadline, entry.call.deadline) }
        }
        var stillWaiting: [(request: RPCRequest, call: Call, reply: Reply)] = []
        for entry in waiting {
            if entry.call.deadline <= now {
                // Never sent: safe to try elsewhere.
                entry.reply.resume(
                    returning: .failure(
                        RPCError(.deadlineExceeded, "\(entry.call.method) waited for a free slot on \(connection.peer) past its deadline")
                            .markedNotProcessed()))
            } else {
                next = min(next ?? entry.call.deadline, entry.call.deadline)
                stillWaiting.append(entry)
            }
        }
        waiting = stillWaiting
        for call in expired {
            abandon(call, with: RPCError(.deadlineExceeded, "\(call.method) did not answer within \(call.timeout)"))
        }
        if let next { watchDeadline(next) }
    }

    /// Sends the oldest waiting call, now that an answer made room.
    private func startWaiting() {
        guard !waiting.isEmpty, pending.count < Self.maxInFlight, isOpen else { return }
        let next = waiting.removeFirst()
        send(next.request, call: next.call, continuation: next.reply)
    }

    /// Gives up on a call (deadline or cancellation) and tells the server to stop working on it.
    private func abandon(_ call: Call, with error: RPCError) {
        if call.stream == 0, let index = waiting.firstIndex(where: { $0.call === call }) {
            waiting.remove(at: index).reply.resume(returning: .failure(error))
            return
        }
        guard call.stream != 0, pending[call.stream] != nil else { return }
        connection.write(Frame(type: .cancel, streamID: call.stream, payload: []).encoded())
        finish(call.stream, .failure(error))
    }

    private func finish(_ stream: UInt32, _ result: Result<[UInt8], RPCError>) {
        guard let (reply, _) = pending.removeValue(forKey: stream) else { return }
        reply.resume(returning: result)
        startWaiting()
    }

    func connectionReadable(_ connection: Connection) {
        lastReceived = .now
        decoder.forEachFrame(
            in: connection,
            malformed: { error in
                fail(RPCError(.internal, "malformed frame from \(connection.peer): \(error.message)"))
            }, handle)
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .response:
            finish(frame.streamID, .success(frame.payload))
        case .error where frame.streamID == 0:
            let error = RPCError(payload: frame.payload)
            fail(RPCError(error.code == .unknown ? .unavailable : error.code, "\(connection.peer) refused the connection: \(error.message)"))
        case .error:
            var error = RPCError(payload: frame.payload)
            if let last = lastProcessedStream, frame.streamID > last { error = error.markedNotProcessed() }
            finish(frame.streamID, .failure(error))
        case .ping:
            connection.write(Frame(type: .pong, streamID: frame.streamID, payload: frame.payload).encoded())
        case .goaway:
            open.store(false, ordering: .releasing)
            var reader = PayloadReader(frame.payload)
            let last = (try? reader.u32()) ?? 0
            lastProcessedStream = last
            // Calls the server will never run can go elsewhere at once.
            let refused = RPCError(.unavailable, "\(connection.peer) is shutting down").markedNotProcessed()
            let notSent = waiting
            waiting.removeAll()
            for call in notSent { call.reply.resume(returning: .failure(refused)) }
            for stream in Array(pending.keys) where stream > last { finish(stream, .failure(refused)) }
        case .hello:
            guard handshake != nil, let hello = try? Hello(payload: frame.payload) else { return }
            completeHandshake(hello)
        case .pong, .request, .cancel:
            break
        }
    }

    func connectionClosed(_ connection: Connection) {
        failAll(RPCError(.unavailable, "connection to \(connection.peer) closed"))
    }

    private func fail(_ error: RPCError) {
        failAll(error)
        connection.close()
    }

    private func failAll(_ error: RPCError) {
        open.store(false, ordering: .releasing)
        deadlineTimer?.cancel()
        deadlineTimer = nil
        deadlineTimerAt = nil
        finishHandshake(.failure(error))
        // Waiting calls were never sent: they may go to another connection.
        let notSent = waiting
        waiting.removeAll()
        for call in notSent { call.reply.resume(returning: .failure(error.markedNotProcessed())) }
        for stream in Array(pending.keys) { finish(stream, .failure(error)) }
    }
}
