@testable import StrataHTTP
import XCTest

final class RateLimitTests: XCTestCase {
    private func request(_ path: String, from address: String, forwardedFor: String? = nil) -> HTTPRequest {
        var headers = HTTPHeaders([("Host", "x")])
        if let forwardedFor { headers.add("X-Forwarded-For", forwardedFor) }
        return HTTPRequest(method: .get, target: path, headers: headers, remoteAddress: address)
    }

    func testABurstIsAllowedThenTheClientGets429WithRetryAfter() {
        let limiter = RateLimitMiddleware(general: .init(rate: 1, burst: 3), stricter: [], trustedProxies: [])
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

    func testStricterLimitsOnSignInPaths() {
        let limiter = RateLimitMiddleware(general: .init(rate: 100, burst: 100), stricter: [("/login", .init(rate: 1, burst: 2))], trustedProxies: [])
        var codes: [Int] = []
        for _ in 0..<3 {
            var r = request("/login", from: "10.0.0.1:1")
            codes.append(limiter.intercept(&r)?.status.code ?? 200)
        }
        XCTAssertEqual(codes, [200, 200, 429])
        var page = request("/", from: "10.0.0.1:1")
        XCTAssertNil(limiter.intercept(&page), "other pages keep the general limit")
    }

    func testForwardedForCountsOnlyFromTrustedProxies() {
        let limiter = RateLimitMiddleware(general: .init(rate: 1, burst: 1), stricter: [], trustedProxies: ["10.0.0.9"])
        XCTAssertEqual(limiter.clientAddress(request("/", from: "10.0.0.9:443", forwardedFor: "203.0.113.7, 10.0.0.9")), "203.0.113.7")
        XCTAssertEqual(limiter.clientAddress(request("/", from: "198.51.100.1:443", forwardedFor: "203.0.113.7")), "198.51.100.1",
                       "a header from an untrusted peer is ignored")
        XCTAssertEqual(limiter.clientAddress(request("/", from: "[::1]:8080")), "::1")
        // Two users behind the same proxy have separate buckets.
        var first = request("/", from: "10.0.0.9:1", forwardedFor: "203.0.113.1")
        var second = request("/", from: "10.0.0.9:2", forwardedFor: "203.0.113.2")
        XCTAssertNil(limiter.intercept(&first))
        XCTAssertNil(limiter.intercept(&second))
    }
}
