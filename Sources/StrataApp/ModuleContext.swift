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
}
