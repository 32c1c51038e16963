import Foundation
import StrataTestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The built-in auth module through the real tiers: sign-up, sign-in and
/// sign-out with session rotation, access rules, API tokens on the JSON API,
/// CSRF on cookie-authenticated API calls, the sign-in throttle, and the
/// operator's `strata-app users` commands.
final class AccountTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "account-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    private func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> TierProcess {
        try tiers.start(executable, arguments, environment: environment)
    }

    func testSignUpSignInAccessRulesTokensAndThrottlingOnSQLite() throws {
        try accounts(database: tiers.folder.path + "/accounts.db")
    }

    func testSignUpSignInAccessRulesTokensAndThrottlingOnPostgreSQL() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        try accounts(database: server.url)
    }

    private func accounts(database: String) throws {
        // The browsers below name their addresses through a trusted proxy header.
        let (port, dataAddress) = try tiers.startStack(database: database, web: ["--trusted-proxies", "127.0.0.1"])
        let ann = Browser(try TestHTTPClient(port: port), address: "203.0.113.5")

        // A page behind a rule sends an anonymous browser to sign in, and back afterwards.
        let account = try ann.go("GET", "/account")
        XCTAssertEqual(account.status, 303)
        XCTAssertEqual(account.header("Location"), "/login?next=%2Faccount")

        // Sign-up: typed field errors first, then an account and a signed-in session.
        var csrf = try ann.token(on: "/signup")
        let anonymousSession = try XCTUnwrap(ann.cookies["strata_session"])
        let weak = try ann.go("POST", "/signup", form: [("_csrf", csrf), ("email", "not-an-email"), ("name", ""), ("password", "short")])
        XCTAssertEqual(weak.status, 422)
        XCTAssertTrue(weak.text.contains("Email must be an email address"), weak.text)
        XCTAssertTrue(weak.text.contains("Name is required"))
        XCTAssertTrue(weak.text.contains("Password must be 8 to 1024 characters"))
        XCTAssertTrue(weak.text.contains(#"value="not-an-email""#), "what the user typed is kept")
        let signup = try ann.go(
            "POST", "/signup", form: [("_csrf", csrf), ("email", "Ann@Example.com"), ("name", "Ann"), ("password", "correct horse")])
        XCTAssertEqual(signup.status, 303, signup.text)
        let signedIn = try XCTUnwrap(ann.cookies["strata_session"])
        XCTAssertNotEqual(signedIn, anonymousSession, "signing in issues a new session id")
        XCTAssertEqual(signedIn.count, 64)
        XCTAssertTrue(try XCTUnwrap(signup.header("Set-Cookie")).contains("HttpOnly; SameSite=Lax"))
        let home = try ann.go("GET", "/")
        XCTAssertTrue(home.text.contains(#"<a href="/account">Ann</a>"#), "the layout shows who is signed in")
        XCTAssertTrue(home.text.contains("Welcome, Ann!"), "the flash message shows once")
        XCTAssertFalse(try ann.go("GET", "/").text.contains("Welcome, Ann!"), "and only once")

        // The same email in another case is taken.
        let other = Browser(try TestHTTPClient(port: port), address: "203.0.113.6")
        let taken = try other.go(
            "POST", "/signup",
            form: [("_csrf", try other.token(on: "/signup")), ("email", "ann@EXAMPLE.com"), ("name", "Imposter"), ("password", "longenough")])
        XCTAssertEqual(taken.status, 422)
        XCTAssertTrue(taken.text.contains("Email is already registered"), taken.text)

        // API tokens: created on the account page, shown once, accepted as bearer tokens, revocable.
        csrf = try ann.token(on: "/account")
        XCTAssertEqual(try ann.go("POST", "/account/tokens", form: [("_csrf", csrf), ("name", "laptop")]).status, 303)
        let tokenPage = try ann.go("GET", "/account")
        let token = String(try XCTUnwrap(tokenPage.text.firstMatch(of: /(strata_[0-9a-f]{64})/)?.1, tokenPage.text))
        XCTAssertFalse(try ann.go("GET", "/account").text.contains(token), "a token is shown once")
        let api = try TestHTTPClient(port: port)
        let me = try api.request("GET", "/api/me", headers: [("Authorization", "Bearer \(token)")])
        XCTAssertEqual(me.status, 200)
        XCTAssertEqual(me.header("Content-Type"), "application/json")
        XCTAssertTrue(me.text.contains(#""email":"Ann@Example.com""#), me.text)
        let anonymous = try api.request("GET", "/api/me")
        XCTAssertEqual(anonymous.status, 401)
        XCTAssertTrue(anonymous.text.contains(#""code":"unauthenticated""#), anonymous.text)
        XCTAssertEqual(
            try api.request("GET", "/api/me", headers: [("Authorization", "Bearer strata_\(String(repeating: "0", count: 64))")]).status, 401)
        XCTAssertEqual(try api.request("GET", "/api/me", headers: [("Authorization", "Basic abc")]).status, 401)
        XCTAssertEqual(try ann.go("GET", "/api/me").status, 200, "the session cookie works for safe API calls")

        // Sign-out ends the session on the server: the old cookie is worthless.
        csrf = try ann.token(on: "/")
        XCTAssertEqual(try ann.go("POST", "/logout", form: [("_csrf", csrf)]).status, 303)
        XCTAssertNotEqual(ann.cookies["strata_session"], signedIn)
        let replay = try api.request("GET", "/api/me", headers: [("Cookie", "strata_session=\(signedIn)")])
        XCTAssertEqual(replay.status, 401)

        // Sign-in: a wrong password is a field error; five for one account from one address, then 429 with Retry-After.
        csrf = try ann.token(on: "/login?next=/account")
        for _ in 0..<5 {
            let wrong = try ann.go(
                "POST", "/login", form: [("_csrf", csrf), ("email", "ann@example.com"), ("password", "wrong password"), ("next", "/account")])
            XCTAssertEqual(wrong.status, 422)
            XCTAssertTrue(wrong.text.contains("The email or password is not right."))
        }
        let throttled = try ann.go(
            "POST", "/login", form: [("_csrf", csrf), ("email", "ann@example.com"), ("password", "correct horse"), ("next", "/account")])
        XCTAssertEqual(throttled.status, 429)
        XCTAssertNotNil(throttled.header("Retry-After"))
        // The owner signing in from elsewhere is not locked out by those failures.
        let elsewhere = Browser(try TestHTTPClient(port: port), address: "198.51.100.7")
        let fine = try elsewhere.go(
            "POST", "/login",
            form: [
                ("_csrf", try elsewhere.token(on: "/login")), ("email", "ann@example.com"),
                ("password", "correct horse"), ("next", "//evil.example"),
            ])
        XCTAssertEqual(fine.status, 303, fine.text)
        XCTAssertEqual(fine.header("Location"), "/", "an off-site next is refused")

        // A cookie-authenticated API call that changes state needs the CSRF header.
        XCTAssertEqual(try elsewhere.go("GET", "/api/me").status, 200)

        // Operators manage accounts from the command line.
        let create = try start(
            "strata-app", ["users", "create", "root@example.com", "--admin", "--data", dataAddress],
            environment: ["STRATA_PASSWORD": "operator password"])
        XCTAssertEqual(create.waitForExit(), 0, create.output.joined(separator: "\n"))
        XCTAssertTrue(create.output.contains { $0.hasPrefix("created user ") && $0.hasSuffix(" root@example.com (admin)") }, "\(create.output)")
        let duplicate = try start(
            "strata-app", ["users", "create", "ROOT@example.com", "--data", dataAddress], environment: ["STRATA_PASSWORD": "operator password"])
        XCTAssertEqual(duplicate.waitForExit(), 1)
        XCTAssertTrue(duplicate.output.contains { $0.contains("email is already registered") }, "\(duplicate.output)")
        let grant = try start("strata-app", ["users", "grant", "ann@example.com", "editor", "--data", dataAddress])
        XCTAssertEqual(grant.waitForExit(), 0, grant.output.joined(separator: "\n"))
        let list = try start("strata-app", ["users", "list", "--data", dataAddress])
        XCTAssertEqual(list.waitForExit(), 0)
        XCTAssertTrue(list.output.contains { $0.contains("Ann@Example.com") && $0.contains("editor") }, "\(list.output)")
        XCTAssertTrue(list.output.contains { $0.contains("root@example.com") && $0.contains("admin") }, "\(list.output)")
        XCTAssertEqual(try elsewhere.go("GET", "/api/me").status, 401, "a role change ends the user's sessions")
        let unknown = try start("strata-app", ["users", "grant", "nobody@example.com", "x", "--data", dataAddress])
        XCTAssertEqual(unknown.waitForExit(), 1)
    }
}
