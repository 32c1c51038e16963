import StrataCore
import StrataIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Settings of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// Where to listen; port 0 picks a free port.
    public var address: SocketAddress
    /// Parser limits.
    public var limits = HTTPLimits()
    /// How long an idle keep-alive connection stays open.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a client has to send a whole request head, from its first
    /// byte; trickling bytes does not extend it (slow-loris clients are cut off).
    public var headTimeout: Duration = .seconds(10)
    /// How long a request body may go without any bytes arriving.
    public var bodyTimeout: Duration = .seconds(30)
    /// Open connections above which new ones are refused with 503.
    public var maxConnections = 16_384
    /// Where handlers that suspend run: on the connection's event loop (as a
    /// task executor) or on Swift's global pool. See ARCHITECTURE.md for the measurements.
    public var handlerExecutor = HandlerExecutor.global

    /// Where suspending handlers run.
    public enum HandlerExecutor: String, Sendable {
        /// The connection's event loop thread.
        case loop
        /// Swift's global concurrent executor.
        case global
    }
    /// Requests read ahead on one connection before reading pauses.
    public var maxPipelinedRequests = 16
    /// The `Server` header value.
    public var serverName = "strata"
    /// When set, connections speak TLS with these certificates (HTTPS). The
    /// handshake counts against `headTimeout`: a client that stalls in it is
    /// cut off like one that stalls in its request head.
    public var tls: TLSServerCertificates?

    /// Creates a configuration for `address` with default limits.
    public init(address: SocketAddress) { self.address = address }
}

/// An HTTP/1.1 server: keep-alive, pipelining with in-order answers, strict
/// parsing, idle timeouts and graceful shutdown, on a group of event loops.
public final class HTTPServer: Sendable {
    /// The configuration in force.
    public let configuration: HTTPServerConfiguration
    private let group: EventLoopGroup
    private let handler: any HTTPHandler
    private let listener = Mutex<Listener?>(nil)
    private let registries: [LoopConnections]
    private let open = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)

    /// Creates a server that answers with `handler`.
    public init(configuration: HTTPServerConfiguration, group: EventLoopGroup, handler: any HTTPHandler) {
        self.configuration = configuration
        self.group = group
        self.handler = handler
        registries = group.loops.map { LoopConnections(loop: $0) }
    }

    /// Creates a server whose every answer comes from an async closure.
    public convenience init(
        configuration: HTTPServerConfiguration, group: EventLoopGroup,
        responder: @escaping @Sendable (HTTPRequest) async -> HTTPResponse
    ) {
        self.init(configuration: configuration, group: group, handler: AsyncHTTPHandler(responder))
    }

    /// Starts listening and returns the bound address.
    @discardableResult
    public func start() throws(SocketError) -> SocketAddress {
        let listener = try Listener(address: configuration.address, group: group) { [self] connection in
            accept(connection)
        }
        self.listener.withLock { $0 = listener }
        // Timeouts are enforced by a sweep per loop rather than a timer per
        // request, so keep-alive traffic never churns the timer heap.
        let shortest = min(configuration.idleTimeout, configuration.headTimeout, configuration.bodyTimeout)
        let interval = min(max(shortest / 4, .milliseconds(10)), .seconds(1))
        for registry in registries {
            registry.loop.execute { registry.startSweeping(every: interval) }
        }
        return listener.address
    }

    /// Stops accepting, lets in-flight requests finish, closes idle connections,
    /// and returns when all are closed or `grace` has passed.
    public func shutdown(grace: Duration = .seconds(10)) async {
        draining.store(true, ordering: .releasing)
        // What the kernel queued for this listener is still answered (a restart's
        // successor listens on the same port; these clients chose this process).
        if let listener = listener.withLock({ $0 }) { await listener.closeAcceptingQueued() }
        for registry in registries {
            registry.loop.execute { registry.forEach { $0.beginDrain() } }
        }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline && openConnections > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for registry in registries {
            registry.loop.execute { registry.forEach { $0.connection.close() } }
        }
        for registry in registries {
            registry.loop.execute { registry.stopSweeping() }
        }
    }

    /// The number of open client connections.
    public var openConnections: Int { open.load(ordering: .acquiring) }

    private func accept(_ connection: Connection) {
        guard open.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue <= configuration.maxConnections else {
            open.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            // A TLS client could not read a plaintext answer: it is just closed.
            guard configuration.tls == nil else {
                connection.close()
                return
            }
            // Best effort: one small write on the fresh socket, then close.
            connection.write(
                Array(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 35\r\nConnection: close\r\n\r\nserver is at its connection limit\r\n"
                        .utf8))
            connection.close(afterFlush: true)
            return
        }
        if let certificates = configuration.tls {
            do {
                try connection.startTLS(serving: certificates)
            } catch {
                open.wrappingSubtract(1, ordering: .acquiringAndReleasing)
                connection.close()
                return
            }
        }
        connection.pollsAfterActivity = false
        let registry = registries[connection.loop.index]
        let handler = HTTPConnectionHandler(connection: connection, configuration: configuration, handler: handler, date: registry.date) {
            [self] handler in
            registry.remove(handler)
            open.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        }
        registry.add(handler)
        do {
            try connection.start(handler: handler)
        } catch {
            connection.close()
            return
        }
        // Accepted while shutting down (queued when the listener closed): one request, then close.
        if draining.load(ordering: .acquiring) { handler.beginDrain() }
    }
}

