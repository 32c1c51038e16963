/// How a handler answers: at once, or after suspending.
///
/// `.response` is the fast path: the answer is written on the event loop that
/// read the request, with no task and no thread hop (static files, health
/// checks, redirects). `.later` runs its work in a task and the answer hops
/// back to the connection's loop. `.onLoop` is for handlers that do
/// non-blocking I/O on the same loop (the reverse proxy, FastCGI): no task,
/// no thread hop, the answer given through an `HTTPResponder`.
public enum HTTPOutcome: Sendable {
    /// The answer, ready now.
    case response(HTTPResponse)
    /// Work that produces the answer; may suspend.
    case later(@Sendable () async -> HTTPResponse)
    /// Work started on the loop that read the request; it answers through the
    /// responder, once, on that loop.
    case onLoop(@Sendable (HTTPResponder) -> Void)
}

/// Answers requests. `handle` is called on an event loop and must not block.
public protocol HTTPHandler: Sendable {
    /// Answers `request` at once or returns the work that will.
    func handle(_ request: HTTPRequest) -> HTTPOutcome
}

/// A handler made from an async closure: every answer goes through a task.
public struct AsyncHTTPHandler: HTTPHandler {
    let body: @Sendable (HTTPRequest) async -> HTTPResponse

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) { self.body = body }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        .later { await body(request) }
    }
}
