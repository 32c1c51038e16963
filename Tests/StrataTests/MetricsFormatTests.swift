import StrataCore
import XCTest

@testable import StrataHTTP

/// The exposition format, the address ranges `/metrics` is answered to, and the request counters.
final class MetricsFormatTests: XCTestCase {
    func testFamiliesComeOutTogetherWithEscapedLabelsAndCumulativeBuckets() {
        var writer = MetricsWriter()
        writer.add("b_total", .counter, help: "B things.", labels: [("path", "a\"b\\c\nd")], value: 2)
        writer.add("a", .gauge, help: "A \\ level.", value: 0.5)
        writer.add("b_total", .counter, help: "B things.", labels: [("path", "x")], value: 3)
        writer.histogram("h_seconds", help: "H.", labels: [("k", "v")], buckets: [(0.1, 2), (1, 3)], overflow: 1, sum: 4.25)
        XCTAssertEqual(
            writer.text,
            """
            # HELP b_total B things.
            # TYPE b_total counter
            b_total{path="a\\"b\\\\c\\nd"} 2
            b_total{path="x"} 3
            # HELP a A \\\\ level.
            # TYPE a gauge
            a 0.5
            # HELP h_seconds H.
            # TYPE h_seconds histogram
            h_seconds_bucket{k="v",le="0.1"} 2
            h_seconds_bucket{k="v",le="1"} 5
            h_seconds_bucket{k="v",le="+Inf"} 6
            h_seconds_sum{k="v"} 4.25
            h_seconds_count{k="v"} 6

            """)
    }

    func testLatencyHistogramBucketsBySecondsBound() {
        let histogram = LatencyHistogram()
        histogram.record(.microseconds(100))  // on the first bound: counted in it
        histogram.record(.microseconds(101))
        histogram.record(.seconds(60))
        var writer = MetricsWriter()
        histogram.write("t_seconds", help: "T.", into: &writer)
        XCTAssertTrue(writer.text.contains(#"t_seconds_bucket{le="0.0001"} 1"#), writer.text)
        XCTAssertTrue(writer.text.contains(#"t_seconds_bucket{le="0.00025"} 2"#), writer.text)
        XCTAssertTrue(writer.text.contains(#"t_seconds_bucket{le="10"} 2"#), writer.text)
        XCTAssertTrue(writer.text.contains(#"t_seconds_bucket{le="+Inf"} 3"#), writer.text)
        XCTAssertTrue(writer.text.contains("t_seconds_sum 60.000201"), writer.text)
        XCTAssertEqual(histogram.count, 3)
    }

    func testAddressRangesMatchByPrefixAcrossFamilies() throws {
        let private10 = try AddressRange(parsing: "10.0.0.0/8")
        XCTAssertTrue(private10.contains("10.89.0.7"))
        XCTAssertTrue(private10.contains("::ffff:10.1.2.3"), "an IPv4 peer on a dual-stack socket")
        XCTAssertFalse(private10.contains("11.0.0.1"))
        XCTAssertFalse(private10.contains("not an address"))
        let odd = try AddressRange(parsing: "192.168.1.128/25")
        XCTAssertTrue(odd.contains("192.168.1.200"))
        XCTAssertFalse(odd.contains("192.168.1.127"))
        XCTAssertTrue(try AddressRange(parsing: "fd00::/8").contains("fd12::1"))
        XCTAssertTrue(try AddressRange(parsing: "203.0.113.5").contains("203.0.113.5"))
        XCTAssertFalse(try AddressRange(parsing: "203.0.113.5").contains("203.0.113.6"))
        for bad in ["10.0.0.0/33", "10.0.0.0/x", "example.com", "1.2.3.4/8/8", ""] {
            XCTAssertThrowsError(try AddressRange(parsing: bad), bad)
        }
    }

    func testTheEndpointAnswersLoopbackAndTheAllowListOnly() throws {
        let registry = MetricsRegistry()
        let requests = HTTPMetrics()
        registry.add(requests)
        let endpoint = MetricsEndpoint(registry: registry, allowed: [try AddressRange(parsing: "10.0.0.0/8")])
        func ask(from peer: String, forwardedFor: String? = nil, method: HTTPMethod = .get) -> HTTPResponse? {
            var request = HTTPRequest(method: method, target: "/metrics", remoteAddress: peer)
            if let forwardedFor { request.headers.add("X-Forwarded-For", forwardedFor) }
            var counted = HTTPResponse(status: .ok)
            requests.finish(request, &counted)
            return endpoint.intercept(&request)
        }
        XCTAssertEqual(ask(from: "127.0.0.1:5000")?.status, .ok)
        XCTAssertEqual(ask(from: "[::1]:5000")?.status, .ok)
        XCTAssertEqual(ask(from: "10.1.2.3:5000")?.status, .ok)
        XCTAssertEqual(ask(from: "192.0.2.1:5000")?.status, .notFound)
        XCTAssertEqual(ask(from: "127.0.0.1:5000", forwardedFor: "10.0.0.9")?.status, .ok)
        XCTAssertEqual(ask(from: "127.0.0.1:5000", forwardedFor: "10.0.0.9, 198.51.100.1")?.status, .notFound)
        XCTAssertEqual(ask(from: "127.0.0.1:5000", method: .post)?.status, .methodNotAllowed)
        let body = String(decoding: ask(from: "127.0.0.1:5000")?.body ?? [], as: UTF8.self)
        XCTAssertTrue(body.contains(#"strata_http_requests_total{route="none",method="GET",status="200"}"#), body)
        var other = HTTPRequest(method: .get, target: "/metricsx", remoteAddress: "192.0.2.1:1")
        XCTAssertNil(endpoint.intercept(&other), "only /metrics itself")
    }
}