/// The HTTP connections of one event loop, swept for timeouts. Loop-confined.
final class LoopConnections: @unchecked Sendable {
    let loop: EventLoop
    let date = DateLineCache()
    private var handlers: [ObjectIdentifier: HTTPConnectionHandler] = [:]
    private var sweeping = false

    init(loop: EventLoop) { self.loop = loop }

    func add(_ handler: HTTPConnectionHandler) { handlers[ObjectIdentifier(handler)] = handler }
    func remove(_ handler: HTTPConnectionHandler) { handlers[ObjectIdentifier(handler)] = nil }
    func forEach(_ body: (HTTPConnectionHandler) -> Void) { for handler in Array(handlers.values) { body(handler) } }

    func startSweeping(every interval: Duration) {
        guard !sweeping else { return }
        sweeping = true
        sweep(every: interval)
    }

    func stopSweeping() { sweeping = false }

    private func sweep(every interval: Duration) {
        guard sweeping else { return }
        let now = ContinuousClock.now
        forEach { $0.enforceDeadlines(now: now) }
        loop.scheduleTimer(after: interval) { [self] in sweep(every: interval) }
    }
}

/// One connection's HTTP state. Lives on the connection's loop, which is why
/// its state skips the runtime exclusivity checks (see `Connection`).
final class HTTPConnectionHandler: ConnectionHandler, StreamSink, @unchecked Sendable {
    let connection: Connection
    private let configuration: HTTPServerConfiguration
    private let handler: any HTTPHandler
    /// `handler` when it is a middleware chain (it always is in the web
    /// tier), which takes each request over without copying it.
    private let chain: MiddlewareChain?
    private let onClose: @Sendable (HTTPConnectionHandler) -> Void
    private let date: DateLineCache
    @exclusivity(unchecked) private var parser: RequestParser
    @exclusivity(unchecked) private var nextSequence = 0
    @exclusivity(unchecked) private var nextToWrite = 0
    @exclusivity(unchecked) private var finished: [Int: Outcome] = [:]
    @exclusivity(unchecked) private var inFlight = 0
    @exclusivity(unchecked) private var acceptingRequests = true
    /// Set at shutdown on a connection that has sent no request yet: its
    /// first may be on the way, so that one is answered, with the close, if
    /// it comes by then.
    @exclusivity(unchecked) private var firstRequestDeadline: ContinuousClock.Instant?
    /// Set at shutdown on a connection with nothing in flight whose next
    /// request may still come (its first) or is partly here (a body still
    /// uploading): that request is answered, with the close, and no other.
    @exclusivity(unchecked) private var answersOneMoreThenCloses = false
    @exclusivity(unchecked) private var sentContinue = false
    @exclusivity(unchecked) private var lastActivity = ContinuousClock.now
    /// When the first byte of the request head now being received arrived.
    @exclusivity(unchecked) private var headStartedAt: ContinuousClock.Instant?
    @exclusivity(unchecked) private var processing = false
    /// Handlers still working, by request sequence; cancelled when the client goes away.
    @exclusivity(unchecked) private var running: [Int: Task<Void, Never>] = [:]
    /// Answers of `.onLoop` handlers still awaited, by request sequence.
    @exclusivity(unchecked) private var responders: [Int: HTTPResponder] = [:]
    /// The streamed response being written; later answers wait for it.
    @exclusivity(unchecked) private var stream: StreamState?

    /// A class, so the `stream == nil` checks on every answer are a pointer test.
    private final class StreamState {
        let chunked: Bool
        let closesConnection: Bool
        var waiting: CheckedContinuation<Void, any Error>?

        init(chunked: Bool, closesConnection: Bool) {
            self.chunked = chunked
            self.closesConnection = closesConnection
        }
    }

