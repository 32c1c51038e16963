import StrataCore
import StrataIO
import Synchronization

/// Settings of an `RPCServer`.
public struct RPCServerConfiguration: Sendable {
    /// Where to listen (`host:port` or `unix:/path`); port 0 picks a free port.
    public var address: SocketAddress
    /// Largest frame payload accepted.
    public var maxFrameSize = 16 << 20
    /// The name sent in HELLO.
    public var name = "strata"
    /// The shared secret peers must prove they hold (`STRATA_RPC_SECRET`).
    public var secret: [UInt8]
    /// Calls one connection may have in flight; more are answered `resourceExhausted`.
    public var maxInFlightPerConnection = 1_024
    /// Calls the whole server may have in flight; more are answered `resourceExhausted`.
    public var maxInFlight = 8_192
    /// When set, peers must speak TLS (and present a certificate the CA signed, if one is set).
    public var tls: TLSServerCertificates?
    /// Where handlers run: on the event loop that read the call (no thread
    /// hop there and back; best for quick handlers) or on Swift's global pool
    /// (best when handlers do heavy CPU work). See ARCHITECTURE.md for the measurements.
    public var handlerExecutor = HandlerExecutor.loop

    /// Where handlers run.
    public enum HandlerExecutor: String, Sendable {
        /// The connection's event loop thread, as a task executor.
        case loop
        /// Swift's global concurrent executor.
        case global
    }

    /// Creates a configuration for `address`; only peers holding `secret` get in.
    public init(address: SocketAddress, secret: [UInt8]) {
        self.address = address
        self.secret = secret
    }
}

/// Serves an `RPCService` over the framed protocol; many calls in flight per
/// connection, each answered when its handler finishes.
public final class RPCServer: Sendable {
    private let configuration: RPCServerConfiguration
    let service: RPCService
    private let group: EventLoopGroup
    private let logger: Logger
    private let listener = Mutex<Listener?>(nil)
    private let inFlight = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    private let connections = Mutex<[ObjectIdentifier: RPCServerConnection]>([:])

    /// Creates a server for `service`.
    public init(configuration: RPCServerConfiguration, service: RPCService, group: EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.service = service
        self.group = group
        self.logger = logger
    }

    /// Starts listening and returns the bound address.
    @discardableResult
    public func start() throws(SocketError) -> SocketAddress {
        // Peers keep a few long-lived connections: spread them over the loops in turn.
        let listener = try Listener(address: configuration.address, group: group, distribution: .roundRobin) { [self] connection in
            if let certificates = configuration.tls {
                do {
                    try connection.startTLS(serving: certificates)
                } catch {
                    connection.close()
                    return
                }
            }
            let handler = RPCServerConnection(connection: connection, server: self)
            connections.withLock { $0[ObjectIdentifier(handler)] = handler }
            do {
                try connection.start(handler: handler)
            } catch {
                connection.close()
            }
        }
        self.listener.withLock { $0 = listener }
        return listener.address
    }

    /// Stops accepting connections.
    public func stop() {
        listener.withLock { $0?.close() }
    }

    /// Stops accepting, tells every peer with GOAWAY to send no new calls,
    /// lets calls in flight finish (up to `grace`), then closes the connections.
    public func shutdown(grace: Duration = .seconds(10)) async {
        draining.store(true, ordering: .releasing)
        stop()
        let open = connections.withLock { Array($0.values) }
        for handler in open { handler.connection.loop.execute { handler.goAway() } }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline && inFlight.load(ordering: .acquiring) > 0 {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for handler in open { handler.connection.loop.execute { handler.connection.close(afterFlush: true) } }
    }

    /// Calls being handled now.
    var inFlightCalls: Int { inFlight.load(ordering: .relaxed) }

    /// Open peer connections.
    var connectionCount: Int { connections.withLock { $0.count } }

    fileprivate func forget(_ handler: RPCServerConnection) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(handler)) }
    }

    fileprivate var frameDecoder: FrameDecoder { FrameDecoder(maxFrameSize: configuration.maxFrameSize) }
    fileprivate var isDraining: Bool { draining.load(ordering: .acquiring) }
    fileprivate var log: Logger { logger }
    fileprivate var name: String { configuration.name }
    fileprivate var secret: [UInt8] { configuration.secret }
    fileprivate var maxInFlightPerConnection: Int { configuration.maxInFlightPerConnection }
    fileprivate var handlerExecutor: RPCServerConfiguration.HandlerExecutor { configuration.handlerExecutor }

    /// Takes one of the server's call slots; false when all are in use.
    fileprivate func acquireSlot() -> Bool {
        if inFlight.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue <= configuration.maxInFlight { return true }
        inFlight.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        return false
    }

    fileprivate func releaseSlot() { inFlight.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
}

/// One client connection's state. Lives on the connection's loop.
private final class RPCServerConnection: ConnectionHandler, @unchecked Sendable {
    private static let nextID = Atomic<UInt64>(1)
    /// Unique in this process; handed to handlers as `RPCContext.connectionID`.
    let id = RPCServerConnection.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    private var goingAway = false
    let connection: Connection
    let server: RPCServer
    let decoder: FrameDecoder
    private var handshake = Handshake.awaitingHello

    private enum Handshake {
        case awaitingHello
        case awaitingProof(clientNonce: [UInt8], serverNonce: [UInt8])
        case done
    }
    private var running: [UInt32: Task<Void, Never>] = [:]

