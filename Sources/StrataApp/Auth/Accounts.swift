import Foundation
import StrataCore
import StrataProtocol
import StrataRPC

/// Users, sessions and API tokens, stored by the data tier (see
/// `Migrations/0003_auth.sql`). Secrets are stored only as SHA-256 hashes: a
/// leaked table cannot be replayed as cookies or tokens.
public struct Accounts: Sendable {
    let db: Database

    /// Creates the store over a data-tier handle.
    public init(_ db: Database) { self.db = db }

    /// Session lifetime: idle for this long, or older than `sessionMaxAge`, and it ends.
    static let sessionIdleTimeout: Int64 = 14 * 86_400 * 1_000_000
    static let sessionMaxAge: Int64 = 30 * 86_400 * 1_000_000
    /// `last_seen_at` is written at most this often, not on every request.
    static let lastSeenResolution: Int64 = 5 * 60 * 1_000_000
    /// Prefix of API tokens, so a leaked one is recognizable (and scannable) as Strata's.
    static let tokenPrefix = "strata_"

    struct UserRow: Decodable {
        let id: Int64
        let email: String
        let name: String
        let roles: String
        var user: User { User(id: id, email: email, name: name, roles: roles.split(separator: " ").map(String.init)) }
    }

    struct Credentials: Decodable {
        let id: Int64
        let password_hash: String
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    /// A fresh 256-bit secret as 64 hex digits.
    static func newSecret() -> String { Digest.hex(Digest.randomBytes(32)) }

    static func hash(_ secret: String) -> String { Digest.hex(Digest.sha256(Array(secret.utf8))) }

    /// `hash(secret)`, taken from the request's `Database` when the secret is its caller's (hashed once per request).
    private func hashOf(_ secret: String) -> String {
        if let caller = db.caller, caller.credential == secret { return caller.hash }
        return Self.hash(secret)
    }

    /// The canonical form emails are compared in.
    static func emailKey(_ email: String) -> String { email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }

    /// Whether a cookie value could be a signed-in session (anonymous browsers carry shorter ids).
    static func looksLikeSessionToken(_ value: String) -> Bool {
        value.utf8.count == 64 && value.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    // MARK: Users

    /// Creates a user; `alreadyExists` when the email is taken (in any case).
    @discardableResult
    public func createUser(email: String, name: String, password: String, roles: [String] = []) async throws -> User {
        let hash = try PasswordHash.make(password)
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let rows = try await db.query(
                UserRow.self,
                "INSERT INTO users (email, email_key, name, password_hash, roles, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, email, name, roles",
                .text(email), .text(Self.emailKey(email)), .text(name), .text(hash), .text(roles.joined(separator: " ")), .int(Self.now()))
            guard let row = rows.first else { throw RPCError(.internal, "the new user has no id") }
            return row.user
        } catch let error as RPCError where error.code == .alreadyExists {
            throw FieldErrors(["email": "is already registered"])
        }
    }

    /// The user with `email` (any case), if any.
    public func user(email: String) async throws -> User? {
        try await db.query(UserRow.self, "SELECT id, email, name, roles FROM users WHERE email_key = $1", .text(Self.emailKey(email))).first?.user
    }

    /// Every user, oldest first.
    public func allUsers() async throws -> [User] {
        try await db.query(UserRow.self, "SELECT id, email, name, roles FROM users ORDER BY id").map(\.user)
    }

    /// The user whose email and password match, or nil (the same work is done
    /// for an unknown email, so timing does not tell which emails exist).
    func authenticate(email: String, password: String) async throws -> User? {
        let rows = try await db.query(Credentials.self, "SELECT id, password_hash FROM users WHERE email_key = $1", .text(Self.emailKey(email)))
        guard let credentials = rows.first else {
            _ = PasswordHash.verify(password, against: Self.decoyHash)
            return nil
        }
        guard PasswordHash.verify(password, against: credentials.password_hash) else { return nil }
        return try await user(id: credentials.id)
    }

    /// Compared against when the email is unknown.
    private static let decoyHash = (try? PasswordHash.make(newSecret())) ?? "$y$"

    func user(id: Int64) async throws -> User? {
        try await db.query(UserRow.self, "SELECT id, email, name, roles FROM users WHERE id = $1", .int(id)).first?.user
    }

