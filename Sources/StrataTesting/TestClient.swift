import Foundation
import StrataHTTP
import StrataIO
import StrataWeb

/// A browser (or API client) talking to a `TestApp`'s web tier in process.
/// It keeps the cookies it is given, and sends the CSRF token a page would
/// have given it with every form and every unsafe API call on a session, so
/// a test reads like what a user does. Redirects are not followed on their
/// own: assert them, then `follow` them. One client serves one test at a time.
public final class TestClient {
    private let web: any HTTPHandler
    private let secret: [UInt8]
    /// Cookies by name, as the web tier last set them.
    var cookies: [String: String] = [:]

    init(web: any HTTPHandler, secret: [UInt8]) {
        self.web = web
        self.secret = secret
    }

    /// Whether the client holds a signed-in session (the app tier issues 64-hex-digit session ids).
    public var isSignedIn: Bool { cookies[WebApplication.sessionCookie]?.utf8.count == 64 }

    /// `GET target` (a path with an optional query).
    public func get(_ target: String) async -> TestResponse { await send(.get, target) }

    /// Submits a form: `POST target` with `fields` url-encoded and, unless
    /// `csrf` is false, the session's CSRF token as the hidden field carries it.
    public func post(_ target: String, form fields: KeyValuePairs<String, String>, csrf: Bool = true) async -> TestResponse {
        var pairs = fields.map { ($0.key, $0.value) }
        if csrf { pairs.append((WebApplication.csrfField, csrfToken())) }
        let body = pairs.map { FormDecoding.percentEncode($0) + "=" + FormDecoding.percentEncode($1) }.joined(separator: "&")
        return await send(.post, target, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
    }

    /// A JSON API call: `verb target` with `json` (or an `xml` document) as
    /// the body, answered in JSON. With `token` it authenticates with the
    /// API token (and sends no cookie); otherwise it uses the session
    /// cookie, with the CSRF header for unsafe verbs unless `csrf` is false.
    public func api(
        _ verb: String, _ target: String, json: String? = nil, xml: String? = nil, token: String? = nil, csrf: Bool = true
    ) async -> TestResponse {
        let method = HTTPMethod(rawValue: verb)
        var headers: [(String, String)] = [("Accept", "application/json")]
        if json != nil { headers.append(("Content-Type", "application/json")) }
        if xml != nil { headers.append(("Content-Type", "application/xml")) }
        if let token {
            headers.append(("Authorization", "Bearer \(token)"))
        } else if csrf, !method.isSafe {
            headers.append(("X-CSRF-Token", csrfToken()))
        }
        return await send(method, target, headers: headers, body: Array((json ?? xml ?? "").utf8), cookies: token == nil)
    }

    /// Follows a redirect with a GET, as a browser does after a form (which
    /// keeps a `#fragment` to itself).
    public func follow(_ response: TestResponse) async -> TestResponse {
        guard let location = response.location else { return response }
        return await get(String(location.prefix { $0 != "#" }))
    }

    /// Sends any request, with the browser's cookies, and returns the answer.
    public func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) async -> TestResponse {
        await send(HTTPMethod(rawValue: method), target, headers: headers, body: body)
    }

    /// Signs in through the sign-in form; true when the form accepted the password.
    @discardableResult
    public func signIn(email: String, password: String) async -> Bool {
        let response = await post("/login", form: ["email": email, "password": password])
        return response.status == 303 && isSignedIn
    }

    /// The token this browser's pages carry; a browser without a session
    /// gets one first, as its first page would have given it.
    private func csrfToken() -> String {
        if cookies[WebApplication.sessionCookie] == nil {
            cookies[WebApplication.sessionCookie] = (0..<32).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        }
        return WebApplication.csrfToken(session: cookies[WebApplication.sessionCookie]!, secret: secret) ?? ""
    }

    /// Where handlers that answer on an event loop (gateway routes) run.
    private static let handlerLoop = EventLoop.start(name: "strata-test", busyPoll: .zero)

    private func send(
        _ method: HTTPMethod, _ target: String, headers extra: [(String, String)] = [], body: [UInt8] = [], cookies sendCookies: Bool = true
    ) async -> TestResponse {
        var headers = HTTPHeaders([("Host", "localhost")] + extra)
        if sendCookies, !cookies.isEmpty {
            headers.add("Cookie", cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        if !body.isEmpty { headers.add("Content-Length", String(body.count)) }
        let request = HTTPRequest(method: method, target: target, headers: headers, body: body, remoteAddress: "127.0.0.1:50000")
        let response: HTTPResponse
        switch web.handle(request) {
        case .response(let ready): response = ready
        case .later(let work): response = await work()
        case .onLoop(let start): response = await HTTPResponder.await(on: Self.handlerLoop, start)
        }
        for (name, value) in response.headers where name.lowercased() == "set-cookie" { keep(cookie: value) }
        var bytes = response.body
        if let file = response.file, let handle = FileHandle(forReadingAtPath: file.path) {
            try? handle.seek(toOffset: UInt64(file.offset))
            bytes += (try? handle.read(upToCount: Int(file.count))) ?? Data()
            try? handle.close()
        }
        return TestResponse(status: response.status.code, headers: response.headers.map { ($0.0, $0.1) }, body: bytes)
    }

    /// A `Set-Cookie` value: kept, or dropped when it expires the cookie.
    private func keep(cookie header: String) {
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { return }
        let name = String(pair[..<equals])
        let value = String(pair[pair.index(after: equals)...])
        let expired = parts.dropFirst().contains { $0.lowercased() == "max-age=0" }
        if expired || value.isEmpty { cookies[name] = nil } else { cookies[name] = value }
    }
}
