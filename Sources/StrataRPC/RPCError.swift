/// What went wrong with a call, in the spirit of gRPC's status codes.
public enum RPCErrorCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case unimplemented = 12
    case `internal` = 13
    case unavailable = 14
    case unauthenticated = 16

    public var description: String {
        switch self {
        case .cancelled: "cancelled"
        case .unknown: "unknown"
        case .invalidArgument: "invalidArgument"
        case .deadlineExceeded: "deadlineExceeded"
        case .notFound: "notFound"
        case .alreadyExists: "alreadyExists"
        case .permissionDenied: "permissionDenied"
        case .resourceExhausted: "resourceExhausted"
        case .failedPrecondition: "failedPrecondition"
        case .aborted: "aborted"
        case .unimplemented: "unimplemented"
        case .internal: "internal"
        case .unavailable: "unavailable"
        case .unauthenticated: "unauthenticated"
        }
    }
}

/// An error a call returns. `message` is safe to show to an end user:
/// handlers never put SQL, stack traces or secrets in it.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category.
    public let code: RPCErrorCode
    /// A human-readable explanation.
    public let message: String
    /// Optional structured details, such as a message per form field.
    public let details: [String: String]
    /// Set by the client when the server certainly did not run the call (it
    /// was never written, or came after the server's GOAWAY), so any call may
    /// be retried elsewhere. Not sent on the wire.
    var notProcessed = false

    /// Creates an error.
    public init(_ code: RPCErrorCode, _ message: String, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }

    public static func == (a: RPCError, b: RPCError) -> Bool {
        a.code == b.code && a.message == b.message && a.details == b.details
    }

    /// This error, marked as one the server never processed.
    func markedNotProcessed() -> RPCError {
        var error = self
        error.notProcessed = true
        return error
    }
}