    /// Sets a new password and ends every session of the user (a stolen one among them).
    public func setPassword(userID: Int64, to password: String) async throws {
        try await db.execute("UPDATE users SET password_hash = $1 WHERE id = $2", .text(try PasswordHash.make(password)), .int(userID))
        try await db.execute("DELETE FROM sessions WHERE user_id = $1", .int(userID))
    }

    /// Adds `role`; the user's sessions end, so the next sign-in gets a new session id with the new rights.
    public func grant(_ role: String, to userID: Int64) async throws {
        guard let user = try await user(id: userID) else { throw RPCError(.notFound, "no such user") }
        guard !user.roles.contains(role) else { return }
        try await db.execute("UPDATE users SET roles = $1 WHERE id = $2", .text((user.roles + [role]).joined(separator: " ")), .int(userID))
        try await db.execute("DELETE FROM sessions WHERE user_id = $1", .int(userID))
    }

    // MARK: Sessions

    /// Starts a session for `userID` and returns its token (the cookie value); only its hash is stored.
    package func startSession(userID: Int64) async throws -> String {
        let token = Self.newSecret()
        let now = Self.now()
        try await db.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)",
            .text(Self.hash(token)), .int(userID), .int(now), .int(now + Self.sessionMaxAge))
        return token
    }

    /// Ends the session `token` names (signing out).
    func endSession(_ token: String) async throws {
        try await db.execute("DELETE FROM sessions WHERE token_hash = $1", .text(Self.hash(token)))
    }

    private struct SessionRow: Decodable {
        let id: Int64
        let email: String
        let name: String
        let roles: String
        let expires_at: Int64
        let last_seen_at: Int64
    }

    /// The user a live session belongs to; an expired or idle one is deleted.
    func user(session token: String) async throws -> User? {
        let hash = hashOf(token)
        guard
            let row = try await db.query(
                SessionRow.self,
                "SELECT u.id, u.email, u.name, u.roles, s.expires_at, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
                .text(hash)
            ).first
        else { return nil }
        let now = Self.now()
        if now >= row.expires_at || now - row.last_seen_at >= Self.sessionIdleTimeout {
            try await db.execute("DELETE FROM sessions WHERE token_hash = $1", .text(hash))
            return nil
        }
        if now - row.last_seen_at >= Self.lastSeenResolution {
            try await db.execute("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2", .int(now), .text(hash))
        }
        return UserRow(id: row.id, email: row.email, name: row.name, roles: row.roles).user
    }

    // MARK: API tokens

    /// An API token as its owner sees it (never the secret, after creation).
    public struct APIToken: Codable, Sendable {
        public let id: Int64
        public let name: String
        public let created_at: Int64
        public let last_used_at: Int64?
    }

    /// Creates a token for `userID` and returns the secret, which is shown once and stored only hashed.
    package func createToken(userID: Int64, name: String) async throws -> String {
        let token = Self.tokenPrefix + Self.newSecret()
        try await db.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
            .int(userID), .text(name), .text(Self.hash(token)), .int(Self.now()))
        return token
    }

    func tokens(userID: Int64) async throws -> [APIToken] {
        try await db.query(APIToken.self, "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id", .int(userID))
    }

    /// Revokes one of the user's own tokens; `notFound` for anyone else's.
    func revokeToken(id: Int64, userID: Int64) async throws {
        let result = try await db.execute("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2", .int(id), .int(userID))
        guard result.rowsAffected == 1 else { throw RPCError(.notFound, "There is no such token.") }
    }

    /// The owner of an API token.
    func user(apiToken token: String) async throws -> User? {
        guard token.hasPrefix(Self.tokenPrefix) else { return nil }
        let hash = hashOf(token)
        guard
            let row = try await db.query(
                UserRow.self, "SELECT u.id, u.email, u.name, u.roles FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
                .text(hash)
            ).first
        else { return nil }
        try await db.execute("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2", .int(Self.now()), .text(hash))
        return row.user
    }

    /// Who is calling: the owner of the bearer token, else of the session cookie.
    func identify(_ metadata: [String: String]) async throws -> User? {
        if let token = metadata[WebMetadataKey.bearerToken] { return try await user(apiToken: token) }
        if let session = metadata[WebMetadataKey.session], Self.looksLikeSessionToken(session) { return try await user(session: session) }
        return nil
    }
}
