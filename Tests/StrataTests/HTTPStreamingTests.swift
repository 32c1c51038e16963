import StrataIO
import StrataTestSupport
import Synchronization
import XCTest

@testable import StrataHTTP

final class HTTPStreamingTests: XCTestCase {
    private var group: EventLoopGroup!
    private var server: HTTPServer!
    private var port = 0
    private let produced = Counter()

    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func add() { value.wrappingAdd(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    override func setUp() async throws {
        group = EventLoopGroup(loopCount: 1)
        let produced = self.produced
        server = HTTPServer(configuration: HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0)), group: group) { request in
            var response = HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/plain")]))
            switch request.path {
            case "/words":
                response.stream = HTTPBodyStream { body in
                    for word in ["alpha ", "beta ", "gamma"] { try await body.write(Array(word.utf8)) }
                }
            case "/flood":
                response.stream = HTTPBodyStream { body in
                    let piece = [UInt8](repeating: 120, count: 65_536)
                    for _ in 0..<800 {  // 50 MiB if nothing held the producer back
                        try await body.write(piece)
                        produced.add()
                    }
                }
            case "/broken":
                response.stream = HTTPBodyStream { body in
                    try await body.write(Array("partial".utf8))
                    throw CancellationError()
                }
            default:
                response.body = Array("plain".utf8)
            }
            return response
        }
        port = try server.start().port ?? 0
    }

    override func tearDown() async throws {
        await server.shutdown(grace: .seconds(1))
        group.shutdown()
    }

    func testStreamedBodyIsChunkedAndLaterPipelinedAnswersWait() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /words HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        let raw = String(decoding: try client.readRaw(through: "0\r\n\r\n"), as: UTF8.self)
        XCTAssertTrue(raw.contains("Transfer-Encoding: chunked\r\n"))
        XCTAssertFalse(raw.contains("Content-Length"))
        XCTAssertTrue(raw.hasSuffix("\r\n\r\n6\r\nalpha \r\n5\r\nbeta \r\n5\r\ngamma\r\n0\r\n\r\n"), raw)
        XCTAssertEqual(try client.readResponse().text, "plain")
    }

    func testHTTP10GetsACloseDelimitedBody() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /words HTTP/1.0\r\n\r\n")
        let raw = String(decoding: try client.readToEnd(), as: UTF8.self)
        XCTAssertTrue(raw.contains("Connection: close\r\n"))
        XCTAssertFalse(raw.contains("chunked"))
        XCTAssertTrue(raw.hasSuffix("\r\n\r\nalpha beta gamma"), raw)
    }

    func testAProducerWaitsForASlowReader() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /flood HTTP/1.1\r\nHost: h\r\n\r\n")
        usleep(500_000)
        // Without backpressure all 800 pieces would be queued by now.
        XCTAssertLessThan(produced.count, 200)
        let raw = try client.readRaw(through: "\r\n0\r\n\r\n")
        XCTAssertGreaterThan(raw.count, 800 * 65_536)
        XCTAssertEqual(produced.count, 800)
    }

    func testAFailingProducerCutsTheConnection() throws {
        let client = try TestHTTPClient(port: port)
        try client.send("GET /broken HTTP/1.1\r\nHost: h\r\n\r\n")
        let raw = String(decoding: try client.readToEnd(), as: UTF8.self)
        XCTAssertTrue(raw.contains("7\r\npartial\r\n"))
        XCTAssertFalse(raw.contains("0\r\n\r\n"), "no terminating chunk: the client can tell the body is incomplete")
    }

    func testHeadOfAStreamedResponseRunsNoProducer() throws {
        let client = try TestHTTPClient(port: port)
        let head = try client.request("HEAD", "/flood", expectBody: false)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(try client.request("GET", "/x").text, "plain")
        XCTAssertEqual(produced.count, 0)
    }
}