    init(connection: Connection, server: RPCServer) {
        self.connection = connection
        self.server = server
        self.decoder = server.frameDecoder
    }

    func connectionReadable(_ connection: Connection) {
        decoder.forEachFrame(in: connection, malformed: { refuse($0.message) }, handle)
    }

    /// Announces shutdown: calls already running finish, new ones are refused.
    func goAway() {
        guard !goingAway, !connection.isClosed else { return }
        goingAway = true
        var payload = ByteBuffer()
        payload.write(bigEndian: running.keys.max() ?? 0)
        payload.writeShortString("server is shutting down")
        connection.write(Frame(type: .goaway, streamID: 0, payload: payload.storage).encoded())
    }

    func connectionClosed(_ connection: Connection) {
        server.forget(self)
        server.service.connectionClosed(id)
        for task in running.values {
            task.cancel()
            server.releaseSlot()
        }
        running.removeAll()
    }

    private func handle(_ frame: Frame) {
        if case .done = handshake {
        } else if frame.type != .hello {
            refuse("the HELLO handshake must complete before any other frame")
            return
        }
        switch frame.type {
        case .hello:
            guard let hello = try? Hello(payload: frame.payload) else {
                refuse("malformed HELLO")
                return
            }
            switch handshake {
            case .awaitingHello:
                guard hello.version == rpcProtocolVersion else {
                    refuse("protocol version \(hello.version) is not supported (this server speaks \(rpcProtocolVersion))")
                    return
                }
                guard hello.nonce.count == PeerAuthentication.nonceSize else {
                    refuse("HELLO needs a \(PeerAuthentication.nonceSize)-byte nonce")
                    return
                }
                let serverNonce = Digest.randomBytes(PeerAuthentication.nonceSize)
                let proof = PeerAuthentication.serverProof(secret: server.secret, clientNonce: hello.nonce, serverNonce: serverNonce)
                handshake = .awaitingProof(clientNonce: hello.nonce, serverNonce: serverNonce)
                connection.write(
                    Frame(
                        type: .hello, streamID: 0,
                        payload: Hello(version: rpcProtocolVersion, peer: server.name, nonce: serverNonce, proof: proof).payload()
                    ).encoded())
            case .awaitingProof(let clientNonce, let serverNonce):
                let expected = PeerAuthentication.clientProof(secret: server.secret, clientNonce: clientNonce, serverNonce: serverNonce)
                guard Digest.constantTimeEquals(hello.proof, expected) else {
                    refuse("authentication failed: the peer does not hold this server's STRATA_RPC_SECRET", code: .unauthenticated)
                    return
                }
                handshake = .done
            case .done:
                refuse("unexpected HELLO after the handshake")
            }
        case .request:
            guard frame.streamID != 0, running[frame.streamID] == nil else {
                refuse("REQUEST on stream \(frame.streamID), which is reserved or already in use")
                return
            }
            let request: RPCRequest
            do {
                request = try RPCRequest(payload: frame.payload, flags: frame.flags)
            } catch {
                refuse("malformed REQUEST: \(error.message)")
                return
            }
            guard !goingAway else {
                let closing = RPCError(.unavailable, "server is shutting down")
                connection.write(Frame(type: .error, streamID: frame.streamID, payload: closing.payload()).encoded())
                return
            }
            // Over a limit the call is answered at once and the connection stays up:
            // the caller may retry later or elsewhere.
            guard running.count < server.maxInFlightPerConnection, server.acquireSlot() else {
                let busy = RPCError(.resourceExhausted, "too many calls in flight; try again shortly")
                connection.write(Frame(type: .error, streamID: frame.streamID, payload: busy.payload()).encoded())
                return
            }
            start(request, stream: frame.streamID)
        case .cancel:
            if let task = running.removeValue(forKey: frame.streamID) {
                task.cancel()
                server.releaseSlot()
            }
        case .ping:
            connection.write(Frame(type: .pong, streamID: frame.streamID, payload: frame.payload).encoded())
        case .goaway, .pong:
            break
        case .response, .error:
            refuse("clients may not send \(frame.type) frames")
        }
    }

    private func start(_ request: RPCRequest, stream: UInt32) {
        let service = server.service
        let loop = connection.loop
        let preference: (any TaskExecutor)? = server.handlerExecutor == .loop ? loop : nil
        let draining = server.isDraining
        let id = self.id
        running[stream] = Task(executorPreference: preference) {
            let reply =
                switch await service.handle(request, draining: draining, connectionID: id) {
                case .success(let body): Frame(type: .response, flags: request.bodyEncoding.flags, streamID: stream, payload: body)
                case .failure(let error): Frame(type: .error, streamID: stream, payload: error.payload())
                }
            if loop.inEventLoop {
                self.finish(stream, reply)
            } else {
                loop.execute { self.finish(stream, reply) }
            }
        }
    }

    private func finish(_ stream: UInt32, _ reply: Frame) {
        // A cancelled call's stream is gone (and its slot already released); its late answer is dropped.
        guard running.removeValue(forKey: stream) != nil else { return }
        server.releaseSlot()
        connection.write(reply.encoded())
    }

    /// Sends a connection-level ERROR and closes: the stream can no longer be trusted.
    private func refuse(_ message: String, code: RPCErrorCode = .invalidArgument) {
        server.log.warning("closing RPC connection", ("peer", connection.peer), ("reason", message))
        connection.write(Frame(type: .error, streamID: 0, payload: RPCError(code, message).payload()).encoded())
        connection.close(afterFlush: true)
    }
}
