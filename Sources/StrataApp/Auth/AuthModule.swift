import Foundation
import StrataCore
import StrataRPC

/// The built-in auth module: sign-up, sign-in and sign-out pages, the
/// account page (password change, API tokens), and `GET /api/me`. Every
/// application tier includes it.
///
/// Forms that start or end a session redirect with the new session token
/// (or "" to end it) and the web tier sets the cookie; a new session id is
/// issued on every sign-in and password change, so a session id planted
/// before sign-in is worthless after it.
public struct AuthModule: DomainModule {
    /// Whether visitors may create their own accounts (operators can always, with `strata-app users create`).
    public let signupEnabled: Bool

    /// Creates the module.
    public init(signupEnabled: Bool = true) { self.signupEnabled = signupEnabled }

    public var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }

    public func register(_ m: inout ModuleRegistry) {
        let signupEnabled = self.signupEnabled

        let loginPage = m.method("auth.loginPage", access: .public, idempotent: true) { (query: NextPage, _) in
            LoginPage(next: query.safeNext, signup: signupEnabled)
        }
        let login = m.method("auth.login", access: .public) { (form: LoginForm, ctx) -> SessionChange in
            let accounts = Accounts(ctx.db)
            let throttle = LoginThrottle(db: ctx.db)
            let keys = LoginThrottle.keys(email: form.email, address: ctx.clientAddress)
            try await throttle.check(keys)
            guard let user = try await accounts.authenticate(email: form.email, password: form.password) else {
                try await throttle.recordFailure(keys)
                ctx.logger.info("sign-in failed", ("address", ctx.clientAddress))
                throw RPCError(.invalidArgument, "The email or password is not right.", details: ["password": "The email or password is not right."])
            }
            try await throttle.recordSuccess(keys)
            if let old = ctx.sessionToken, Accounts.looksLikeSessionToken(old) { try await accounts.endSession(old) }
            return SessionChange(
                strata_session: try await accounts.startSession(userID: user.id), next: NextPage(next: form.next).safeNext,
                flash: "Welcome back, \(user.name).")
        }
        let signupPage = m.method("auth.signupPage", access: .public, idempotent: true) { (_: Empty, _) -> SignupPage in
            guard signupEnabled else { throw RPCError(.notFound, "Sign-up is closed. Ask an administrator for an account.") }
            return SignupPage()
        }
        let signup = m.method("auth.signup", access: .public) { (form: SignupForm, ctx) -> SessionChange in
            guard signupEnabled else { throw RPCError(.notFound, "Sign-up is closed. Ask an administrator for an account.") }
            let accounts = Accounts(ctx.db)
            let user = try await accounts.createUser(
                email: form.email, name: form.name.trimmingCharacters(in: .whitespacesAndNewlines), password: form.password)
            ctx.logger.info("user signed up", ("user", String(user.id)))
            return SessionChange(strata_session: try await accounts.startSession(userID: user.id), next: "/", flash: "Welcome, \(user.name)!")
        }
        let logout = m.method("auth.logout", access: .public) { (_: Empty, ctx) -> SessionChange in
            if let token = ctx.sessionToken, Accounts.looksLikeSessionToken(token) { try await Accounts(ctx.db).endSession(token) }
            return SessionChange(strata_session: "", next: "/", flash: "You are signed out.")
        }
        let account = m.method("auth.account", access: .signedIn, idempotent: true) { (_: Empty, ctx) in
            AccountPage(user: ctx.user, tokens: try await Accounts(ctx.db).tokens(userID: ctx.user.id))
        }
        let changePassword = m.method("auth.changePassword", access: .signedIn) { (form: PasswordForm, ctx) -> SessionChange in
            let accounts = Accounts(ctx.db)
            guard try await accounts.authenticate(email: ctx.user.email, password: form.current_password) != nil else {
                throw FieldErrors(["current_password": "is not your current password"])
            }
            try await accounts.setPassword(userID: ctx.user.id, to: form.new_password)
            return SessionChange(
                strata_session: try await accounts.startSession(userID: ctx.user.id), next: "/account",
                flash: "Your password is changed. Other devices are signed out.")
        }
        let createToken = m.method("auth.createToken", access: .signedIn) { (form: TokenForm, ctx) -> SessionChange in
            let token = try await Accounts(ctx.db).createToken(userID: ctx.user.id, name: form.name.trimmingCharacters(in: .whitespaces))
            return SessionChange(
                strata_session: nil, next: "/account", flash: "Your new API token (copy it now, it is not shown again): \(token)")
        }
        let revokeToken = m.method("auth.revokeToken", access: .signedIn) { (form: TokenID, ctx) -> SessionChange in
            try await Accounts(ctx.db).revokeToken(id: form.id, userID: ctx.user.id)
            return SessionChange(strata_session: nil, next: "/account", flash: "The token is revoked.")
        }
        let me = m.method("auth.me", access: .signedIn, idempotent: true) { (_: Empty, ctx) in ctx.user }

        let loginRoute = m.page("/login", loginPage, template: "auth/login")
        m.signIn(at: loginRoute)
        m.form("/login", login, shownOn: loginRoute, attemptLimited: true, redirect: \.redirect)
        let signupRoute = m.page("/signup", signupPage, template: "auth/signup")
        m.form("/signup", signup, shownOn: signupRoute, attemptLimited: true, redirect: \.redirect)
        m.form("/logout", logout, redirect: \.redirect)
        let accountRoute = m.page("/account", account, template: "auth/account")
        m.form("/account/password", changePassword, shownOn: accountRoute, attemptLimited: true, redirect: \.redirect)
        m.form("/account/tokens", createToken, shownOn: accountRoute, redirect: \.redirect)
        m.form("/account/tokens/:id/revoke", revokeToken, redirect: \.redirect)
        m.api(.get, "/api/me", me)
    }
}

