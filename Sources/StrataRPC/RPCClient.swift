import StrataCore
import StrataIO
import Synchronization

/// Calls methods on a service that one or more endpoints provide.
///
/// Each endpoint keeps one multiplexed, authenticated connection. A call goes
/// to the reachable endpoint with the fewest calls outstanding; an endpoint
/// that cannot be reached backs off (with jitter) and is tried again later. A
/// call whose connection could not be opened was never sent, so it moves on to
/// the next endpoint. A call that was sent is repeated only when that is
/// safe: the server certainly did not run it (it came after the server's
/// GOAWAY), or the caller said the method is idempotent and the connection
/// failed under it; at most `maxAttempts` times, within the call's deadline
/// and a `RetryBudget`. Host names are re-resolved every 10 seconds, so every
/// replica behind a DNS name (as with docker-compose) gets calls.
public final class RPCClient: Sendable {
    /// The addresses as configured.
    public let addresses: [SocketAddress]
    private let callerName: String
    /// How connections are opened (nil for an in-process client, which opens none).
    private let settings: ConnectionSettings?
    private let connectionsPerEndpoint: Int
    /// Whether any address is a host name that must be re-resolved.
    private let hasHostNames: Bool
    /// The endpoints when every address is numeric: fixed, so a call takes no lock to find them.
    private let fixedEndpoints: [RPCEndpoint]
    /// The endpoints of host-name addresses, re-resolved every `resolveInterval`.
    private let endpoints: Mutex<(list: [RPCEndpoint], resolvedAt: ContinuousClock.Instant?)>
    private let cursor = Atomic<Int>(0)
    private let retryBudget = RetryBudget()
    /// Set for a client that calls a service in its own process (`init(inProcess:)`).
    private let local: RPCService?
    /// Connection ids of pinned in-process "connections", which a service may bind state to.
    private let localConnections = Atomic<UInt64>(0)

    /// Attempts per call at most, the first included.
    static let maxAttempts = 3

    /// How often host names are resolved again.
    static let resolveInterval: Duration = .seconds(10)

    /// Creates a client for one address.
    public convenience init(
        address: SocketAddress, group: EventLoopGroup, callerName: String, secret: [UInt8],
        maxFrameSize: Int = 16 << 20, pingInterval: Duration = .seconds(10), tls: RPCTLS? = nil
    ) {
        self.init(
            addresses: [address], group: group, callerName: callerName, secret: secret, maxFrameSize: maxFrameSize,
            pingInterval: pingInterval, tls: tls)
    }

    /// Creates a client for `addresses`; `callerName` (the calling tier) goes
    /// into HELLO and metadata, and `secret` authenticates both ends. A connection
    /// quiet for `pingInterval` is pinged, and given up after three. Each
    /// address gets `connectionsPerEndpoint` connections (on the group's
    /// loops in turn), balanced like separate endpoints; with one per loop,
    /// callers running on a loop use the connection on it. With `tls`,
    /// every connection is TLS, verified against the host name dialled.
    public init(
        addresses: [SocketAddress], group: EventLoopGroup, callerName: String, secret: [UInt8],
        maxFrameSize: Int = 16 << 20, pingInterval: Duration = .seconds(10), connectionsPerEndpoint: Int = 1, tls: RPCTLS? = nil
    ) {
        precondition(!addresses.isEmpty, "an RPC client needs at least one address")
        let perEndpoint = max(1, connectionsPerEndpoint)
        let settings = ConnectionSettings(
            group: group, callerName: callerName, secret: secret, maxFrameSize: maxFrameSize, pingInterval: pingInterval, tls: tls)
        self.connectionsPerEndpoint = perEndpoint
        self.addresses = addresses
        self.callerName = callerName
        self.settings = settings
        hasHostNames = addresses.contains { $0.isHostName }
        var unique: [SocketAddress] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        fixedEndpoints =
            hasHostNames
            ? []
            : unique.flatMap { address in
                (0..<perEndpoint).map { settings.endpoint(address, $0) }
            }
        endpoints = Mutex(([], nil))
        local = nil
    }

