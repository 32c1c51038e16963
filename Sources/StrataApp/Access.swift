import StrataRPC

/// Who may call a module's method. The application tier checks it before the
/// handler runs, against the identity it resolved itself from the session or
/// API token in the call (never from anything the web tier asserts).
public enum Access: Sendable, CustomStringConvertible {
    /// Anyone, signed in or not.
    case `public`
    /// Any signed-in user.
    case signedIn
    /// A signed-in user holding the role (`admin` holds every role).
    case role(String)
    /// A rule of the module's own; `reason` is listed by `rpc.methods`.
    case custom(_ reason: String, @Sendable (ModuleContext) async throws -> Bool)

    public var description: String {
        switch self {
        case .public: "public"
        case .signedIn: "signed-in"
        case .role(let role): "role \(role)"
        case .custom(let reason, _): "custom: \(reason)"
        }
    }

    /// Throws `unauthenticated` (no one is signed in) or `permissionDenied`.
    func check(_ context: ModuleContext) async throws {
        switch self {
        case .public:
            return
        case .signedIn:
            guard context.user != nil else { throw Self.signInFirst }
        case .role(let role):
            guard let user = context.user else { throw Self.signInFirst }
            guard user.has(role: role) else { throw RPCError(.permissionDenied, "This needs the \(role) role.") }
        case .custom(_, let rule):
            guard try await rule(context) else {
                throw context.user == nil ? Self.signInFirst : RPCError(.permissionDenied, "You may not do this.")
            }
        }
    }

    private static let signInFirst = RPCError(.unauthenticated, "Please sign in first.")
}
