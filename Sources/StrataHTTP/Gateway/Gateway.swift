import StrataIO

/// A handler whose answers come from CGI scripts or FastCGI responders,
/// which may answer with a local redirect for the gateway to follow.
protocol CGIAnswering {}

/// A mounted handler that passes request bodies on to another server, so
/// they can stream through rather than be read whole first.
protocol BodyPassing: Sendable {
    /// Whether `request`'s body (not yet arrived) may be handed over as it arrives.
    func streamsBody(_ request: HTTPRequest) -> Bool
    /// The largest body the route takes; nil keeps the server's limit.
    var maxBodySize: Int? { get }
}

/// Sends requests under mounted path prefixes to other servers (reverse
/// proxy, FastCGI, CGI) and everything else to the application, in the
/// same process and behind the same middleware.
public struct Gateway: HTTPHandler {
    /// A handler answering every request under `prefix`.
    public struct Mount: Sendable {
        public let prefix: String
        public let handler: any HTTPHandler
        // What the handler is, found once: a dynamic cast per request showed in profiles.
        /// Whether `handler`'s answers can be CGI local redirects.
        let answersCGI: Bool
        /// `handler` when it passes bodies on.
        let bodyPassing: (any BodyPassing)?

        public init(prefix: String, handler: any HTTPHandler) {
            self.prefix = prefix
            self.handler = handler
            answersCGI = handler is any CGIAnswering
            bodyPassing = handler as? any BodyPassing
        }
    }

    private let mounts: [Mount]
    private let fallback: (any HTTPHandler)?

    /// Routes to `mounts` (the longest matching prefix wins) and otherwise to
    /// `fallback` (without one, to a 404).
    public init(mounts: [Mount], fallback: (any HTTPHandler)? = nil) {
        self.mounts = mounts.sorted { $0.prefix.count > $1.prefix.count }
        self.fallback = fallback
    }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome { route(request, redirects: 0) }

    /// The answer when `request` falls under a mount (or is its prefix
    /// without the slash); nil when it belongs elsewhere.
    public func handleIfMounted(_ request: HTTPRequest) -> HTTPOutcome? { mounted(request, redirects: 0) }

    /// For `HTTPLimits.streamsBody`: whether the body of `request` (a head
    /// just parsed) goes to a route that passes it on as it arrives.
    public func streamsBody(_ request: HTTPRequest) -> Bool {
        mount(for: request.path)?.bodyPassing?.streamsBody(request) ?? false
    }

    /// For `HTTPLimits.bodyLimit`: the largest body the route of `request` takes, when it says.
    public func bodyLimit(_ request: HTTPRequest) -> Int? {
        mount(for: request.path)?.bodyPassing?.maxBodySize
    }

    private func mount(for path: String) -> Mount? { mounts.first { path.hasPrefix($0.prefix) } }

    private func route(_ request: HTTPRequest, redirects: Int) -> HTTPOutcome {
        if let outcome = mounted(request, redirects: redirects) { return outcome }
        return fallback?.handle(request) ?? .response(.text("404 Not Found: nothing is mounted at this address\n", status: .notFound))
    }

    private func mounted(_ request: HTTPRequest, redirects: Int) -> HTTPOutcome? {
        for mount in mounts {
            if request.path.hasPrefix(mount.prefix) {
                // A dot segment could climb out of the prefix once the
                // upstream resolves it (`/legacy/../admin`): refused here,
                // where the prefix was matched.
                if Self.hasDotSegment(request.path) {
                    return .response(.text("400 Bad Request: the path has a '.' or '..' segment\n", status: .badRequest))
                }
                let outcome = mount.handler.handle(request)
                // Only CGI answers (CGI and FastCGI scripts) can be local redirects.
                return mount.answersCGI ? following(outcome, request, redirects: redirects) : outcome
            }
            if mount.prefix.hasSuffix("/"), request.path.count == mount.prefix.count - 1, mount.prefix.hasPrefix(request.path) {
                // `/legacy` for a `/legacy/` mount: the address with its slash, as nginx answers.
                let location = mount.prefix + (request.query.map { "?" + $0 } ?? "")
                var response = HTTPResponse(status: .permanentRedirect, headers: HTTPHeaders([("Location", location)]))
                response.route = mount.prefix
                return .response(response)
            }
        }
        return nil
    }

    /// Local redirects a script may chain before the answer is a 502.
    static let maxLocalRedirects = 5

    /// `outcome`, or when it is a CGI local redirect, the answer to a GET
    /// of the path it names, as if the client had asked for it.
    private func following(_ outcome: HTTPOutcome, _ request: HTTPRequest, redirects: Int) -> HTTPOutcome {
        let loop = EventLoop.current
        switch outcome {
        case .response(let response):
            guard let path = response.localRedirect else { return outcome }
            return redirect(request, to: path, redirects: redirects)
        case .later(let work):
            return .later {
                let response = await work()
                guard let path = response.localRedirect else { return response }
                return await redirect(request, to: path, redirects: redirects).response(loop: loop)
            }
        case .onLoop(let start):
            return .onLoop { responder in
                let inner = HTTPResponder(loop: responder.loop) { response in
                    guard let path = response.localRedirect else {
                        responder.respond(response)
                        return
                    }
                    Task {
                        let answer = await redirect(request, to: path, redirects: redirects).response(loop: loop)
                        responder.loop.execute { responder.respond(answer) }
                    }
                }
                // A client that leaves still stops the work (FastCGI's ABORT_REQUEST).
                responder.onCancel = { inner.cancel() }
                start(inner)
            }
        }
    }

    private func redirect(_ request: HTTPRequest, to path: String, redirects: Int) -> HTTPOutcome {
        guard redirects < Self.maxLocalRedirects else {
            return .response(.text("502 Bad Gateway: more than \(Self.maxLocalRedirects) local redirects\n", status: .badGateway))
        }
        var next = HTTPRequest(
            method: .get, target: path, minorVersion: request.minorVersion, headers: request.headers, remoteAddress: request.remoteAddress,
            receivedAt: request.receivedAt)
        next.headers.set("Content-Length", "0")
        next.requestID = request.requestID
        next.trace = request.trace
        next.isSecure = request.isSecure
        return route(next, redirects: redirects + 1)
    }

    /// Whether `path` has a `.` or `..` segment, percent-encoded or not.
    static func hasDotSegment(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { bytes in
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "/") { end += 1 }
                // A segment of one or two dots, each written `.` or `%2e`.
                var i = start
                var dots = 0
                while i < end, dots < 3 {
                    if bytes[i] == UInt8(ascii: ".") {
                        i += 1
                    } else if end - i >= 3, bytes[i] == UInt8(ascii: "%"), bytes[i + 1] == UInt8(ascii: "2"), bytes[i + 2] | 0x20 == UInt8(ascii: "e")
                    {
                        i += 3
                    } else {
                        break
                    }
                    dots += 1
                }
                if i == end, dots == 1 || dots == 2 { return true }
                start = end + 1
            }
            return false
        }
    }
}

extension HTTPOutcome {
    /// The answer, waited for; `.onLoop` work runs on `loop` (or a loop of its own when nil).
    func response(loop: EventLoop?) async -> HTTPResponse {
        switch self {
        case .response(let response): response
        case .later(let work): await work()
        case .onLoop(let start): await HTTPResponder.await(on: loop ?? HTTPOutcome.fallbackLoop, start)
        }
    }

    private static let fallbackLoop = EventLoop.start(name: "strata-gateway", busyPoll: .zero)
}
