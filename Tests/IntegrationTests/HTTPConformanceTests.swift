import Foundation
import StrataTestSupport
import XCTest

/// The web tier as `strata up` ships it (default rate limits, middleware and
/// security headers), spoken to through raw sockets: the request forms RFC
/// 9110/9112 give a status for, the connection state after each refusal,
/// conditional requests, rate-limit defaults, and input no library below may see.
final class HTTPConformanceTests: XCTestCase {
    private var tiers: Tiers!
    private var port = 0

    override func setUpWithError() throws {
        tiers = try Tiers(secret: "conformance-test-secret-0123456789")
        // The default limits (startStack turns the general one off for other tests).
        port = try tiers.startStack(
            database: tiers.folder.path + "/conformance.db",
            web: ["--rate-limit", "50", "--trusted-proxies", "127.0.0.1"]
        ).webPort
    }

    override func tearDown() { tiers.stop() }

    /// Sends raw bytes on a new connection and reads one answer.
    private func exchange(_ text: String) throws -> (TestHTTPClient.Response, TestHTTPClient) {
        let client = try TestHTTPClient(port: port, timeout: 5)
        try client.send(text)
        return (try client.readResponse(), client)
    }

    func testFramingErrorsAreAnsweredAt400AtOnceAndTheConnectionCloses() throws {
        let cases = [
            "GET / HTTP/1.1\nHost: localhost\n\n",  // bare LF, never a CRLF CRLF
            "GET / HTTP/1.1\r\nHost: localhost\nAccept: */*\r\n\r\n",  // one bare LF among CRLFs
            "GET / HTTP/1.1\r\nHost: local\rhost\r\n\r\n",  // bare CR
            "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n",  // invalid host
            "GET / HTTP/1.1\r\nHost: example.com:80x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: exa<mple>.com\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",  // no Host in 1.1
        ]
        for text in cases {
            let started = Date()
            let (response, client) = try exchange(text)
            XCTAssertEqual(response.status, 400, "\(text.debugDescription): \(response.text)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 4, "answered at once, not at the head timeout")
            XCTAssertEqual(response.header("Connection"), "close", text.debugDescription)
            XCTAssertTrue(client.isClosedByPeer(), "closed after a framing error: \(text.debugDescription)")
        }
        // Valid host forms pass.
        for host in ["localhost", "127.0.0.1:8080", "[::1]:8080", "xn--bcher-kva.example", ""] {
            let (response, _) = try exchange("GET /healthz HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            XCTAssertEqual(response.status, 200, "Host: \(host)")
        }
    }

    func testOptionsConnectAndVersions() throws {
        let (star, starClient) = try exchange("OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n")
        XCTAssertEqual(star.status, 204)
        XCTAssertEqual(star.header("Allow"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
        XCTAssertFalse(starClient.isClosedByPeer(), "OPTIONS * is an ordinary request: the connection stays")
        let (login, _) = try exchange("OPTIONS /login HTTP/1.1\r\nHost: localhost\r\n\r\n")
        XCTAssertEqual(login.status, 204)
        XCTAssertEqual(login.header("Allow"), "GET, HEAD, POST, OPTIONS")
        XCTAssertEqual(try exchange("OPTIONS /no-such-page HTTP/1.1\r\nHost: localhost\r\n\r\n").0.status, 404)

        let (connect, connectClient) = try exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        XCTAssertEqual(connect.status, 501)
        XCTAssertTrue(connectClient.isClosedByPeer(), "no tunnel: the connection closes")
        XCTAssertEqual(try exchange("BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n").0.status, 501)

        // A later HTTP/1.x minor version is answered as HTTP/1.1; 2.0 is not spoken here.
        let client = try TestHTTPClient(port: port, timeout: 5)
        try client.send("GET /healthz HTTP/1.2\r\nHost: localhost\r\n\r\n")
        let raw = String(decoding: try client.readRaw(through: "\r\n"), as: UTF8.self)
        XCTAssertTrue(raw.hasPrefix("HTTP/1.1 200"), raw)
        XCTAssertEqual(try exchange("GET / HTTP/2.0\r\nHost: localhost\r\n\r\n").0.status, 505)
    }

    func testPreconditionsOnStaticFilesAndOnStateChangingRequests() throws {
        let client = try TestHTTPClient(port: port, timeout: 5)
        let css = try client.request("GET", "/static/strata.css")
        XCTAssertEqual(css.status, 200)
        let etag = try XCTUnwrap(css.header("ETag"))
        let lastModified = try XCTUnwrap(css.header("Last-Modified"))
        XCTAssertEqual(try client.request("GET", "/static/strata.css", headers: [("If-Match", #""nope""#)]).status, 412)
        XCTAssertEqual(
            try client.request("GET", "/static/strata.css", headers: [("If-Match", "W/\(etag)")]).status, 412,
            "If-Match compares strongly: a weak tag never matches")
        XCTAssertEqual(try client.request("GET", "/static/strata.css", headers: [("If-Match", #""other", "# + etag)]).status, 200)
        XCTAssertEqual(try client.request("GET", "/static/strata.css", headers: [("If-Match", "*")]).status, 200)
        XCTAssertEqual(
            try client.request("GET", "/static/strata.css", headers: [("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]).status, 412)
        XCTAssertEqual(try client.request("GET", "/static/strata.css", headers: [("If-Unmodified-Since", lastModified)]).status, 200)
        XCTAssertEqual(try client.request("GET", "/static/strata.css", headers: [("If-None-Match", etag)], expectBody: false).status, 304)
        // If-Match wins over If-None-Match (RFC 9110 §13.2.2 order).
        XCTAssertEqual(try client.request("GET", "/static/strata.css", headers: [("If-Match", #""nope""#), ("If-None-Match", etag)]).status, 412)

        // A form post under a failing If-Match changes nothing: 412 before the app tier runs it.
        let ann = Browser(client, address: "203.0.113.20")
        let csrf = try ann.token(on: "/signup")
        let refused = try ann.go(
            "POST", "/signup", form: [("_csrf", csrf), ("email", "ann@example.com"), ("name", "Ann"), ("password", "correct horse")],
            headers: [("If-Match", #""some-version""#)])
        XCTAssertEqual(refused.status, 412, refused.text)
        XCTAssertNil(ann.cookies["strata_session"].flatMap { $0.count == 64 ? $0 : nil }, "no account was made, no one signed in")
        let signup = try ann.go(
            "POST", "/signup", form: [("_csrf", csrf), ("email", "ann@example.com"), ("name", "Ann"), ("password", "correct horse")])
        XCTAssertEqual(signup.status, 303, "the same form without the condition goes through: the email was still free")
    }

    func testSecurityHeaders() throws {
        let page = try TestHTTPClient(port: port).request("GET", "/login")
        let policy = try XCTUnwrap(page.header("Content-Security-Policy"))
        XCTAssertTrue(policy.contains("object-src 'none'"), policy)
        XCTAssertTrue(policy.contains("default-src 'self'"), policy)
        XCTAssertEqual(page.header("X-Content-Type-Options"), "nosniff")
    }

    func testStaticAssetsAndFormPagesAreNotRateLimitedButSignInAttemptsAre() throws {
        // 1,000 stylesheet requests on one keep-alive connection: never 429.
        let client = try TestHTTPClient(port: port, timeout: 5)
        var statuses: [Int: Int] = [:]
        for _ in 0..<1_000 { statuses[try client.request("GET", "/static/strata.css").status, default: 0] += 1 }
        XCTAssertEqual(statuses, [200: 1_000])
        for _ in 0..<50 { XCTAssertEqual(try client.request("GET", "/healthz").status, 200) }

        // Opening the sign-in and sign-up pages many times is not an attempt.
        let ann = Browser(try TestHTTPClient(port: port, timeout: 5), address: "203.0.113.30")
        for _ in 0..<20 { XCTAssertEqual(try ann.go("GET", "/login").status, 200) }
        for _ in 0..<20 { XCTAssertEqual(try ann.go("GET", "/signup").status, 200) }
        // Attempts are: ten in a burst, then 429 with Retry-After. (Sign-up
        // attempts, so the app tier's own sign-in throttle does not answer first.)
        let csrf = try ann.token(on: "/signup")
        var attempts: [Int] = []
        for _ in 0..<12 {
            attempts.append(
                try ann.go("POST", "/signup", form: [("_csrf", csrf), ("email", "ann@example.com"), ("name", "Ann"), ("password", "short")]).status)
        }
        XCTAssertEqual(Array(attempts.prefix(10)), Array(repeating: 422, count: 10), "\(attempts)")
        XCTAssertEqual(attempts.last, 429)
        let limited = try ann.go("POST", "/signup", form: [("_csrf", csrf), ("email", "ann@example.com"), ("name", "Ann"), ("password", "short")])
        XCTAssertNotNil(limited.header("Retry-After"))
        XCTAssertEqual(try ann.go("GET", "/signup").status, 200, "the form itself is still shown")

        // (That pages keep the general limit is StackTests' rate-limit test, with
        // a limit small enough not to depend on how fast this machine answers.)
    }

    func testInputTheLibrariesBelowCannotTakeIs422NamingTheField() throws {
        let ann = Browser(try TestHTTPClient(port: port, timeout: 5), address: "203.0.113.40")
        let csrf = try ann.token(on: "/signup")
        // A NUL in the password (a web scanner's probe): not libcrypt's error as a 500.
        let nul = try ann.go("POST", "/signup", encodedForm: "_csrf=\(csrf)&email=ann%40example.com&name=Ann&password=correct%00horse")
        XCTAssertEqual(nul.status, 422, nul.text)
        XCTAssertTrue(nul.text.contains("Password must not contain a NUL character"), nul.text)
        XCTAssertTrue(nul.text.contains(#"value="ann@example.com""#), "the rest of the input is kept")
        // Invalid UTF-8 in a field.
        let latin1 = try ann.go("POST", "/signup", encodedForm: "_csrf=\(csrf)&email=ann%40example.com&name=Ren%E9&password=correct+horse")
        XCTAssertEqual(latin1.status, 422, latin1.text)
        XCTAssertTrue(latin1.text.contains("Name is not valid UTF-8 text"), latin1.text)
        // An over-long password.
        let long = try ann.go(
            "POST", "/signup",
            form: [("_csrf", csrf), ("email", "ann@example.com"), ("name", "Ann"), ("password", String(repeating: "p", count: 5_000))])
        XCTAssertEqual(long.status, 422, long.text)
        // Nothing was stored: the same email signs up fine now.
        let good = try ann.go(
            "POST", "/signup", form: [("_csrf", csrf), ("email", "ann@example.com"), ("name", "Ann"), ("password", "correct horse")])
        XCTAssertEqual(good.status, 303, good.text)

        // The JSON API: a \u0000 escape in a field.
        let token = try ann.token(on: "/")
        let api = try ann.client.request(
            "POST", "/api/projects",
            headers: [
                ("Cookie", "strata_session=\(try XCTUnwrap(ann.cookies["strata_session"]))"), ("X-CSRF-Token", token),
                ("Content-Type", "application/json"), ("X-Forwarded-For", ann.address),
            ], body: #"{"name": "Launch\u0000", "description": "x"}"#)
        XCTAssertEqual(api.status, 422, api.text)
        XCTAssertTrue(api.text.contains(#""name""#) && api.text.contains("NUL"), api.text)
    }

    func testPagesAreCompressedAndTheirCSRFTokenIsMaskedInEveryResponse() throws {
        let ann = Browser(try TestHTTPClient(port: port, timeout: 5), address: "203.0.113.50")
        let first = try ann.token(on: "/signup")
        let second = try ann.token(on: "/signup")
        XCTAssertNotEqual(first, second, "two renders of one page carry different bytes for the token")
        XCTAssertEqual(first.count, 80)
        for token in [first, second] {
            // 422 (the password is too short) means the token passed; a bad token is 403.
            let post = try ann.go("POST", "/signup", form: [("_csrf", token), ("email", "ann@example.com"), ("name", "Ann"), ("password", "short")])
            XCTAssertEqual(post.status, 422, post.text)
        }
        var forged = Array(first)
        forged[79] = forged[79] == "0" ? "1" : "0"
        XCTAssertEqual(
            try ann.go("POST", "/signup", form: [("_csrf", String(forged)), ("email", "a@example.com"), ("name", "A"), ("password", "short")]).status,
            403)

        // The sign-in page through gzip: smaller, and the same page once decoded.
        let plain = try ann.go("GET", "/login")
        let compressed = try ann.go("GET", "/login", headers: [("Accept-Encoding", "gzip, deflate, br")])
        XCTAssertEqual(compressed.header("Content-Encoding"), "gzip")
        XCTAssertEqual(compressed.header("Vary"), "Accept-Encoding")
        XCTAssertEqual(plain.header("Vary"), "Accept-Encoding")
        XCTAssertLessThan(compressed.body.count, plain.body.count)
        let decoded = try gunzip(compressed.body)
        XCTAssertTrue(decoded.contains("</html>"), decoded)
        XCTAssertNil(try ann.go("GET", "/static/strata.css", headers: [("Accept-Encoding", "identity")]).header("Content-Encoding"))
        XCTAssertEqual(try ann.go("GET", "/static/strata.css", headers: [("Accept-Encoding", "gzip")]).header("Content-Encoding"), "gzip")
    }

    func testSessionCookiesAreSecureWhenATrustedProxySaysTheBrowserUsedHTTPS() throws {
        func cookie(_ headers: String) throws -> String {
            let (page, _) = try exchange("GET /login HTTP/1.1\r\nHost: localhost\r\n\(headers)\r\n")
            XCTAssertEqual(page.status, 200)
            return try XCTUnwrap(page.header("Set-Cookie"))
        }
        XCTAssertTrue(try cookie("X-Forwarded-Proto: https\r\n").contains("; Secure"))
        XCTAssertFalse(try cookie("X-Forwarded-Proto: http\r\n").contains("; Secure"))
        XCTAssertFalse(try cookie("").contains("; Secure"), "plain HTTP from the proxy itself")
    }

    /// Decodes with the system's gzip, an implementation independent of ours.
    private func gunzip(_ bytes: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -dc"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }
}
