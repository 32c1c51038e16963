/// Code that runs around every request: may answer early, and sees every response.
///
/// Both hooks are synchronous and run on the event loop, so they must be
/// quick; they work the same whether the handler answers at once or later.
public protocol HTTPMiddleware: Sendable {
    /// Runs before the handler, in chain order. Return a response to answer
    /// without calling the handler (later middleware is skipped too).
    func intercept(_ request: inout HTTPRequest) -> HTTPResponse?
    /// Runs on the response, in reverse chain order, for every middleware whose `intercept` ran.
    func finish(_ request: HTTPRequest, _ response: inout HTTPResponse)
}

extension HTTPMiddleware {
    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? { nil }
    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {}
}

/// A handler wrapped in middleware, outermost first.
public final class MiddlewareChain: HTTPHandler {
    private let middleware: [any HTTPMiddleware]
    private let handler: any HTTPHandler

    /// Wraps `handler` in `middleware`; the first element sees the request first and the response last.
    public init(_ middleware: [any HTTPMiddleware], handler: any HTTPHandler) {
        self.middleware = middleware
        self.handler = handler
    }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome { handle(owned: request) }

    /// The same, for a caller that gives the request up (the server does):
    /// the middleware change it in place. A copy of a request retains and
    /// releases each of its parts, and this runs for every request.
    func handle(owned request: consuming HTTPRequest) -> HTTPOutcome {
        for index in middleware.indices {
            if var early = middleware[index].intercept(&request) {
                finish(request, &early, through: index)
                return .response(early)
            }
        }
        switch handler.handle(request) {
        case .response(var response):
            // The common case, answered at once: no closure to allocate.
            finish(request, &response, through: middleware.count - 1)
            return .response(response)
        case let outcome:
            let prepared = request
            return outcome.map { [self] response in
                var response = response
                finish(prepared, &response, through: middleware.count - 1)
                return response
            }
        }
    }

    private func finish(_ request: HTTPRequest, _ response: inout HTTPResponse, through last: Int) {
        var index = last
        while index >= 0 {
            middleware[index].finish(request, &response)
            index -= 1
        }
    }
}
