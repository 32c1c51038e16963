import Foundation
import StrataTestSupport
import XCTest

/// Keeps the cookies it is given, as a real browser does.
final class Browser {
    let client: TestHTTPClient
    var cookies: [String: String] = [:]
    /// The address a (trusted) proxy in front of the web tier reports for this browser.
    let address: String
    init(_ client: TestHTTPClient, address: String) {
        self.client = client
        self.address = address
    }

    @discardableResult
    /// Sends a request with the browser's cookies; `form` is encoded as a
    /// browser would, `encodedForm` is sent exactly as given (already encoded).
    func go(
        _ method: String, _ path: String, form: [(String, String)]? = nil, encodedForm: String? = nil, headers: [(String, String)] = []
    ) throws -> TestHTTPClient.Response {
        var all = headers + [("X-Forwarded-For", address)]
        if !cookies.isEmpty { all.append(("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))) }
        var body = encodedForm
        if let form {
            body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        }
        if body != nil { all.append(("Content-Type", "application/x-www-form-urlencoded")) }
        let response = try client.request(method, path, headers: all, body: body)
        for (name, value) in response.headers where name.lowercased() == "set-cookie" {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            if value.contains("Max-Age=0") || pair.count < 2 || pair[1].isEmpty { cookies[pair[0]] = nil } else { cookies[pair[0]] = pair[1] }
        }
        return response
    }

    /// The CSRF token in a page's form.
    func token(on path: String) throws -> String {
        let page = try go("GET", path)
        return String(try XCTUnwrap(page.text.firstMatch(of: /name="_csrf" value="([0-9a-f]+)"/)?.1, "no form on \(path): \(page.status)"))
    }

    /// Signs up (and so in) as a new user.
    func signUp(email: String, name: String, password: String = "correct horse") throws {
        let response = try go(
            "POST", "/signup", form: [("_csrf", try token(on: "/signup")), ("email", email), ("name", name), ("password", password)])
        XCTAssertEqual(response.status, 303, response.text)
    }

    /// Makes an API token on the account page, as a signed-in user does, and returns it.
    func makeAPIToken(named name: String) throws -> String {
        XCTAssertEqual(try go("POST", "/account/tokens", form: [("_csrf", try token(on: "/account")), ("name", name)]).status, 303)
        return String(try XCTUnwrap(try go("GET", "/account").text.firstMatch(of: /(strata_[0-9a-f]{64})/)?.1))
    }
}