/// What a method that changes the session answers: its form redirects to
/// `next` with `flash`, and the web tier sets the session cookie to
/// `strata_session` (empty clears it; nil leaves it).
struct SessionChange: Codable, Sendable {
    let strata_session: String?
    let next: String
    let flash: String?

    var redirect: Redirect { Redirect(location: next, flash: flash, session: strata_session) }
}

struct NextPage: Codable, Sendable {
    var next: String?
    /// Only a path on this site: `//evil.example` or `https://...` would make the sign-in page an open redirect.
    var safeNext: String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }
}

struct LoginPage: Codable, Sendable {
    let next: String
    let signup: Bool
}

struct SignupPage: Codable, Sendable {}

struct AccountPage: Codable, Sendable {
    let user: User
    let tokens: [Accounts.APIToken]
}

struct LoginForm: Codable, Sendable {
    let email: String
    let password: String
    let next: String?
}

struct SignupForm: Codable, Sendable, Validatable {
    let email: String
    let name: String
    let password: String

    func validate(_ v: inout Validation) {
        v.length("email", email, 3...254)
        v.matches("email", email.trimmingCharacters(in: .whitespaces), "[^@\\s]+@[^@\\s]+", "must be an email address")
        v.length("name", name, 1...80)
        v.check("password", PasswordHash.allowedLength.contains(password.utf8.count), "must be 8 to 1024 characters")
    }
}

struct PasswordForm: Codable, Sendable, Validatable {
    let current_password: String
    let new_password: String

    func validate(_ v: inout Validation) {
        v.check("new_password", PasswordHash.allowedLength.contains(new_password.utf8.count), "must be 8 to 1024 characters")
    }
}

struct TokenForm: Codable, Sendable, Validatable {
    let name: String
    func validate(_ v: inout Validation) { v.length("name", name, 1...80) }
}

struct TokenID: Codable, Sendable {
    let id: Int64
}
