import StrataCore
import StrataIO

/// One request sent to an upstream group (proxied HTTP or FastCGI, by
/// `Codec`), from choosing the server to the last body byte. Lives on the
/// loop that read the request: the upstream connection is on that loop
/// too, so a small answer goes client → upstream → client with no thread
/// hop and no task.
///
/// A body up to `bufferLimit` is read whole and answered in one write;
/// beyond that the answer starts at once and the rest streams, the
/// upstream's reading paused while the client is behind (`streamHighWatermark`),
/// so a large download does not grow memory. A streamed request body
/// (`HTTPRequest.bodyStream`) goes the other way the same way: the
/// client's reading paused while the upstream is behind.
final class GatewayExchange<Codec: ExchangeCodec>: UpstreamExchange, @unchecked Sendable {
    private let route: any UpstreamRoute
    private let request: HTTPRequest
    private var codec: Codec
    private let responder: HTTPResponder
    private let loop: EventLoop
    private let settings: UpstreamSettings
    private var tried: [Upstream] = []
    private var upstream: Upstream?
    private var connection: UpstreamConnection?
    private var head: ExchangeHead?
    private var body: [UInt8] = []
    /// Whether the current upstream sent any byte of its answer.
    private var receivedAny = false
    private var timer: TimerHandle?
    private var deadline: ContinuousClock.Instant
    private var lastRead: ContinuousClock.Instant
    /// Set once the exchange is over: answered in full, failed, or abandoned.
    private var done = false
    /// The streamed rest of the body, once the answer has started.
    private var stream: BodyPipe?
    /// Whether a stale pooled connection already earned its server a second try.
    private var retriedStale = false
    /// Whether the current request went out on a connection that had carried others.
    private var reusedConnection = false
    /// Whether the streamed request body started going out (then it cannot be sent again).
    private var uploadStarted = false
    /// Whether the whole request, body included, went out.
    private var requestSent = false

    init(route: any UpstreamRoute, request: HTTPRequest, codec: Codec, responder: HTTPResponder) {
        self.route = route
        self.request = request
        self.codec = codec
        self.responder = responder
        loop = responder.loop
        settings = route.group.settings
        lastRead = loop.now
        deadline = loop.now + settings.responseTimeout
    }

    func start() {
        responder.onCancel = { [self] in abandon() }
        timer = loop.scheduleTimer(after: settings.responseTimeout) { [self] in checkTime() }
        attempt()
    }

    // MARK: Choosing and connecting

    private func attempt(fresh: Bool = false) {
        guard let upstream = route.group.pick(excluding: tried) else {
            fail(UpstreamError(.unavailable, "no upstream of \(route.prefix) is available"))
            return
        }
        tried.append(upstream)
        self.upstream = upstream
        upstream.outstanding.wrappingAdd(1, ordering: .relaxed)
        receivedAny = false
        reusedConnection = false
        // A streamed body can be sent only once: never on a pooled
        // connection the upstream may have closed meanwhile.
        upstream.pool.acquire(fresh: fresh || request.bodyStream != nil) { [self] result in
            guard !done else {
                // Timed out or abandoned while waiting: the connection is still good.
                if case .success(let connection) = result { connection.pool.release(connection, reusable: true) }
                return
            }
            switch result {
            case .success(let connection):
                send(on: connection)
            case .failure(let error):
                failedBeforeAnswer(error)
            }
        }
    }

    private func send(on connection: UpstreamConnection) {
        self.connection = connection
        connection.exchange = self
        reusedConnection = connection.completed > 0
        lastRead = loop.now
        connection.connection.write(codec.request(to: upstream!))
        // The upstream's answer may be microseconds away: be awake for it.
        loop.pollAfterIteration()
        if let body = request.bodyStream {
            upload(body, on: connection)
        } else {
            requestSent = true
        }
    }