    /// Output queued beyond this makes a streaming producer wait.
    static let streamHighWatermark = 256 * 1024

    private struct Outcome {
        var response: HTTPResponse
        var keepAlive: Bool
        var minorVersion: Int
        var omitBody: Bool
    }

    init(
        connection: Connection, configuration: HTTPServerConfiguration, handler: any HTTPHandler,
        date: DateLineCache, onClose: @escaping @Sendable (HTTPConnectionHandler) -> Void
    ) {
        self.connection = connection
        self.date = date
        self.configuration = configuration
        self.handler = handler
        self.chain = handler as? MiddlewareChain
        self.onClose = onClose
        self.parser = RequestParser(limits: configuration.limits)
        // A new connection must send its first head in time, like any other.
        self.headStartedAt = connection.loop.now
    }

    func connectionReadable(_ connection: Connection) {
        lastActivity = connection.loop.now
        if headStartedAt == nil && parser.isIdle { headStartedAt = lastActivity }
        processInbound()
    }

    func connectionInputClosed(_ connection: Connection) {
        acceptingRequests = false
        if inFlight == 0 && stream == nil { connection.close(afterFlush: true) }
    }

    func connectionClosed(_ connection: Connection) {
        // The client is gone: stop its work (an RPC call in flight sends CANCEL upstream).
        for task in running.values { task.cancel() }
        running.removeAll()
        for responder in responders.values { responder.cancel() }
        responders.removeAll()
        finished.removeAll()
        stream?.waiting?.resume(throwing: HTTPBodyWriter.Closed())
        stream = nil
        parser.abandonBody(.badRequest, "the client closed the connection before the end of the body")
        onClose(self)
    }

    func connectionFailedTLS(_ connection: Connection, _ error: TLSError) {
        // What nginx does too: a browser pointed at http:// on the HTTPS port
        // gets a readable answer instead of a dropped connection.
        guard error.isPlaintextHTTP else { return }
        connection.sendUnencrypted(Self.plaintextOnTLSPort)
    }

    static let plaintextOnTLSPort = Array(
        ("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 61\r\nConnection: close\r\n\r\n"
            + "400 Bad Request: this port speaks HTTPS; use an https:// URL\n").utf8)

    func connectionDrained(_ connection: Connection) {
        guard let waiting = stream?.waiting else { return }
        stream?.waiting = nil
        connection.notifiesWhenDrained = false
        waiting.resume()
    }

    func streamWrite(_ bytes: [UInt8], then continuation: CheckedContinuation<Void, any Error>) {
        guard let current = stream, !connection.isClosed else {
            continuation.resume(throwing: HTTPBodyWriter.Closed())
            return
        }
        connection.write(current.chunked ? ResponseWriter.chunk(bytes) : bytes)
        if connection.outboundBytes > Self.streamHighWatermark {
            stream?.waiting = continuation
            connection.notifiesWhenDrained = true
        } else {
            continuation.resume()
        }
    }

    private func finishStream(succeeded: Bool) {
        guard let current = stream, !connection.isClosed else { return }
        stream = nil
        guard succeeded else {
            // The status line has gone out; a cut-off body is the only honest signal left.
            connection.close()
            return
        }
        if current.chunked { connection.write(ResponseWriter.lastChunk) }
        if current.closesConnection {
            connection.close(afterFlush: true)
            return
        }
        writeFinished()
    }

    /// Called at shutdown: finish what is in flight, take nothing new.
    func beginDrain() {
        if inFlight == 0 && stream == nil && (nextSequence == 0 || !parser.isIdle) {
            // Cutting one partly here would lose what the client is sending (a form,
            // an upload): the head and body timeouts and the shutdown's grace bound it.
            answersOneMoreThenCloses = true
            if parser.isIdle { firstRequestDeadline = connection.loop.now + .seconds(1) }
            return
        }
        acceptingRequests = false
        if inFlight == 0 && stream == nil { connection.close(afterFlush: true) }
    }

