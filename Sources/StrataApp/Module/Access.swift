import StrataRPC

/// Who may call a method that anonymous callers can reach: `.public`, or a
/// rule of the module's own. Its handler gets a `ModuleContext`, whose `user`
/// may be nil. For methods only signed-in users may call, see `SignedInAccess`.
///
/// The application tier checks access before the handler runs, against the
/// identity it resolved itself from the session or API token in the call
/// (never from anything the web tier asserts).
public struct Access: Sendable, CustomStringConvertible {
    let rule: AccessRule

    /// Anyone, signed in or not.
    public static let `public` = Access(rule: .public)

    /// A rule of the module's own; `reason` is listed by `rpc.methods`. A
    /// refused anonymous caller is asked to sign in, a refused user is denied.
    public static func custom(_ reason: String, _ rule: @escaping @Sendable (ModuleContext) async throws -> Bool) -> Access {
        Access(rule: .custom(reason, rule))
    }

    public var description: String { rule.description }
}

/// Who may call a method that needs a signed-in user. Its handler gets a
/// `SignedInContext`, whose `user` is never nil.
public struct SignedInAccess: Sendable, CustomStringConvertible {
    let rule: AccessRule

    /// Any signed-in user.
    public static let signedIn = SignedInAccess(rule: .signedIn)

    /// A signed-in user holding `role` (`admin` holds every role).
    public static func role(_ role: String) -> SignedInAccess { SignedInAccess(rule: .role(role)) }

    public var description: String { rule.description }
}

/// The rule behind `Access` and `SignedInAccess`, as the dispatcher checks it.
enum AccessRule: Sendable, CustomStringConvertible {
    case `public`
    case signedIn
    case role(String)
    case custom(_ reason: String, @Sendable (ModuleContext) async throws -> Bool)

    var description: String {
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

    static let signInFirst = RPCError(.unauthenticated, "Please sign in first.")
}
