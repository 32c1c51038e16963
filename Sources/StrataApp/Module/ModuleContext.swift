import StrataCore
import StrataProtocol
import StrataRPC

/// What a module's method handler gets besides its argument.
public struct ModuleContext: Sendable {
    /// The id of the browser request this call serves, for logs.
    public let requestID: String
    /// A logger for the application tier; every line carries the request's `request_id` and `trace_id`.
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
    public var clientAddress: String { metadata[WebMetadataKey.clientAddress] ?? "" }
    /// The browser's session id, when it sent one (the auth module ends it on sign-out).
    var sessionToken: String? { metadata[WebMetadataKey.session] }
}

/// What the handler of a `SignedInAccess` method gets: everything a
/// `ModuleContext` has (`ctx.db`, `ctx.logger`, ...), with the user known.
@dynamicMemberLookup
public struct SignedInContext: Sendable {
    /// The signed-in user who made the call.
    public let user: User
    /// The same context, with the user optional.
    public let base: ModuleContext

    /// `ctx.db`, `ctx.requestID` and the rest of `ModuleContext`.
    public subscript<Value>(dynamicMember member: KeyPath<ModuleContext, Value>) -> Value { base[keyPath: member] }
}
