import StrataCore
import StrataIO
import XCTest

@testable import StrataHTTP

final class MiddlewareTests: XCTestCase {
    private struct Recorder: HTTPMiddleware {
        let name: String
        let answerEarly: Bool
        func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
            request.headers.add("X-Seen", name)
            return answerEarly ? .text("early from \(name)") : nil
        }
        func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
            response.headers.add("X-Finished", name)
        }
    }

    private struct Echo: HTTPHandler {
        let immediate: Bool
        func handle(_ request: HTTPRequest) -> HTTPOutcome {
            let seen = request.headers.values("X-Seen").joined(separator: ",")
            return immediate ? .response(.text("now " + seen)) : .later { .text("later " + seen) }
        }
    }

    private func run(_ handler: any HTTPHandler, _ request: HTTPRequest) async -> (HTTPResponse, immediate: Bool) {
        switch handler.handle(request) {
        case .response(let response): return (response, true)
        case .later(let work): return (await work(), false)
        case .onLoop(let start): return (await HTTPResponder.await(on: Self.loop, start), false)
        }
    }

    private static let loop = EventLoop.start(name: "middleware-test", busyPoll: .zero)

    func testLayersSeeTheRequestInOrderAndTheResponseInReverse() async {
        for immediate in [true, false] {
            let chain = MiddlewareChain(
                [Recorder(name: "a", answerEarly: false), Recorder(name: "b", answerEarly: false)], handler: Echo(immediate: immediate))
            let (response, wasImmediate) = await run(chain, HTTPRequest(method: .get, target: "/"))
            XCTAssertEqual(wasImmediate, immediate)
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self), (immediate ? "now " : "later ") + "a,b")
            XCTAssertEqual(response.headers.values("X-Finished"), ["b", "a"])
        }
    }

    func testAnEarlyAnswerSkipsLaterLayersAndTheHandler() async {
        let chain = MiddlewareChain(
            [Recorder(name: "a", answerEarly: false), Recorder(name: "b", answerEarly: true), Recorder(name: "c", answerEarly: false)],
            handler: Echo(immediate: false))
        let (response, immediate) = await run(chain, HTTPRequest(method: .get, target: "/"))
        XCTAssertTrue(immediate)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "early from b")
        XCTAssertEqual(response.headers.values("X-Finished"), ["b", "a"])
    }

    func testStandardMiddleware() async {
        let chain = MiddlewareChain([RequestIDMiddleware(), SecurityHeadersMiddleware(), HealthMiddleware()], handler: Echo(immediate: true))
        let (health, _) = await run(chain, HTTPRequest(method: .get, target: "/healthz"))
        XCTAssertEqual(String(decoding: health.body, as: UTF8.self), "ok\n")
        XCTAssertEqual(health.headers["X-Request-ID"]?.count, 16)
        XCTAssertEqual(health.headers["X-Content-Type-Options"], "nosniff")
        XCTAssertTrue(health.headers["Content-Security-Policy"]?.contains("frame-ancestors 'none'") ?? false)

        let given = HTTPRequest(method: .get, target: "/", headers: HTTPHeaders([("X-Request-ID", "proxy-42")]))
        let echoed = await run(chain, given).0
        XCTAssertEqual(echoed.headers["X-Request-ID"], "proxy-42")
        let forged = HTTPRequest(method: .get, target: "/", headers: HTTPHeaders([("X-Request-ID", "a b\" level=error")]))
        let replaced = await run(chain, forged).0
        XCTAssertNotEqual(replaced.headers["X-Request-ID"], "a b\" level=error")

        var custom = HTTPResponse.text("x")
        custom.headers.add("Content-Security-Policy", "default-src 'none'")
        SecurityHeadersMiddleware().finish(given, &custom)
        XCTAssertEqual(custom.headers.values("Content-Security-Policy"), ["default-src 'none'"], "a handler's own policy wins")
    }

    func testAccessLogLinesReadLikeLoggerLinesAndQuoteWhatNeedsIt() throws {
        var request = HTTPRequest(method: .get, target: "/a%20b/\"x\"=1", remoteAddress: "10.0.0.1:5000")
        request.requestID = "abc123"
        request.trace = try XCTUnwrap(TraceContext(header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        var line: [UInt8] = []
        var clock = LogClock()
        AccessLogMiddleware(logger: Logger(label: "web")).append(request, 404, 12, 7, to: &line, clock: &clock)
        let text = String(decoding: line, as: UTF8.self)
        let match = try XCTUnwrap(text.wholeMatch(of: /ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)\n/), text)
        XCTAssertEqual(
            String(match.1),
            #"level=info tier=web msg=request method=GET path="/a%20b/\"x\"=1" status=404 bytes=12 us=7 client=10.0.0.1:5000 request_id=abc123 trace_id=4bf92f3577b34da6a3ce929d0e0e4736"#
        )
    }

    func testRequestIDsFromOneLoopNeverRepeat() {
        let generator = RequestIDGenerator()
        var seen = Set<String>()
        for _ in 0..<10_000 { seen.insert(generator.next()) }
        XCTAssertEqual(seen.count, 10_000)
        XCTAssertTrue(seen.allSatisfy { $0.utf8.count == 16 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } })
    }

    func testRequestIDAcceptance() {
        XCTAssertEqual(RequestIDMiddleware.acceptable("abc-123_X"), "abc-123_X")
        XCTAssertNil(RequestIDMiddleware.acceptable("a b"))
        XCTAssertNil(RequestIDMiddleware.acceptable("x\ny"))
        XCTAssertNil(RequestIDMiddleware.acceptable(String(repeating: "a", count: 65)))
    }
}
