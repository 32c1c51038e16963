import StrataCore

/// The protocol a `GatewayExchange` speaks with its upstream: proxied HTTP
/// (`HTTPExchangeCodec`) or FastCGI (`FastCGIExchangeCodec`).
protocol ExchangeCodec {
    /// The bytes that send the request to `upstream`: all of it, or when
    /// the body streams (`HTTPRequest.bodyStream`), all but the body.
    func request(to upstream: Upstream) -> [UInt8]
    /// A piece of a streamed request body, framed for the upstream.
    func requestBody(_ piece: [UInt8]) -> [UInt8]
    /// What ends a streamed request body.
    var requestBodyEnd: [UInt8] { get }
    /// Takes what arrived from `buffer`: the head once complete (then
    /// `head` is set), body bytes appended to `body`. True when the answer is complete.
    mutating func read(_ buffer: inout ByteBuffer, body: inout [UInt8]) throws -> Bool
    /// The answer's head, once read.
    var head: ExchangeHead? { get }
    /// The upstream closed its side: fine when that ends the answer, else throws.
    mutating func inputEnded() throws
    /// Whether the connection may carry another request after this answer.
    var reusable: Bool { get }
    /// What to send when the client goes away before the end (FastCGI's ABORT_REQUEST); nil just closes.
    var abortBytes: [UInt8]? { get }
    /// What the upstream wrote for its log (FastCGI's STDERR), taken once.
    mutating func takeErrors() -> [UInt8]
}

extension ExchangeCodec {
    var abortBytes: [UInt8]? { nil }
    mutating func takeErrors() -> [UInt8] { [] }
}

/// The answer's head as the client will get it (hop-by-hop fields already removed).
struct ExchangeHead: Sendable {
    var status: HTTPStatus
    var headers: HTTPHeaders
    /// For HEAD: the length the upstream announced.
    var headLength: Int?
    /// A CGI local redirect.
    var localRedirect: String?
}

/// What a `GatewayExchange` needs from the handler that started it.
protocol UpstreamRoute: AnyObject, Sendable {
    /// The servers.
    var group: UpstreamGroup { get }
    /// The route's prefix: a metrics label and a name in log lines.
    var prefix: String { get }
    var logger: Logger { get }
}

extension UpstreamRoute {
    func logFailure(_ request: HTTPRequest, _ error: UpstreamError) {
        logger.warning(
            "gateway request failed", ("request_id", request.requestID), ("route", prefix), ("status", String(error.status.code)),
            ("error", error.message))
    }

    func logRetry(_ request: HTTPRequest, _ error: UpstreamError) {
        logger.info("retrying on another upstream", ("request_id", request.requestID), ("route", prefix), ("error", error.message))
    }

    func logStderr(_ request: HTTPRequest, _ errors: [UInt8]) {
        guard !errors.isEmpty else { return }
        for line in String(decoding: errors, as: UTF8.self).split(separator: "\n").prefix(50) {
            logger.warning("upstream wrote to stderr", ("request_id", request.requestID), ("route", prefix), ("line", String(line)))
        }
    }
}
