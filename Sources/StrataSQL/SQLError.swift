/// A database call failed. `kind` lets callers map it to an RPC code without parsing messages.
public struct SQLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of failure.
    public enum Kind: String, Sendable, Codable {
        case uniqueViolation, foreignKeyViolation, checkViolation, notNullViolation
        /// The transaction lost a conflict (serialization failure, deadlock); retrying may succeed.
        case serializationFailure
        /// The engine cannot be reached (connection lost, server shutting down,
        /// or the server is a standby now and refuses writes).
        case unavailable
        /// The connection was lost after COMMIT was sent: the transaction may
        /// or may not have committed. Never retried blindly.
        case outcomeUnknown
        case syntax, busy, cannotOpen, unsupported, other
    }

    /// The category.
    public let kind: Kind
    /// The engine's message.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