    /// A client whose calls `service` answers in this process: no socket, no
    /// frames, the same methods, errors and encodings (for `StrataTesting`,
    /// which runs all three tiers in one test process).
    public init(inProcess service: RPCService, callerName: String) {
        addresses = []
        self.callerName = callerName
        settings = nil
        connectionsPerEndpoint = 1
        hasHostNames = false
        fixedEndpoints = []
        endpoints = Mutex(([], nil))
        local = service
    }

    /// Calls `method` with a body encoded as `encoding` and returns the result,
    /// encoded the same way. Pass `idempotent: true` when running the method
    /// twice does no harm (a read); the call may then be retried on another
    /// endpoint after a connection fails under it.
    public func call(
        _ method: String, body: [UInt8], encoding: RPCBodyEncoding = .binary, metadata: [String: String] = [:],
        timeout: Duration = .seconds(30), idempotent: Bool = false
    ) async throws(RPCError) -> [UInt8] {
        if let local {
            let request = RPCRequest(method, body: body, encoding: encoding, metadata: metadata, caller: callerName, timeout: timeout)
            return try await local.handle(request).get()
        }
        let deadline = ContinuousClock.now + timeout
        retryBudget.recordCall()
        let candidates = currentEndpoints()
        var tried: Set<ObjectIdentifier> = []
        var attempts = 0
        var sentSinceRound = false
        // Built only when needed: the message costs several allocations, and this runs on every call.
        var failure: RPCError?
        var lastError: RPCError { failure ?? noEndpoint }
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw attempts == 0 ? RPCError(.deadlineExceeded, "\(method): no time left to send the call") : lastError
            }
            if tried.count == candidates.count {
                // Every endpoint was tried; a retry may go back to one that
                // took the call (it may have reconnected), but not straight away.
                guard sentSinceRound else { throw lastError }
                sentSinceRound = false
                tried.removeAll()
                try? await Task.sleep(for: min(remaining, .milliseconds(Int.random(in: 10...50))))
                if Task.isCancelled { throw RPCError(.cancelled, "the call was cancelled") }
                continue
            }
            guard let endpoint = pick(from: candidates, excluding: tried) else { throw lastError }
            // An endpoint is remembered only when it failed: the usual call allocates no set.
            let connection: ClientConnection
            do {
                connection = try await endpoint.connection()
            } catch {
                // Not sent anywhere yet: safe to try the next endpoint.
                tried.insert(ObjectIdentifier(endpoint))
                failure = error
                continue
            }
            attempts += 1
            sentSinceRound = true
            let request = RPCRequest(method, body: body, encoding: encoding, metadata: metadata, caller: callerName, timeout: remaining)
            switch await endpoint.send(request, on: connection, timeout: remaining) {
            case .success(let reply):
                return reply
            case .failure(let error):
                tried.insert(ObjectIdentifier(endpoint))
                let retryable = error.code == .unavailable && (error.notProcessed || idempotent)
                guard retryable, attempts < Self.maxAttempts, retryBudget.withdrawForRetry() else { throw error }
                failure = error
            }
        }
    }

    /// Calls `method` with a typed argument and decodes a typed result.
    public func call<Input: Encodable, Output: Decodable>(
        _ method: String, _ input: Input, as output: Output.Type = Output.self,
        metadata: [String: String] = [:], timeout: Duration = .seconds(30), idempotent: Bool = false
    ) async throws(RPCError) -> Output {
        let reply = try await call(method, body: try RPCCodec.encode(input), metadata: metadata, timeout: timeout, idempotent: idempotent)
        return try decodeReply(Output.self, of: method, reply)
    }

    /// Calls `method` (retried where it is idempotent, or as `idempotent` says for this call).
    public func call<Input, Output>(
        _ method: RPCMethod<Input, Output>, _ input: Input, metadata: [String: String] = [:], timeout: Duration = .seconds(30),
        idempotent: Bool? = nil
    ) async throws(RPCError) -> Output {
        try await call(method.name, input, as: Output.self, metadata: metadata, timeout: timeout, idempotent: idempotent ?? method.idempotent)
    }

    /// A handle that sends every call on one connection, for state the server
    /// binds to a connection (the data tier's transactions). No balancing or
    /// retries: if that connection fails, the calls fail `unavailable`.
    public func pinned() async throws(RPCError) -> PinnedRPCConnection {
        if let local {
            let id = localConnections.add(1, ordering: .relaxed).newValue
            return PinnedRPCConnection(target: .local(local, connectionID: id), callerName: callerName)
        }
        let candidates = currentEndpoints()
        var tried: Set<ObjectIdentifier> = []
        var lastError = noEndpoint
        while let endpoint = pick(from: candidates, excluding: tried) {
            do {
                return PinnedRPCConnection(target: .remote(endpoint, try await endpoint.connection()), callerName: callerName)
            } catch {
                tried.insert(ObjectIdentifier(endpoint))
                lastError = error
            }
        }
        throw lastError
    }

    private var noEndpoint: RPCError {
        RPCError(.unavailable, "no endpoint for \(addresses.map(\.description).joined(separator: ", "))")
    }

    /// Closes every connection; later calls open new ones.
    public func close() {
        for endpoint in fixedEndpoints + endpoints.withLock({ $0.list }) { endpoint.close() }
    }

    /// The endpoint with the fewest calls outstanding among those not backing
    /// off; if all are backing off, the one whose back-off ends first.
    ///
    /// A connection on the caller's own event loop counts `localPreference`
    /// calls lighter: using it skips two thread hand-offs per call, which is
    /// worth more than a slightly shorter queue elsewhere, but a replica
    /// with far fewer calls outstanding still wins.
    private func pick(from candidates: [RPCEndpoint], excluding tried: Set<ObjectIdentifier>) -> RPCEndpoint? {
        // One scan, no intermediate arrays: this runs on every call.
        let now = ContinuousClock.now
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue  // rotate so ties spread
        var best: RPCEndpoint?
        var bestLoad = Int.max
        var soonest: RPCEndpoint?
        for offset in 0..<candidates.count {
            let endpoint = candidates[(start &+ offset) % candidates.count]
            guard !tried.contains(ObjectIdentifier(endpoint)) else { continue }
            if endpoint.isBackingOff(at: now) {
                if soonest == nil || (endpoint.retryAt ?? now) < (soonest!.retryAt ?? now) { soonest = endpoint }
                continue
            }
            let load = endpoint.outstanding - (endpoint.loop.inEventLoop ? Self.localPreference : 0)
            if load < bestLoad {
                best = endpoint
                bestLoad = load
            }
        }
        return best ?? soonest
    }

    /// How many outstanding calls a connection on the caller's loop is worth.
    static let localPreference = 8

    /// Every endpoint as last resolved, without resolving again.
    var allEndpoints: [RPCEndpoint] { fixedEndpoints + endpoints.withLock { $0.list } }

    /// The endpoints, resolving host names again when they are due.
    private func currentEndpoints() -> [RPCEndpoint] {
        guard hasHostNames else { return fixedEndpoints }
        let (list, resolvedAt) = endpoints.withLock { ($0.list, $0.resolvedAt) }
        if !list.isEmpty && (!hasHostNames || resolvedAt.map({ ContinuousClock.now - $0 < Self.resolveInterval }) ?? false) {
            return list
        }
        // Each resolved address keeps the name it came from: TLS verifies the server against the name dialled.
        var resolved: [(address: SocketAddress, name: String?)] = []
        for address in addresses {
            let all = address.isHostName ? address.resolveAll() : [address]
            resolved.append(contentsOf: (all.isEmpty ? [address] : all).map { ($0, address.host) })
        }
        return endpoints.withLock { state in
            var kept: [RPCEndpoint] = []
            for (address, name) in resolved where !kept.contains(where: { $0.address == address }) {
                let existing = state.list.filter { $0.address == address }.prefix(connectionsPerEndpoint)
                kept.append(contentsOf: existing)
                guard let settings else { break }
                for index in existing.count..<connectionsPerEndpoint {
                    kept.append(settings.endpoint(address, index, serverName: name))
                }
            }
            for gone in state.list where !kept.contains(where: { $0 === gone }) { gone.close() }
            state = (kept, .now)
            return kept
        }
    }

}

