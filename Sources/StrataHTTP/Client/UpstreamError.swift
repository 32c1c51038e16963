/// Why an upstream server (proxied HTTP, FastCGI, CGI) gave no usable answer.
/// Each maps to the status the client gets: 502, 503 or 504.
public struct UpstreamError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The upstream could not be reached (refused, unreachable, connect timeout).
        case connect
        /// No answer, or no bytes, within the time allowed.
        case timeout
        /// The answer broke the protocol: it is never forwarded.
        case malformed
        /// The upstream closed the connection before the answer was complete.
        case closed
        /// No upstream of the group is healthy, or its connection limit is reached.
        case unavailable
        /// The client's streamed request body did not arrive whole (cut off,
        /// stalled, broken framing): answered with `status`, a 4xx.
        case client(HTTPStatus)
    }

    /// What went wrong.
    public let kind: Kind
    /// Which upstream and what happened, for the log.
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The status the client gets.
    public var status: HTTPStatus {
        switch kind {
        case .connect, .malformed, .closed: .badGateway
        case .timeout: .gatewayTimeout
        case .unavailable: .serviceUnavailable
        case .client(let status): status
        }
    }

    public var description: String { message }

    /// The answer to the client: the status, and the request id to quote
    /// when reporting it, never the upstream's address or message.
    func response(requestID: String) -> HTTPResponse {
        let explanation =
            switch kind {
            case .connect: "the upstream server could not be reached"
            case .timeout: "the upstream server did not answer in time"
            case .malformed: "the upstream server sent an invalid answer"
            case .closed: "the upstream server closed the connection before answering"
            case .unavailable: "no upstream server is available"
            // The parser's reason: about the client's own bytes, nothing of the upstream.
            case .client: message
            }
        var text = "\(status.code) \(status.reason): \(explanation)"
        if !requestID.isEmpty { text += " (request \(requestID))" }
        var response = HTTPResponse.text(text + "\n", status: status)
        if kind == .unavailable { response.headers.set("Retry-After", "5") }
        return response
    }
}