    /// Closes the connection when it has been idle, or slow to send a head
    /// or body, for longer than allowed. Called by the loop's sweep.
    func enforceDeadlines(now: ContinuousClock.Instant) {
        guard !connection.isClosed else { return }
        if let deadline = firstRequestDeadline, nextSequence == 0, parser.isIdle, connection.inbound.readableBytes == 0, now >= deadline {
            // Kept at shutdown for a request that did not come: not a timeout to answer.
            connection.close()
            return
        }
        if let body = parser.streamingBody, body.wantsBytes, now - lastActivity >= configuration.bodyTimeout {
            // Its handler answers (408 if nothing went out yet), and that is the last answer.
            acceptingRequests = false
            connection.setReading(false)
            parser.abandonBody(.requestTimeout, "no request body bytes for \(configuration.bodyTimeout)")
            if inFlight == 0 && stream == nil { connection.close() }
            return
        }
        guard inFlight == 0, stream == nil else { return }
        if !parser.isIdle {
            if now - lastActivity >= configuration.bodyTimeout {
                refuse(HTTPParseError(.requestTimeout, "no request body bytes for \(configuration.bodyTimeout)"))
            }
        } else if let started = headStartedAt {
            if now - started >= configuration.headTimeout {
                refuse(HTTPParseError(.requestTimeout, "request head not complete within \(configuration.headTimeout)"))
            }
        } else if now - lastActivity >= configuration.idleTimeout {
            connection.close()
        }
    }

    private func processInbound() {
        // Answers given at once are only queued here and leave together when
        // the buffer is drained; re-entry from `complete` is folded into this loop.
        guard !processing else { return }
        processing = true
        connection.cork()
        defer {
            processing = false
            connection.uncork()
        }
        while !connection.isClosed {
            if parser.streamingBody != nil {
                // A body passed on as it arrives: it goes before the next head.
                do {
                    try parser.pumpBody(from: &connection.inbound)
                } catch {
                    // The body failed with the error; its handler answers.
                    acceptingRequests = false
                    break
                }
                guard parser.streamingBody == nil else { break }
                continue
            }
            guard acceptingRequests && inFlight < configuration.maxPipelinedRequests else { break }
            let parsed: HTTPRequest?
            do {
                parsed = try parser.next(
                    from: &connection.inbound, remoteAddress: connection.peer, isSecure: connection.isSecure, receivedAt: connection.loop.now)
            } catch {
                refuse(error)
                return
            }
            // Moved out, not copied: a copy of a request retains and releases each of its parts.
            guard let request = consume parsed else {
                if parser.expectsContinue && !sentContinue && parser.streamingBody == nil {
                    sentContinue = true
                    connection.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                }
                break
            }
            sentContinue = false
            if let body = request.bodyStream { watch(body, of: nextSequence) }
            dispatch(consume request)
            // Bytes left after a request begin the next head now.
            headStartedAt = connection.inbound.readableBytes > 0 ? connection.loop.now : nil
        }
        if !parser.isIdle || connection.inbound.readableBytes == 0 { headStartedAt = nil }
        if let body = parser.streamingBody {
            connection.setReading(body.wantsBytes)
        } else if !acceptingRequests && inFlight == 0 && stream == nil {
            // A dropped body has all arrived after its answer.
            connection.close(afterFlush: true)
        } else {
            connection.setReading(acceptingRequests && inFlight < configuration.maxPipelinedRequests)
        }
    }

    /// Wires a streamed request body to this connection: reading resumes
    /// when its consumer wants bytes, and `100 Continue` goes out when it
    /// first does (only when no earlier answer is still owed, which it
    /// would overtake).
    private func watch(_ body: HTTPRequestBody, of sequence: Int) {
        // Weak: the handler that holds the body may outlive this connection.
        body.onDemand = { [weak self, weak body] in
            guard let self, let body, !connection.isClosed, parser.streamingBody === body else { return }
            if parser.expectsContinue && !sentContinue && nextToWrite == sequence && stream == nil {
                sentContinue = true
                connection.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            }
            processInbound()
        }
    }

    private func dispatch(_ request: consuming HTTPRequest) {
        let sequence = nextSequence
        nextSequence += 1
        inFlight += 1
        let keepAlive = request.wantsKeepAlive
        if !keepAlive || answersOneMoreThenCloses { acceptingRequests = false }
        let omitBody = request.method == .head
        let minor = request.minorVersion
        let outcome: HTTPOutcome
        if let chain {
            outcome = chain.handle(owned: request)
        } else {
            outcome = handler.handle(request)
        }
        switch outcome {
        case .response(let response):
            complete(sequence, Outcome(response: response, keepAlive: keepAlive, minorVersion: minor, omitBody: omitBody))
        case .later(let work):
            let loop = connection.loop
            let preference: (any TaskExecutor)? = configuration.handlerExecutor == .loop ? loop : nil
            running[sequence] = Task(executorPreference: preference) {
                let response = await work()
                if loop.inEventLoop {
                    self.complete(sequence, Outcome(response: response, keepAlive: keepAlive, minorVersion: minor, omitBody: omitBody))
                } else {
                    loop.execute {
                        self.complete(sequence, Outcome(response: response, keepAlive: keepAlive, minorVersion: minor, omitBody: omitBody))
                    }
                }
            }
        case .onLoop(let start):
            let responder = HTTPResponder(loop: connection.loop) { [self] response in
                responders[sequence] = nil
                complete(sequence, Outcome(response: response, keepAlive: keepAlive, minorVersion: minor, omitBody: omitBody))
            }
            responders[sequence] = responder
            start(responder)
        }
    }

