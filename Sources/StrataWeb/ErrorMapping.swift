import StrataHTTP
import StrataRPC

/// The one table that turns application-tier error codes into HTTP statuses.
enum ErrorMapping {
    static func status(for code: RPCErrorCode) -> HTTPStatus {
        switch code {
        case .invalidArgument: .unprocessableContent
        case .notFound: .notFound
        case .alreadyExists, .failedPrecondition, .aborted: HTTPStatus(409)
        case .permissionDenied: .forbidden
        case .unauthenticated: HTTPStatus(401)
        case .resourceExhausted: HTTPStatus(429)
        case .unimplemented: .notFound
        case .deadlineExceeded: HTTPStatus(504)
        case .unavailable, .cancelled: .serviceUnavailable
        case .internal, .unknown: .internalServerError
        }
    }

    /// The error code a JSON or XML error body names for an HTTP status the
    /// web tier gives itself (a missing page, a refused method).
    static func code(for status: HTTPStatus) -> String {
        switch status.code {
        case 400, 413, 415, 422: "invalidArgument"
        case 401: "unauthenticated"
        case 403: "permissionDenied"
        case 404: "notFound"
        case 405: "methodNotAllowed"
        case 406: "notAcceptable"
        case 409, 412: "failedPrecondition"
        case 429: "resourceExhausted"
        case 503: "unavailable"
        case 504: "deadlineExceeded"
        default: status.code >= 500 ? "internal" : "invalidArgument"
        }
    }

    /// Whether the RPC error's message is meant for the end user. Internal
    /// failures get a generic sentence instead.
    static func showsMessage(_ code: RPCErrorCode) -> Bool {
        switch code {
        case .internal, .unknown, .unavailable, .deadlineExceeded, .cancelled, .unimplemented: false
        default: true
        }
    }
}

extension RPCError {
    /// Seconds to wait before trying again, when the app tier said (its sign-in throttle does).
    var retryAfter: String? {
        guard code == .resourceExhausted else { return nil }
        return details["retry-after"] ?? "1"
    }
}