    /// Sends the request body as it arrives from the client, pausing the
    /// client while the upstream is behind. Progress keeps the answer's
    /// deadline away: it counts from the last byte the upstream took.
    private func upload(_ body: HTTPRequestBody, on connection: UpstreamConnection) {
        uploadStarted = true
        body.read { [self] event in
            guard !done, let current = self.connection, current === connection else { return }
            switch event {
            case .bytes(let piece):
                deadline = loop.now + settings.responseTimeout
                connection.connection.write(codec.requestBody(piece))
                if connection.connection.outboundBytes > settings.streamHighWatermark {
                    body.pause()
                    connection.connection.notifiesWhenDrained = true
                }
            case .end:
                deadline = loop.now + settings.responseTimeout
                connection.connection.write(codec.requestBodyEnd)
                requestSent = true
            case .failed(let status, let reason):
                // The upstream has part of a request: its connection cannot be used again.
                releaseConnection(reusable: false)
                finishUpstream()
                fail(UpstreamError(.client(status), reason))
            }
        }
    }

    func upstreamDrained(_ connection: UpstreamConnection) {
        guard !done, connection === self.connection else { return }
        request.bodyStream?.resume()
    }

    /// The upstream failed before any byte of an answer: an idempotent
    /// request is tried on another server, since nothing of it can have
    /// been seen. A pooled connection the upstream had just closed says
    /// nothing about the server, so its server may be tried again, once.
    private func failedBeforeAnswer(_ error: UpstreamError) {
        let stale = error.kind == .closed && reusedConnection
        if !stale { upstream?.noteFailure() }
        let failedUpstream = upstream
        releaseConnection(reusable: false)
        finishUpstream()
        guard error.kind == .connect || error.kind == .closed, request.method.isIdempotent, !uploadStarted else {
            fail(error)
            return
        }
        if stale, !retriedStale, let failedUpstream {
            retriedStale = true
            tried.removeAll { $0 === failedUpstream }
        }
        guard route.group.upstreams.contains(where: { candidate in !tried.contains { $0 === candidate } }) else {
            fail(error)
            return
        }
        route.logRetry(request, error)
        attempt(fresh: stale)
    }

    // MARK: Reading the answer

    func upstreamReadable(_ connection: UpstreamConnection) {
        receivedAny = true
        lastRead = loop.now
        do {
            if let stream {
                var piece: [UInt8] = []
                let complete = try codec.read(&connection.inbound, body: &piece)
                stream.push(piece)
                if complete {
                    finishStreaming()
                } else if stream.buffered > settings.streamHighWatermark {
                    connection.connection.setReading(false)
                }
                return
            }
            let complete = try codec.read(&connection.inbound, body: &body)
            if head == nil, let parsed = codec.head {
                head = parsed
                upstream?.noteSuccess()
            }
            guard head != nil else { return }
            if complete {
                answerWhole()
            } else if body.count > settings.bufferLimit {
                startStreaming()
            }
        } catch let error as UpstreamError {
            failed(error)
        } catch {
            failed(UpstreamError(.malformed, "\(error)"))
        }
    }

    func upstreamInputClosed(_ connection: UpstreamConnection) {
        guard head != nil else {
            failed(UpstreamError(.closed, "\(upstreamName) closed the connection before answering"))
            return
        }
        do {
            try codec.inputEnded()
            if stream != nil { finishStreaming() } else { answerWhole() }
        } catch let error as UpstreamError {
            failed(error)
        } catch {
            failed(UpstreamError(.closed, "\(error)"))
        }
    }

    func upstreamClosed(_ connection: UpstreamConnection) {
        self.connection = nil
        guard !done else { return }
        if head == nil {
            failed(UpstreamError(.closed, "\(upstreamName) closed the connection before answering"))
        } else if (try? codec.inputEnded()) != nil {
            if stream != nil { finishStreaming() } else { answerWhole() }
        } else {
            failed(UpstreamError(.closed, "\(upstreamName) closed the connection in the middle of the body"))
        }
    }

    private var upstreamName: String { upstream?.address.description ?? route.prefix }

    /// The client's response head, from the upstream's.
    private func response(body: [UInt8]) -> HTTPResponse {
        var response = HTTPResponse(status: head!.status, headers: head!.headers, body: body)
        response.headLength = head!.headLength
        response.localRedirect = head!.localRedirect
        response.route = route.prefix
        return response
    }

