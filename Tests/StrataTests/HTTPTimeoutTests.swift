import StrataIO
import StrataTestSupport
import XCTest

@testable import StrataHTTP

/// Short configured timeouts; the assertions are about what the server does,
/// not how long it takes.
final class HTTPTimeoutTests: XCTestCase {
    private var group: EventLoopGroup!
    private var server: HTTPServer!
    private var port = 0

    override func setUp() async throws {
        group = EventLoopGroup(loopCount: 2)
        var configuration = HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0))
        configuration.headTimeout = .milliseconds(400)
        configuration.bodyTimeout = .milliseconds(400)
        configuration.idleTimeout = .milliseconds(600)
        configuration.maxConnections = 3
        server = HTTPServer(configuration: configuration, group: group) { request in
            HTTPResponse(body: Array("got \(request.body.count)".utf8))
        }
        port = try server.start().port ?? 0
    }

    override func tearDown() async throws {
        await server.shutdown(grace: .seconds(1))
        group.shutdown()
    }

    func testTricklingAHeadDoesNotExtendItsDeadline() throws {
        let slow = try TestHTTPClient(port: port)
        // One byte every 100 ms would keep a per-read timeout alive forever.
        var refused = false
        for byte in "GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8 {
            do {
                try slow.send([byte])
            } catch {
                refused = true
                break
            }
            usleep(100_000)
        }
        if !refused {
            let response = try slow.readResponse()
            XCTAssertEqual(response.status, 408)
        }
        XCTAssertTrue(slow.isClosedByPeer())
    }

    func testOtherClientsAreServedWhileASlowOneTrickles() throws {
        let slow = try TestHTTPClient(port: port)
        try slow.send("GET / HTTP/1.1\r\n")
        let normal = try TestHTTPClient(port: port)
        for _ in 0..<3 { XCTAssertEqual(try normal.request("GET", "/").status, 200) }
        XCTAssertEqual(try slow.readResponse().status, 408)
    }

    func testAStalledBodyIsCutOff() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testASilentNewConnectionAndAnIdleOneAreClosed() throws {
        let silent = try TestHTTPClient(port: port)
        XCTAssertTrue(silent.isClosedByPeer())
        let idle = try TestHTTPClient(port: port)
        XCTAssertEqual(try idle.request("GET", "/").status, 200)
        XCTAssertTrue(idle.isClosedByPeer())
    }

    func testConnectionsPastTheCapAreRefusedWith503() throws {
        let held = try (0..<3).map { _ in try TestHTTPClient(port: port) }
        for client in held { XCTAssertEqual(try client.request("GET", "/").status, 200) }
        let extra = try TestHTTPClient(port: port)
        let refusal = try extra.readResponse()
        XCTAssertEqual(refusal.status, 503)
        XCTAssertTrue(refusal.text.contains("connection limit"))
        XCTAssertTrue(extra.isClosedByPeer())
    }
}
