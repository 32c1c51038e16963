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
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 0) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        XCTAssertTrue(listening)
        let port = Int(UInt16(bigEndian: address.sin_port))
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