/// What opening a connection needs, apart from the client itself.
private struct ConnectionSettings: Sendable {
    let group: EventLoopGroup
    let callerName: String
    let secret: [UInt8]
    let maxFrameSize: Int
    let pingInterval: Duration
    let tls: RPCTLS?

    /// The `index`th connection to `address`, on the group's loops in turn;
    /// over TLS the server must hold a certificate for `serverName` (the
    /// host name `address` was resolved from; the address itself by default).
    func endpoint(_ address: SocketAddress, _ index: Int, serverName: String? = nil) -> RPCEndpoint {
        RPCEndpoint(address: address, loop: group.loops[index % group.loops.count]) { [self] address, loop in
            try await open(address, on: loop, serverName: serverName ?? address.host ?? "localhost")
        }
    }

    /// Connects to `address` on `loop` (over TLS when configured) and
    /// completes the authenticated HELLO handshake.
    func open(_ address: SocketAddress, on loop: EventLoop, serverName: String) async throws -> ClientConnection {
        let socket = try await Connection.connect(
            to: address, on: loop, tls: tls.map { TLSClientOptions(context: $0.client, serverName: serverName) })
        let client = ClientConnection(
            connection: socket, decoder: FrameDecoder(maxFrameSize: maxFrameSize), secret: secret, name: callerName, pingInterval: pingInterval)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            socket.loop.execute { client.beginHandshake(continuation) }
        }
        return client
    }
}

