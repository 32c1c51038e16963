import StrataTestSupport
import XCTest

@testable import StrataIO

#if canImport(Glibc)
    import Glibc
#endif

/// `Connection.connect` gives up at its deadline instead of waiting out the
/// kernel's SYN retries (about two minutes) for a peer that never answers.
final class ConnectDeadlineTests: XCTestCase {
    func testAConnectNobodyAnswersFailsAtItsDeadlineAndTheLoopServesOn() async throws {
        // A listener whose accept queue (backlog 0) one connection fills:
        // the kernel drops every SYN after it, as a host that is down would.
        let (listener, port) = try XCTUnwrap(Loopback.unservedListener(backlog: 0))
        defer { close(listener) }
        let loop = EventLoop.start()
        defer { loop.shutdown() }

        let first = try await Connection.connect(to: .tcp(host: "127.0.0.1", port: port), on: loop)
        defer { loop.execute { first.close() } }
        do {
            let second = try await Connection.connect(to: .tcp(host: "127.0.0.1", port: port), on: loop, timeout: .milliseconds(300))
            loop.execute { second.close() }
            XCTFail("the accept queue is full: the connect must not succeed")
        } catch let error as SocketError {
            XCTAssertEqual(error.description, "connect 127.0.0.1:\(port): no answer within 0.3 seconds")
        }

        // Taking the first connection off the queue lets the next one in, on the same loop.
        let accepted = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(accepted, 0)
        defer { close(accepted) }
        let third = try await Connection.connect(to: .tcp(host: "127.0.0.1", port: port), on: loop, timeout: .seconds(5))
        loop.execute { third.close() }
    }
}
