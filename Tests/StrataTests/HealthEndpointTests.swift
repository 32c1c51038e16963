import StrataCore
import StrataIO
import StrataTestSupport
import Synchronization
import XCTest

@testable import StrataHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// The health port every tier can open, and the probe its containers run.
final class HealthEndpointTests: XCTestCase {
    private var group: EventLoopGroup!
    /// What the fake tier says; the endpoint asks it on every /readyz.
    private final class TierState: Sendable {
        let readiness = Mutex<Readiness>(.notReady("the tier below does not answer"))
    }
    private let tier = TierState()
    private var endpoint: HealthEndpoint!
    private var address: SocketAddress!

    override func setUpWithError() throws {
        group = EventLoopGroup(loopCount: 1)
        let tier = self.tier
        endpoint = HealthEndpoint(address: .tcp(host: "127.0.0.1", port: 0), group: group) { tier.readiness.withLock { $0 } }
        address = try endpoint.start(logger: Logger(label: "test", level: .error))
    }

    override func tearDown() {
        let endpoint = self.endpoint!
        let done = expectation(description: "stopped")
        Task {
            await endpoint.stop()
            done.fulfill()
        }
        wait(for: [done], timeout: 5)
        group.shutdown()
    }

    func testReadinessFollowsTheTierAndLivenessDoesNot() {
        XCTAssertEqual(HealthProbe.check(address, path: "/readyz"), .init(status: 503, message: "not ready: the tier below does not answer"))
        XCTAssertEqual(HealthProbe.check(address, path: "/healthz"), .init(status: 200, message: "ok"))

        tier.readiness.withLock { $0 = .ready }
        XCTAssertTrue(HealthProbe.check(address, path: "/readyz").passed)

        endpoint.beginDraining()
        XCTAssertEqual(HealthProbe.check(address, path: "/readyz"), .init(status: 503, message: "not ready: draining"))
        XCTAssertTrue(HealthProbe.check(address, path: "/healthz").passed, "a draining tier still lives")
    }

    func testOtherPathsAndMethodsAreRefusedByName() throws {
        XCTAssertEqual(HealthProbe.check(address, path: "/metrics-or-anything").status, 404)
        let client = try TestHTTPClient(port: try XCTUnwrap(address.port))
        let response = try client.request("POST", "/readyz", body: "x")
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.header("Allow"), "GET, HEAD")
    }

    func testAWildcardListenAddressIsProbedOnLoopback() throws {
        tier.readiness.withLock { $0 = .ready }
        XCTAssertTrue(HealthProbe.check(.tcp(host: "0.0.0.0", port: try XCTUnwrap(address.port)), path: "/readyz").passed)
    }

    func testAProbeWithNobodyListeningOrANonHTTPPeerFailsWithTheReason() throws {
        let closed = Loopback.freePort()
        let refused = HealthProbe.check(.tcp(host: "127.0.0.1", port: closed), path: "/readyz")
        XCTAssertNil(refused.status)
        XCTAssertTrue(refused.message.contains("not answering"), refused.message)

        // A peer that accepts and never answers: the probe gives up at its deadline.
        let (listener, port) = try XCTUnwrap(Loopback.unservedListener(backlog: 4))
        defer { close(listener) }
        let silent = HealthProbe.check(.tcp(host: "127.0.0.1", port: port), path: "/readyz", timeout: .milliseconds(200))
        XCTAssertNil(silent.status)
        XCTAssertTrue(silent.message.contains("no HTTP answer"), silent.message)

        XCTAssertNil(HealthProbe.parse(Array("SSH-2.0-OpenSSH\r\n".utf8), from: address).status)
        XCTAssertEqual(HealthProbe.parse(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8), from: address), .init(status: 204, message: "HTTP 204"))
    }

    func testWithTimeoutReturnsTheValueOrGivesUpOnWorkThatNeverEnds() async throws {
        let value = try await withTimeout(.seconds(5)) { 42 }
        XCTAssertEqual(value, 42)
        do {
            // Ignores cancellation, as a call stuck on a dead peer would, and ends long after the limit.
            _ = try await withTimeout(.milliseconds(50)) { () async throws -> Int in
                try? await Task.sleep(for: .seconds(1))
                return 1
            }
            XCTFail("expected a timeout")
        } catch let error as TimeoutError {
            XCTAssertEqual(error.description, "did not finish within 0.05 seconds")
        }
    }
}