    /// Writes the next answer in order; false when the connection is closing
    /// or a streamed body now holds the line.
    private func send(_ outcome: Outcome) -> Bool {
        nextToWrite += 1
        inFlight -= 1
        // Answered before its streamed body has all arrived: the rest is
        // read and dropped (closing now could reset the connection before
        // the client reads the answer), and the connection then closes.
        let unfinishedBody = inFlight == 0 ? parser.streamingBody : nil
        if unfinishedBody != nil { acceptingRequests = false }
        // The last answer before a close (client asked, parse error, or draining) says so.
        let keepAlive = outcome.keepAlive && (acceptingRequests || inFlight > 0)
        write(outcome, keepAlive: keepAlive)
        if let unfinishedBody {
            unfinishedBody.discard()
            return false
        }
        if stream != nil { return false }
        if !keepAlive && inFlight == 0 {
            connection.close(afterFlush: true)
            return false
        }
        return true
    }

    private func write(_ outcome: Outcome, keepAlive: Bool) {
        // `outcome.response` is used in place throughout: a local copy of the
        // response would retain (and later release) each of its parts.
        var file: Int32 = -1
        if let region = outcome.response.file, region.open == nil, !outcome.omitBody {
            file = open(region.path, O_RDONLY | O_CLOEXEC)
            if file < 0 {
                var failed = outcome
                failed.response = .text("500 Internal Server Error: the file could not be opened\n", status: .internalServerError)
                return write(failed, keepAlive: keepAlive)
            }
        }
        connection.write(
            ResponseWriter.serialize(
                outcome.response, keepAlive: keepAlive, minorVersion: outcome.minorVersion,
                omitBody: outcome.omitBody, serverName: configuration.serverName, dateLine: date.current()))
        if ResponseWriter.bodyIsSeparate(outcome.response, omitBody: outcome.omitBody) { connection.write(outcome.response.body) }
        if let region = outcome.response.file, !outcome.omitBody {
            if let open = region.open {
                connection.writeFile(open, offset: region.offset, count: region.count)
            } else if file >= 0 {
                connection.writeFile(file, offset: region.offset, count: region.count)
            }
        }
        if let body = outcome.response.stream, !outcome.omitBody {
            startStream(body, chunked: outcome.minorVersion == 1, closesConnection: !keepAlive || outcome.minorVersion == 0)
        }
    }

    private func startStream(_ body: HTTPBodyStream, chunked: Bool, closesConnection: Bool) {
        stream = StreamState(chunked: chunked, closesConnection: closesConnection)
        let writer = HTTPBodyWriter(connection: connection, sink: self, gzip: body.gzip)
        let loop = connection.loop
        Task {
            let succeeded: Bool
            do {
                try await body.produce(writer)
                try await writer.finish()
                succeeded = true
            } catch {
                succeeded = false
            }
            loop.execute { self.finishStream(succeeded: succeeded) }
        }
    }

    private func refuse(_ error: HTTPParseError) {
        acceptingRequests = false
        let sequence = nextSequence
        nextSequence += 1
        inFlight += 1
        let response = HTTPResponse.text("\(error.status.code) \(error.status.reason): \(error.reason)\n", status: error.status)
        complete(sequence, Outcome(response: response, keepAlive: false, minorVersion: 1, omitBody: false))
    }

    private func complete(_ sequence: Int, _ outcome: Outcome) {
        running[sequence] = nil
        guard !connection.isClosed else { return }
        if sequence == nextToWrite && stream == nil {
            // The common case, the next answer in order: no reordering table.
            guard send(outcome) else { return }
        } else {
            finished[sequence] = outcome
        }
        writeFinished()
    }

    /// Writes finished answers in request order, whatever order the handlers
    /// finished in; a streamed answer holds back the ones after it until it ends.
    private func writeFinished() {
        while stream == nil, let next = finished.removeValue(forKey: nextToWrite) {
            guard send(next) else { return }
        }
        guard stream == nil else { return }
        lastActivity = connection.loop.now
        if inFlight == 0 && !acceptingRequests {
            connection.close(afterFlush: true)
            return
        }
        processInbound()
    }
}
