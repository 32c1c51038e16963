/// A signed-in user, as handlers see it.
public struct User: Codable, Sendable, Equatable {
    /// The user's id.
    public var id: Int64
    /// The email address, as typed at sign-up (compared without case).
    public var email: String
    /// The name shown to others.
    public var name: String
    /// Roles held (`admin` holds every role).
    public var roles: [String]

    /// Creates a user value.
    public init(id: Int64, email: String, name: String, roles: [String]) {
        self.id = id
        self.email = email
        self.name = name
        self.roles = roles
    }

    /// Whether the user holds `role` (or is an admin).
    public func has(role: String) -> Bool { roles.contains(role) || roles.contains("admin") }

    /// Whether the user is an admin.
    public var isAdmin: Bool { roles.contains("admin") }
}