/// Calls that must all travel on one connection (see `RPCClient.pinned()`).
public struct PinnedRPCConnection: Sendable {
    enum Target: Sendable {
        case remote(RPCEndpoint, ClientConnection)
        case local(RPCService, connectionID: UInt64)
    }

    let target: Target
    let callerName: String

    /// Calls `method` with a typed argument on the pinned connection.
    public func call<Input: Encodable, Output: Decodable>(
        _ method: String, _ input: Input, as output: Output.Type = Output.self,
        metadata: [String: String] = [:], timeout: Duration = .seconds(30)
    ) async throws(RPCError) -> Output {
        let request = RPCRequest(
            method, body: try RPCCodec.encode(input), encoding: .binary, metadata: metadata, caller: callerName, timeout: timeout)
        let reply: Result<[UInt8], RPCError>
        switch target {
        case .remote(let endpoint, let connection): reply = await endpoint.send(request, on: connection, timeout: timeout)
        case .local(let service, let connectionID): reply = await service.handle(request, connectionID: connectionID)
        }
        return try decodeReply(Output.self, of: method, try reply.get())
    }
}

extension PinnedRPCConnection {
    /// Calls `method` on the pinned connection.
    public func call<Input, Output>(
        _ method: RPCMethod<Input, Output>, _ input: Input, metadata: [String: String] = [:], timeout: Duration = .seconds(30)
    ) async throws(RPCError) -> Output {
        try await call(method.name, input, as: Output.self, metadata: metadata, timeout: timeout)
    }
}

/// A typed result; a reply that does not decode is the callee's fault, reported as `internal`.
private func decodeReply<Output: Decodable>(_ type: Output.Type, of method: String, _ reply: [UInt8]) throws(RPCError) -> Output {
    do {
        return try RPCCodec.decode(Output.self, from: reply)
    } catch {
        throw RPCError(.internal, "\(method) returned a result this caller cannot decode: \(error.message)")
    }
}

extension RPCRequest {
    /// A request as a client sends it: the calling tier in the metadata
    /// unless given, and the time left as the deadline (at least 1 ms; 0 would mean none).
    init(_ method: String, body: [UInt8], encoding: RPCBodyEncoding, metadata: [String: String], caller: String, timeout: Duration) {
        var metadata = metadata
        metadata[RPCMetadataKey.caller] = metadata[RPCMetadataKey.caller] ?? caller
        self.init(
            method: method, timeoutMilliseconds: max(1, UInt32(clamping: timeout.wholeMilliseconds)), metadata: metadata, body: body,
            bodyEncoding: encoding)
    }
}
