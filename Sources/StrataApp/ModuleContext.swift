import StrataCore
import StrataRPC

/// What a module's method handler gets besides its argument.
public struct ModuleContext: Sendable {
    /// The id of the browser request this call serves, for logs.
    public let requestID: String
    /// A logger for the application tier.
    public let logger: Logger
    /// The data tier.
    public let db: Database
    /// The caller's metadata, as sent over RPC.
    public let metadata: [String: String]
    /// When the caller stops waiting; calls to the data tier get only the time left.
    public let deadline: ContinuousClock.Instant?
    /// The signed-in user, resolved by the application tier from the session
    /// or API token in the call; nil for anonymous callers.
    public let user: User?
    /// The browser's address as the web tier saw it (for throttling and logs).
    public var clientAddress: String { metadata[RPCMetadataKey.clientAddress] ?? "" }

    /// The signed-in user, or `unauthenticated` (for handlers whose rule lets
    /// anonymous callers in but that need a user on some paths).
    public func requireUser() throws(RPCError) -> User {
        guard let user else { throw RPCError(.unauthenticated, "Please sign in first.") }
        return user
    }
}
