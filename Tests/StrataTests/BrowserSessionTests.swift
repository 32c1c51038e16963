import StrataHTTP
import XCTest

@testable import StrataWeb

final class BrowserSessionTests: XCTestCase {
    private let key = Array("a csrf key for the tests".utf8)

    private func request(cookie: String?) -> HTTPRequest {
        var headers = HTTPHeaders([("Host", "x")])
        if let cookie { headers.add("Cookie", cookie) }
        return HTTPRequest(method: .get, target: "/", headers: headers)
    }

    func testANewBrowserGetsASessionCookieWithSafeFlags() {
        let session = BrowserSession(request: request(cookie: nil))
        XCTAssertTrue(session.isNew)
        XCTAssertEqual(session.id.count, 32)
        XCTAssertEqual(session.cookieHeader(secure: false), "strata_session=\(session.id); Path=/; HttpOnly; SameSite=Lax")
        XCTAssertTrue(session.cookieHeader(secure: true).hasSuffix("; Secure"))
        // A malformed cookie is replaced, not trusted.
        XCTAssertTrue(BrowserSession(request: request(cookie: "strata_session=<script>")).isNew)
    }

    func testTheTokenBelongsToTheSession() {
        let id = String(repeating: "ab", count: 16)
        let session = BrowserSession(request: request(cookie: "theme=dark; strata_session=\(id)"))
        XCTAssertFalse(session.isNew)
        XCTAssertEqual(session.id, id)
        let token = session.csrfToken(key: key)
        XCTAssertTrue(session.acceptsForm([("name", "x"), ("_csrf", token)], key: key))
        XCTAssertFalse(session.acceptsForm([("name", "x")], key: key), "no token")
        XCTAssertFalse(session.acceptsForm([("_csrf", token)], key: Array("another key".utf8)), "another replica's secret")
        let other = BrowserSession(request: request(cookie: "strata_session=\(String(repeating: "cd", count: 16))"))
        XCTAssertFalse(other.acceptsForm([("_csrf", token)], key: key), "another browser's token")
        XCTAssertFalse(BrowserSession(request: request(cookie: nil)).acceptsForm([("_csrf", token)], key: key), "no session at all")
        XCTAssertTrue(BrowserSession.csrfField(token: token).contains(#"name="_csrf" value="\#(token)""#))
    }
}
