import XCTest

@testable import StrataHTTP

final class RateLimitTests: XCTestCase {
    private func request(_ path: String, from address: String, forwardedFor: String? = nil, method: HTTPMethod = .get) -> HTTPRequest {
        var headers = HTTPHeaders([("Host", "x")])
        if let forwardedFor { headers.add("X-Forwarded-For", forwardedFor) }
        return HTTPRequest(method: method, target: path, headers: headers, remoteAddress: address)
    }

    func testABurstIsAllowedThenTheClientGets429WithRetryAfter() {
        let limiter = RateLimitMiddleware(general: .init(rate: 1, burst: 3), attempts: nil, trustedProxies: [])
        var answers: [Int] = []
        for _ in 0..<5 {
            var r = request("/", from: "10.0.0.1:5000")
            answers.append(limiter.intercept(&r)?.status.code ?? 200)
        }
        XCTAssertEqual(answers, [200, 200, 200, 429, 429])
        var refused = request("/", from: "10.0.0.1:5001")
        let response = limiter.intercept(&refused)
        XCTAssertEqual(response?.headers["Retry-After"], "1")
        // Another client has its own bucket.
        var other = request("/", from: "10.0.0.2:5000")
        XCTAssertNil(limiter.intercept(&other))
    }

    func testStricterLimitsCountOnlyTheAttemptsNotThePageShowingTheForm() {
        let attemptPaths = AttemptPaths(["/login"])
        let limiter = RateLimitMiddleware(
            general: .init(rate: 100, burst: 100), attempts: .init(rate: 1, burst: 2), attemptPaths: attemptPaths, trustedProxies: [])
        for _ in 0..<20 {
            var page = request("/login", from: "10.0.0.1:1")
            XCTAssertNil(limiter.intercept(&page), "GET /login shows the form: the general limit")
        }
        var codes: [Int] = []
        for _ in 0..<3 {
            var r = request("/login", from: "10.0.0.1:1", method: .post)
            codes.append(limiter.intercept(&r)?.status.code ?? 200)
        }
        XCTAssertEqual(codes, [200, 200, 429])
        var other = request("/", from: "10.0.0.1:1")
        XCTAssertNil(limiter.intercept(&other), "other pages keep the general limit")
        var below = request("/login/x", from: "10.0.0.1:1", method: .post)
        XCTAssertNil(limiter.intercept(&below), "the stricter rule names one path exactly")
        // A new manifest moves the sign-in form: the limit follows it at once.
        attemptPaths.set(["/signin"])
        var moved = request("/login", from: "10.0.0.1:1", method: .post)
        XCTAssertNil(limiter.intercept(&moved), "/login is an ordinary path now")
        codes = []
        for _ in 0..<3 {
            var r = request("/signin", from: "10.0.0.1:1", method: .post)
            codes.append(limiter.intercept(&r)?.status.code ?? 200)
        }
        XCTAssertEqual(codes, [200, 200, 429])
    }

    func testStaticAssetsAndHealthChecksAreNeverLimited() {
        let limiter = RateLimitMiddleware(general: .init(rate: 1, burst: 1))
        for path in ["/static/strata.css", "/static/modules/v1/tasks/board.css", "/healthz", "/readyz"] {
            for _ in 0..<50 {
                var r = request(path, from: "10.0.0.1:1")
                XCTAssertNil(limiter.intercept(&r), path)
            }
        }
        var page = request("/", from: "10.0.0.1:1")
        XCTAssertNil(limiter.intercept(&page))
        var again = request("/", from: "10.0.0.1:1")
        XCTAssertEqual(limiter.intercept(&again)?.status.code, 429, "the one token went to the page, not the assets")
        var lookalike = request("/healthzz", from: "10.0.0.2:1")
        XCTAssertNil(limiter.intercept(&lookalike))
        var lookalikeAgain = request("/healthzz", from: "10.0.0.2:1")
        XCTAssertEqual(limiter.intercept(&lookalikeAgain)?.status.code, 429, "exact entries are exact")
    }

    func testTheDefaultExemptionsAreAssetsAndHealthChecks() {
        XCTAssertEqual(RateLimitMiddleware.defaultExempt, ["/static/", "/healthz", "/readyz"])
    }

    func testForwardedForCountsOnlyFromTrustedProxies() {
        let limiter = RateLimitMiddleware(general: .init(rate: 1, burst: 1), attempts: nil, trustedProxies: ["10.0.0.9"])
        XCTAssertEqual(limiter.clientAddress(request("/", from: "10.0.0.9:443", forwardedFor: "203.0.113.7, 10.0.0.9")), "203.0.113.7")
        XCTAssertEqual(
            limiter.clientAddress(request("/", from: "198.51.100.1:443", forwardedFor: "203.0.113.7")), "198.51.100.1",
            "a header from an untrusted peer is ignored")
        XCTAssertEqual(limiter.clientAddress(request("/", from: "[::1]:8080")), "::1")
        // Two users behind the same proxy have separate buckets.
        var first = request("/", from: "10.0.0.9:1", forwardedFor: "203.0.113.1")
        var second = request("/", from: "10.0.0.9:2", forwardedFor: "203.0.113.2")
        XCTAssertNil(limiter.intercept(&first))
        XCTAssertNil(limiter.intercept(&second))
    }
}
