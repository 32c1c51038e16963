import XCTest

@testable import StrataHTTP

/// Lookups skip the name comparisons when a name's bit is not set: they must
/// still find every field that is there, in any case, and only those.
final class HTTPHeadersTests: XCTestCase {
    func testLookupsFindFieldsInAnyCaseAndNothingElse() {
        let headers = HTTPHeaders([("Content-Type", "text/plain"), ("X-Request-ID", "abc"), ("x-frame-options", "DENY")])
        XCTAssertEqual(headers["content-type"], "text/plain")
        XCTAssertEqual(headers["X-REQUEST-ID"], "abc")
        XCTAssertEqual(headers["X-Frame-Options"], "DENY")
        // Same length as a present name, other letters.
        XCTAssertNil(headers["Content-Tipe"])
        XCTAssertNil(headers["X-Request-IE"])
        // Same length and last letter as a present name (the bits cannot tell them apart; the comparison does).
        XCTAssertNil(headers["Cantent-Type"])
        XCTAssertNil(headers["traceparent"])
        XCTAssertFalse(headers.contains("Referrer-Policy"))
        XCTAssertTrue(headers.contains("CONTENT-TYPE"))
        XCTAssertTrue(["Referrer-Policy", "x-frame-OPTIONS"].contains { headers.contains($0) })
        XCTAssertFalse(["Referrer-Policy", "X-Content-Type-Options"].contains { headers.contains($0) })
    }

    func testNamesEndingInDigitsOrSymbolsAreFound() {
        var headers = HTTPHeaders()
        headers.add("X-Custom-1", "one")
        headers.add("X-Weird_", "two")
        headers.add("A", "three")
        XCTAssertEqual(headers["x-custom-1"], "one")
        XCTAssertNil(headers["x-custom-2"])
        XCTAssertEqual(headers["x-weird_"], "two")
        XCTAssertEqual(headers["a"], "three")
        XCTAssertNil(headers[""])
    }

    func testSetReplacesEveryFieldOfTheNameAndAddsOtherwise() {
        var headers = HTTPHeaders([("Vary", "Cookie"), ("Cache-Control", "no-store"), ("vary", "Origin")])
        headers.set("VARY", "Accept-Encoding")
        XCTAssertEqual(headers.values("vary"), ["Accept-Encoding"])
        XCTAssertEqual(headers.count, 2)
        headers.set("X-Request-ID", "r1")
        XCTAssertEqual(headers["x-request-id"], "r1")
        XCTAssertEqual(headers.count, 3)
        XCTAssertEqual(headers.values("Cache-Control"), ["no-store"])
        XCTAssertEqual(headers.values("Pragma"), [])
    }

    func testTokensAreFoundOnlyInTheNamedField() {
        let headers = HTTPHeaders([("Connection", "keep-alive, Upgrade"), ("Upgrade", "close")])
        XCTAssertTrue(headers.containsToken("upgrade", in: "connection"))
        XCTAssertFalse(headers.containsToken("close", in: "Connection"))
        XCTAssertFalse(headers.containsToken("close", in: "Proxy-Connection"))
    }
}
