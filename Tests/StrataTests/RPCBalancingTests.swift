import StrataCore
import StrataIO
import Synchronization
import XCTest

@testable import StrataRPC

final class RPCBalancingTests: XCTestCase {
    private let secret = Array("balancing test secret 0123".utf8)
    private var group: EventLoopGroup!

    override func setUp() { group = EventLoopGroup(loopCount: 2) }
    override func tearDown() { group.shutdown() }

    struct Reply: Codable, Sendable { let server: String }
    struct Ask: Codable, Sendable { let delayMilliseconds: Int }

    private func server(named name: String, on group: EventLoopGroup? = nil) throws -> (RPCServer, SocketAddress) {
        var service = RPCService()
        service.register("who") { (ask: Ask, _) -> Reply in
            try await Task.sleep(for: .milliseconds(ask.delayMilliseconds))
            return Reply(server: name)
        }
        let server = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret),
            service: service, group: group ?? self.group, logger: Logger(label: "test", level: .error))
        return (server, try server.start())
    }

    func testConcurrentCallsSpreadOverTheEndpointsWithFewestOutstanding() async throws {
        let (a, addressA) = try server(named: "a")
        let (b, addressB) = try server(named: "b")
        defer { a.stop(); b.stop() }
        let client = RPCClient(addresses: [addressA, addressB], group: group, callerName: "web", secret: secret)
        let answers = await callConcurrently(client, count: 20, delay: 100)
        XCTAssertEqual(answers.filter { $0 != "a" && $0 != "b" }, [])
        XCTAssertGreaterThanOrEqual(answers.filter { $0 == "a" }.count, 5, "\(answers)")
        XCTAssertGreaterThanOrEqual(answers.filter { $0 == "b" }.count, 5, "\(answers)")
    }

    func testCallsMoveToTheRemainingEndpointWhenOneGoesAway() async throws {
        let (a, addressA) = try server(named: "a")
        let (b, addressB) = try server(named: "b")
        defer { b.stop() }
        let client = RPCClient(addresses: [addressA, addressB], group: group, callerName: "web", secret: secret)
        _ = await callConcurrently(client, count: 4, delay: 1)
        await a.shutdown(grace: .seconds(1))
        // The drained endpoint's connection closes and it refuses new ones:
        // every call still gets an answer, from b.
        try await Task.sleep(for: .milliseconds(100))
        let answers = await callConcurrently(client, count: 10, delay: 1)
        XCTAssertEqual(answers, Array(repeating: "b", count: 10), "\(answers)")
    }

    func testAReplicaDyingMidCallLosesNoIdempotentCall() async throws {
        // Replica a runs on loops of its own, so stopping them drops its
        // connections without a GOAWAY, as a crash would.
        let doomedLoops = EventLoopGroup(loopCount: 1)
        let (_, addressA) = try server(named: "a", on: doomedLoops)
        let (b, addressB) = try server(named: "b")
        defer { b.stop() }
        let client = RPCClient(addresses: [addressA, addressB], group: group, callerName: "web", secret: secret)
        async let idempotent = callConcurrently(client, count: 10, delay: 300, idempotent: true)
        async let plain = callConcurrently(client, count: 10, delay: 300, idempotent: false)
        try await Task.sleep(for: .milliseconds(100))
        doomedLoops.shutdown()
        let (safe, unsafe) = await (idempotent, plain)
        // Idempotent calls that were running on a are repeated on b.
        XCTAssertEqual(safe.filter { $0 != "b" && $0 != "a" }, [], "\(safe)")
        XCTAssertGreaterThan(safe.filter { $0 == "b" }.count, 0)
        // Other calls on a may have run there: they fail rather than run twice.
        XCTAssertEqual(unsafe.filter { $0 != "b" && $0 != "unavailable" }, [], "\(unsafe)")
        XCTAssertGreaterThan(unsafe.filter { $0 == "unavailable" }.count, 0, "\(unsafe)")
        // And the client goes on working with the survivor.
        let after = await callConcurrently(client, count: 4, delay: 1)
        XCTAssertEqual(after, Array(repeating: "b", count: 4))
    }

    func testSeveralConnectionsPerEndpointShareTheCalls() async throws {
        let (a, addressA) = try server(named: "a")
        defer { a.stop() }
        let client = RPCClient(addresses: [addressA], group: group, callerName: "web", secret: secret, connectionsPerEndpoint: 3)
        let answers = await callConcurrently(client, count: 30, delay: 50)
        XCTAssertEqual(answers, Array(repeating: "a", count: 30))
        XCTAssertEqual(a.connectionCount, 3)
    }

    func testACallerOnALoopUsesTheConnectionOnThatLoop() async throws {
        var service = RPCService()
        service.register("connection") { (_: Ask, context) -> UInt64 in context.connectionID }
        let server = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret),
            service: service, group: group, logger: Logger(label: "test", level: .error))
        let address = try server.start()
        defer { server.stop() }
        let client = RPCClient(addresses: [address], group: group, callerName: "web", secret: secret, connectionsPerEndpoint: 2)
        // Sequential calls from each loop: no load to balance, so each loop keeps to its own connection.
        var seen: [[UInt64]] = []
        for loop in group.loops {
            let ids = await Task(executorPreference: loop) {
                var ids: [UInt64] = []
                for _ in 0..<10 { ids.append((try? await client.call("connection", Ask(delayMilliseconds: 0), as: UInt64.self)) ?? 0) }
                return ids
            }.value
            seen.append(ids)
        }
        XCTAssertEqual(Set(seen[0]).count, 1, "\(seen)")
        XCTAssertEqual(Set(seen[1]).count, 1, "\(seen)")
        XCTAssertNotEqual(seen[0][0], seen[1][0], "the two loops shared one connection: \(seen)")
        XCTAssertFalse(seen.joined().contains(0))
    }

    func testRetryBudgetAllowsABurstButNotARetryStorm() {
        let budget = RetryBudget(burst: 10, ratio: 0.2)
        // A burst of retries up to the balance is allowed at once...
        XCTAssertEqual((0..<11).map { _ in budget.withdrawForRetry() }, Array(repeating: true, count: 10) + [false])
        // ...after which each retry must be paid for by five calls.
        for _ in 0..<4 { budget.recordCall() }
        XCTAssertFalse(budget.withdrawForRetry())
        budget.recordCall()
        XCTAssertTrue(budget.withdrawForRetry())
        XCTAssertFalse(budget.withdrawForRetry())
    }

    func testAllEndpointsDownIsUnavailableAndBackOffIsJittered() async throws {
        let client = RPCClient(
            addresses: [.tcp(host: "127.0.0.1", port: 1), .tcp(host: "127.0.0.1", port: 2)], group: group, callerName: "web", secret: secret)
        do {
            let _: Reply = try await client.call("who", Ask(delayMilliseconds: 0))
            XCTFail("no endpoint exists")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
        }
        let delays = (0..<50).map { _ in RPCEndpoint.backoff(afterFailures: 3) }
        XCTAssertTrue(delays.allSatisfy { $0 >= .milliseconds(100) && $0 <= .milliseconds(200) })
        XCTAssertGreaterThan(Set(delays).count, 1, "back-off must be jittered")
        XCTAssertLessThanOrEqual(RPCEndpoint.backoff(afterFailures: 40), .seconds(5))
    }

    func testASlowHandlerIsNotMistakenForADeadPeerButASilentPeerIs() async throws {
        let serverGroup = EventLoopGroup(loopCount: 1)
        defer { serverGroup.shutdown() }
        var service = RPCService()
        service.register("who") { (ask: Ask, _) -> Reply in
            try await Task.sleep(for: .milliseconds(ask.delayMilliseconds))
            return Reply(server: "s")
        }
        let server = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret),
            service: service, group: serverGroup, logger: Logger(label: "test", level: .error))
        let address = try server.start()
        defer { server.stop() }
        let client = RPCClient(address: address, group: group, callerName: "web", secret: secret, pingInterval: .milliseconds(100))

        // The handler takes longer than three ping intervals, but the peer answers PINGs meanwhile.
        let slow: Reply = try await client.call("who", Ask(delayMilliseconds: 700))
        XCTAssertEqual(slow.server, "s")

        // Now the server's only event loop stalls: no PONG, so the call in flight fails.
        let pending = Task { () -> RPCErrorCode? in
            do {
                let _: Reply = try await client.call("who", Ask(delayMilliseconds: 50))
                return nil
            } catch {
                return (error as? RPCError)?.code ?? .unknown
            }
        }
        try await Task.sleep(for: .milliseconds(20))
        serverGroup.loops[0].execute { usleep(1_500_000) }
        let outcome = await pending.value
        XCTAssertEqual(outcome, RPCErrorCode.unavailable)
    }

    func testHostNamesResolveToEveryAddress() async throws {
        let (a, addressA) = try server(named: "a")
        defer { a.stop() }
        let named = SocketAddress.tcp(host: "localhost", port: addressA.port ?? 0)
        XCTAssertTrue(named.isHostName)
        XCTAssertFalse(addressA.isHostName)
        XCTAssertTrue(named.resolveAll().contains(.tcp(host: "127.0.0.1", port: addressA.port ?? 0)))
        XCTAssertEqual(SocketAddress.tcp(host: "no-such-host.invalid", port: 1).resolveAll(), [])
        let client = RPCClient(address: named, group: group, callerName: "web", secret: secret)
        let reply: Reply = try await client.call("who", Ask(delayMilliseconds: 0))
        XCTAssertEqual(reply.server, "a")
        XCTAssertEqual(
            try SocketAddress.list(parsing: "a:1, b:2,unix:/tmp/s"), [.tcp(host: "a", port: 1), .tcp(host: "b", port: 2), .unix(path: "/tmp/s")])
        XCTAssertThrowsError(try SocketAddress.list(parsing: " , "))
    }
}

/// Makes `count` calls at once; each result is the answering server's name or the error code.
private func callConcurrently(_ client: RPCClient, count: Int, delay: Int, idempotent: Bool = false) async -> [String] {
    await withTaskGroup(of: String.self) { tasks in
        for _ in 0..<count {
            tasks.addTask {
                do {
                    let reply: RPCBalancingTests.Reply = try await client.call(
                        "who", RPCBalancingTests.Ask(delayMilliseconds: delay), idempotent: idempotent)
                    return reply.server
                } catch {
                    return (error as? RPCError)?.code.description ?? "\(error)"
                }
            }
        }
        return await tasks.reduce(into: []) { $0.append($1) }
    }
}
