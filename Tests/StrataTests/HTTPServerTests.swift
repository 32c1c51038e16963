import Dispatch
import StrataCore
import StrataIO
import StrataTestSupport
import Synchronization
import XCTest

@testable import StrataHTTP

final class HTTPServerTests: XCTestCase {
    private var group: EventLoopGroup!
    private var server: HTTPServer!
    private var port = 0

    override func setUp() async throws {
        group = EventLoopGroup(loopCount: 2)
        var configuration = HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0))
        configuration.limits.maxBodySize = 64
        server = HTTPServer(configuration: configuration, group: group) { request in
            if request.path == "/slow" {
                try? await Task.sleep(for: .milliseconds(200))
                return .text("slow")
            }
            if request.path == "/echo" { return HTTPResponse(body: request.body) }
            return .text("path=\(request.path)")
        }
        port = try server.start().port ?? 0
    }

    override func tearDown() async throws {
        await server.shutdown(grace: .seconds(1))
        group.shutdown()
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let client = try TestHTTPClient(port: port)
        for i in 0..<3 {
            let response = try client.request("GET", "/n\(i)")
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.text, "path=/n\(i)")
            XCTAssertEqual(response.header("Server"), "strata")
            XCTAssertNotNil(response.header("Date"))
            XCTAssertEqual(response.header("Content-Length"), String("path=/n\(i)".utf8.count))
        }
    }

    func testPipelinedAnswersKeepRequestOrderEvenWhenTheFirstIsSlow() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "slow")
        XCTAssertEqual(try client.readResponse().text, "path=/fast")
    }

    func testHeadHasLengthButNoBody() throws {
        let client = try TestHTTPClient(port: port)
        let head = try client.request("HEAD", "/x", expectBody: false)
        XCTAssertEqual(head.header("Content-Length"), "7")
        XCTAssertTrue(head.body.isEmpty)
        // The connection is still in step: the next answer is the next request's.
        XCTAssertEqual(try client.request("GET", "/y").text, "path=/y")
    }

    func testMalformedRequestGets400WithAReasonAndTheConnectionCloses() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.text.contains("Content-Length and Transfer-Encoding"))
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testBodyOverTheLimitGets413() throws {
        let client = try TestHTTPClient(port: port)
        let response = try client.request("POST", "/echo", body: String(repeating: "x", count: 65))
        XCTAssertEqual(response.status, 413)
    }

    func testExpectContinueGets100ThenTheAnswer() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        XCTAssertEqual(try client.readResponse(expectBody: false).status, 100)
        try client.send("ping")
        XCTAssertEqual(try client.readResponse().text, "ping")
    }

    func testConnectionCloseAndHTTP10() throws {
        let closing = try TestHTTPClient(port: port)
        let response = try closing.request("GET", "/c", headers: [("Connection", "close")])
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(closing.isClosedByPeer())

        let old = try TestHTTPClient(port: port)
        try old.send("GET /old HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try old.readResponse().text, "path=/old")
        XCTAssertTrue(old.isClosedByPeer())

        let oldKeepAlive = try TestHTTPClient(port: port)
        try oldKeepAlive.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try oldKeepAlive.readResponse().header("Connection"), "keep-alive")
        try oldKeepAlive.send("GET /b HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try oldKeepAlive.readResponse().text, "path=/b")
    }

    func testHalfClosedClientStillGetsItsAnswer() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        client.shutdownWrite()
        XCTAssertEqual(try client.readResponse().text, "slow")
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testAConnectionWithNoRequestYetAtShutdownGetsItsFirstAnswered() async throws {
        let client = try TestHTTPClient(port: port)
        for _ in 0..<200 where server.openConnections == 0 { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(server.openConnections, 1)
        let server = try XCTUnwrap(self.server)
        let shutdown = Task { await server.shutdown(grace: .seconds(5)) }
        try await Task.sleep(for: .milliseconds(100))
        // Its request was on the way as the restart began: answered, and the connection closes.
        let response = try client.request("GET", "/late")
        XCTAssertEqual(response.text, "path=/late")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(client.isClosedByPeer())
        await shutdown.value
    }

    func testARequestStillArrivingAtShutdownIsAnswered() async throws {
        // A keep-alive connection that has had an answer and is now sending its
        // next request, body half sent, as the restart begins.
        let client = try TestHTTPClient(port: port)
        XCTAssertEqual(try client.request("GET", "/first").text, "path=/first")
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\nhalf")
        try await Task.sleep(for: .milliseconds(50))
        let server = try XCTUnwrap(self.server)
        let shutdown = Task { await server.shutdown(grace: .seconds(5)) }
        try await Task.sleep(for: .milliseconds(100))
        try client.send("done")
        let response = try client.readResponse()
        XCTAssertEqual(response.text, "halfdone", "nothing the client sent is lost")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(client.isClosedByPeer())
        await shutdown.value
    }

    func testAConnectionStillInTheAcceptQueueAtShutdownIsAnswered() async throws {
        // Both loops held busy while a client connects: the kernel completes the
        // handshake and the connection waits, unaccepted, as shutdown begins.
        let release = DispatchSemaphore(value: 0)
        for loop in group.loops { loop.execute { release.wait() } }
        let client = try TestHTTPClient(port: port)
        let server = try XCTUnwrap(self.server)
        let shutdown = Task { await server.shutdown(grace: .seconds(5)) }
        try await Task.sleep(for: .milliseconds(100))
        for _ in group.loops { release.signal() }
        let response = try client.request("GET", "/queued")
        XCTAssertEqual(response.text, "path=/queued")
        XCTAssertEqual(response.header("Connection"), "close")
        await shutdown.value
    }

    func testShutdownLetsAnInFlightRequestFinish() async throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        try await Task.sleep(for: .milliseconds(50))
        await server.shutdown(grace: .seconds(5))
        XCTAssertEqual(try client.readResponse().text, "slow")
        XCTAssertEqual(server.openConnections, 0)
        XCTAssertThrowsError(try TestHTTPClient(port: port))
    }

    func testHandlersCanRunOnTheConnectionsEventLoop() async throws {
        var configuration = HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0))
        configuration.handlerExecutor = .loop
        let onLoop = HTTPServer(configuration: configuration, group: group) { request in
            try? await Task.sleep(for: .milliseconds(request.path == "/slow" ? 100 : 1))
            return .text("on loop \(request.path)")
        }
        let port = try onLoop.start().port ?? 0
        let client = try TestHTTPClient(port: port)
        try client.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "on loop /slow")
        XCTAssertEqual(try client.readResponse().text, "on loop /fast")
        await onLoop.shutdown(grace: .seconds(1))
    }

    func testAHandlerIsCancelledWhenItsClientGoesAway() async throws {
        let observed = CancellationProbe()
        let probing = HTTPServer(configuration: HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0)), group: group) { _ in
            do {
                try await Task.sleep(for: .seconds(10))
            } catch {
                observed.markCancelled()
            }
            return .text("too late")
        }
        let port = try probing.start().port ?? 0
        let client = try TestHTTPClient(port: port)
        try client.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
        try await Task.sleep(for: .milliseconds(100))
        // A client that vanishes resets the connection. (A half-close, FIN only,
        // still gets its answer: see testHalfClosedClientStillGetsItsAnswer.)
        client.abort()
        for _ in 0..<100 where !observed.cancelled { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertTrue(observed.cancelled)
        await probing.shutdown(grace: .seconds(1))
    }

    func testResponseHeaderValuesCannotInjectHeaders() {
        var response = HTTPResponse.text("x")
        response.headers.add("X-Name", "a\r\nSet-Cookie: evil=1")
        let bytes = ResponseWriter.serialize(
            response, keepAlive: true, minorVersion: 1, omitBody: false, serverName: "s", dateLine: DateLineCache().current())
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertFalse(text.contains("\r\nSet-Cookie"))
        XCTAssertTrue(text.contains("X-Name: a  Set-Cookie: evil=1\r\n"))
    }

    func testDateHeaderFormat() {
        XCTAssertEqual(HTTPDate.format(epochSeconds: 784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}

final class CancellationProbe: Sendable {
    private let flag = Mutex(false)
    func markCancelled() { flag.withLock { $0 = true } }
    var cancelled: Bool { flag.withLock { $0 } }
}