    /// The answer is complete: the connection goes back to the pool (when
    /// the protocol allows) and the request stops counting at its upstream.
    private func completed() -> Bool {
        guard !done else { return false }
        done = true
        timer?.cancel()
        // An answer before the whole request went out leaves the upstream mid-request.
        releaseConnection(reusable: codec.reusable && requestSent)
        finishUpstream()
        route.logStderr(request, codec.takeErrors())
        return true
    }

    private func answerWhole() {
        guard completed() else { return }
        responder.respond(response(body: body))
        body = []
    }

    private func startStreaming() {
        let pipe = BodyPipe(loop: loop) { [self] in
            // The client caught up: read from the upstream again.
            connection?.connection.setReading(true)
        } abandon: { [self] in
            abandon()
        }
        stream = pipe
        pipe.push(body)
        body = []
        var response = response(body: [])
        response.stream = HTTPBodyStream { writer in
            do {
                while let piece = try await pipe.next() { try await writer.write(piece) }
            } catch {
                // The client went away (or the upstream failed): stop reading upstream.
                pipe.abandonFromProducer()
                throw error
            }
        }
        responder.respond(response)
    }

    private func finishStreaming() {
        guard completed() else { return }
        stream?.end()
    }

    // MARK: Failing

    /// A failure while reading: before any byte of an answer it may be
    /// retried; after the answer started, the client's connection is cut
    /// (the only honest signal left).
    private func failed(_ error: UpstreamError) {
        guard !done else { return }
        guard receivedAny || head != nil else {
            failedBeforeAnswer(error)
            return
        }
        if head == nil { upstream?.noteFailure() }
        releaseConnection(reusable: false)
        finishUpstream()
        fail(error)
    }

    private func fail(_ error: UpstreamError) {
        guard !done else { return }
        done = true
        timer?.cancel()
        route.logFailure(request, error)
        if let stream {
            stream.fail(error)
        } else {
            responder.respond(error.response(requestID: request.requestID))
        }
    }

    /// The client went away: drop the upstream connection (it may still be
    /// mid-answer), first telling the upstream to stop when the protocol can.
    private func abandon() {
        if !done {
            done = true
            timer?.cancel()
            finishUpstream()
        }
        guard let connection else { return }
        self.connection = nil
        connection.exchange = nil
        if let abort = codec.abortBytes {
            connection.connection.write(abort)
            connection.connection.close(afterFlush: true)
        } else {
            connection.connection.close()
        }
    }

    private func checkTime() {
        timer = nil
        guard !done else { return }
        let now = loop.now
        let name = upstream?.address.description ?? route.prefix
        if head == nil && now >= deadline {
            upstream?.noteFailure()
            releaseConnection(reusable: false)
            finishUpstream()
            fail(UpstreamError(.timeout, "\(name): no answer within \(settings.responseTimeout)"))
            return
        }
        // While the client is behind, the upstream is paused on purpose.
        let waitingForClient = (stream?.buffered ?? 0) > 0
        if head != nil && !waitingForClient && now - lastRead >= settings.readTimeout {
            releaseConnection(reusable: false)
            finishUpstream()
            fail(UpstreamError(.timeout, "\(name): no body bytes for \(settings.readTimeout)"))
            return
        }
        let next = head == nil ? deadline : lastRead + settings.readTimeout
        timer = loop.scheduleTimer(after: max(next - now, .milliseconds(10))) { [self] in checkTime() }
    }

    private func releaseConnection(reusable: Bool) {
        guard let connection else { return }
        self.connection = nil
        connection.pool.release(connection, reusable: reusable)
    }

    /// The request no longer counts as outstanding at its upstream.
    private func finishUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        upstream.outstanding.wrappingSubtract(1, ordering: .relaxed)
    }
}

extension HTTPMethod {
    /// Methods whose repetition has the effect of one (RFC 9110 §9.2.2): safe to retry elsewhere.
    public var isIdempotent: Bool { isSafe || self == .put || self == .delete }
}
