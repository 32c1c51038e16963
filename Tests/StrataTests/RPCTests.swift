import StrataCore
import StrataIO
import StrataTestSupport
import XCTest

@testable import StrataRPC

final class RPCFrameTests: XCTestCase {
    func testFramesRoundTripAndSplitAcrossReads() throws {
        let request = RPCRequest(
            method: "notes.list", timeoutMilliseconds: 1500, metadata: ["request-id": "abc", "caller": "web"], body: Array("{}".utf8))
        let frames = [
            Frame(type: .hello, streamID: 0, payload: Hello(version: 1, peer: "web", nonce: [1, 2, 3], proof: [9]).payload()),
            Frame(type: .request, flags: Frame.jsonBody, streamID: 7, payload: request.payload()),
        ]
        let bytes = frames.flatMap { $0.encoded() }
        let decoder = FrameDecoder(maxFrameSize: 1024)
        var buffer = ByteBuffer()
        var decoded: [Frame] = []
        for byte in bytes {
            buffer.write(byte: byte)
            while let frame = try decoder.next(&buffer) { decoded.append(frame) }
        }
        XCTAssertEqual(decoded, frames)
        let back = try RPCRequest(payload: decoded[1].payload, flags: decoded[1].flags)
        XCTAssertEqual(back.method, "notes.list")
        XCTAssertEqual(back.timeoutMilliseconds, 1500)
        XCTAssertEqual(back.metadata, ["request-id": "abc", "caller": "web"])
        XCTAssertEqual(back.body, Array("{}".utf8))
    }

    func testMalformedFramesAreRefused() {
        let decoder = FrameDecoder(maxFrameSize: 16)
        var oversized = ByteBuffer(bytes: Frame(type: .request, streamID: 1, payload: Array(repeating: 0, count: 17)).encoded())
        XCTAssertThrowsError(try decoder.next(&oversized)) { XCTAssertTrue("\($0)".contains("exceeds")) }
        // The size is checked from the header alone, before the payload arrives.
        var headerOnly = ByteBuffer(bytes: [0, 0, 1, 0])
        XCTAssertThrowsError(try decoder.next(&headerOnly))
        var short = ByteBuffer(bytes: [0, 0, 0, 2, 1, 0])
        XCTAssertThrowsError(try decoder.next(&short)) { XCTAssertTrue("\($0)".contains("shorter")) }
        var unknown = ByteBuffer(bytes: [0, 0, 0, 6, 99, 0, 0, 0, 0, 1])
        XCTAssertThrowsError(try decoder.next(&unknown)) { XCTAssertTrue("\($0)".contains("unknown frame type 99")) }
        XCTAssertThrowsError(try RPCRequest(payload: [0, 10, 65], flags: 0))
        XCTAssertThrowsError(try RPCRequest(payload: [0, 2, 0xC3, 0x28, 0, 0, 0, 0, 0, 0], flags: 0))
    }

    func testRandomBytesNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 7)
        let decoder = FrameDecoder(maxFrameSize: 256)
        for _ in 0..<20_000 {
            let bytes = (0..<(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var buffer = ByteBuffer(bytes: bytes)
            while let frame = try? decoder.next(&buffer) {
                _ = try? RPCRequest(payload: frame.payload, flags: frame.flags)
                _ = RPCError(payload: frame.payload)
            }
        }
    }
}

final class RPCClientServerTests: XCTestCase {
    struct Echo: Codable, Sendable, Equatable {
        var text: String
        var delayMilliseconds: Int = 0
    }

    private var group: EventLoopGroup!
    private var server: RPCServer!
    private var address: SocketAddress!
    private let secret = Array("correct horse battery staple".utf8)

    private func client(secret: [UInt8]? = nil, to address: SocketAddress? = nil, as name: String = "web") -> RPCClient {
        RPCClient(address: address ?? self.address, group: group, callerName: name, secret: secret ?? self.secret)
    }

    override func setUp() async throws {
        group = EventLoopGroup(loopCount: 2)
        var service = RPCService()
        service.register("echo") { (input: Echo, context) -> Echo in
            if input.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(input.delayMilliseconds)) }
            return Echo(text: input.text + "|" + (context.metadata["caller"] ?? "?"))
        }
        service.register("fail") { (_: Empty, _) -> Empty in throw RPCError(.notFound, "no such note") }
        service.register("crash") { (_: Empty, _) -> Empty in throw CocoaError(.fileNoSuchFile) }
        server = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret), service: service, group: group,
            logger: Logger(label: "test", level: .error))
        address = try server.start()
    }

    override func tearDown() async throws {
        server.stop()
        group.shutdown()
    }

    func testTypedCallCarriesCallerMetadata() async throws {
        let client = client()
        let reply: Echo = try await client.call("echo", Echo(text: "hi"))
        XCTAssertEqual(reply.text, "hi|web")
        client.close()
    }

    func testManyCallsInFlightOnOneConnectionAnswerOutOfOrder() async throws {
        let client = client()
        let order = OrderRecorder()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                let reply: Echo = try await client.call("echo", Echo(text: "slow", delayMilliseconds: 300))
                await order.record(reply.text)
            }
            tasks.addTask {
                try await Task.sleep(for: .milliseconds(50))
                let reply: Echo = try await client.call("echo", Echo(text: "fast"))
                await order.record(reply.text)
            }
            try await tasks.waitForAll()
        }
        let seen = await order.items
        XCTAssertEqual(seen, ["fast|web", "slow|web"])
    }

    func testErrorsKeepTheirCodeAndInternalErrorsHideDetails() async throws {
        let client = client()
        do {
            let _: Empty = try await client.call("fail", Empty())
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error, RPCError(.notFound, "no such note"))
        }
        do {
            let _: Empty = try await client.call("crash", Empty())
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .internal)
            XCTAssertFalse(error.message.contains("NSCocoaErrorDomain"))
        }
        do {
            let _: Empty = try await client.call("nope", Empty())
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .unimplemented)
        }
        do {
            let _: Echo = try await client.call("echo", ["wrong": 1])
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertTrue(error.message.contains("text"))
        }
    }

    func testDeadlineExceededWhenTheServerIsSlow() async throws {
        let client = client()
        do {
            let _: Echo = try await client.call("echo", Echo(text: "x", delayMilliseconds: 2000), timeout: .milliseconds(100))
            XCTFail("expected a deadline error")
        } catch {
            XCTAssertEqual(error.code, .deadlineExceeded)
        }
        // The connection stays usable.
        let reply: Echo = try await client.call("echo", Echo(text: "after"))
        XCTAssertEqual(reply.text, "after|web")
    }

    func testCallsWithDifferentDeadlinesOnOneConnectionEachGiveUpAtTheirOwn() async throws {
        // One connection watches all its calls' deadlines with one timer: a
        // call with an earlier deadline than those in flight must re-arm it.
        let client = RPCClient(addresses: [address], group: group, callerName: "web", secret: secret, connectionsPerEndpoint: 1)
        async let long: Echo = client.call("echo", Echo(text: "long", delayMilliseconds: 1500), timeout: .seconds(20))
        try await Task.sleep(for: .milliseconds(50))
        async let short: Result<Echo, RPCError> = { () async -> Result<Echo, RPCError> in
            do throws(RPCError) {
                return .success(try await client.call("echo", Echo(text: "short", delayMilliseconds: 1000), timeout: .milliseconds(100)))
            } catch { return .failure(error) }
        }()
        async let later: Result<Echo, RPCError> = { () async -> Result<Echo, RPCError> in
            do throws(RPCError) {
                return .success(try await client.call("echo", Echo(text: "later", delayMilliseconds: 1200), timeout: .milliseconds(400)))
            } catch { return .failure(error) }
        }()
        let (shortResult, laterResult) = await (short, later)
        XCTAssertEqual(try? shortResult.get().text, nil)
        if case .failure(let error) = shortResult { XCTAssertEqual(error.code, .deadlineExceeded) }
        if case .failure(let error) = laterResult {
            XCTAssertEqual(error.code, .deadlineExceeded)
        } else {
            XCTFail("the 400 ms call outlived its deadline")
        }
        let longReply = try await long
        XCTAssertEqual(longReply.text, "long|web", "a call within its deadline is not given up with the others")
    }

    func testUnreachableEndpointIsUnavailable() async throws {
        let client = client(to: .tcp(host: "127.0.0.1", port: 1))
        do {
            let _: Empty = try await client.call("x", Empty())
            XCTFail("expected unavailable")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.message.contains("refused"), error.message)
        }
    }

    func testClientReconnectsAfterTheServerRestarts() async throws {
        let client = client()
        let _: Echo = try await client.call("echo", Echo(text: "one"))
        client.close()
        let reply: Echo = try await client.call("echo", Echo(text: "two"))
        XCTAssertEqual(reply.text, "two|web")
    }

    func testUnixDomainSocket() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var service = RPCService()
        service.register("ping") { (_: Empty, _) in Echo(text: "pong") }
        let unixServer = RPCServer(
            configuration: RPCServerConfiguration(address: .unix(path: folder.path + "/rpc.sock"), secret: secret), service: service, group: group,
            logger: Logger(label: "test"))
        let bound = try unixServer.start()
        defer { unixServer.stop() }
        let client = client(to: bound, as: "app")
        let reply: Echo = try await client.call("ping", Empty())
        XCTAssertEqual(reply.text, "pong")
    }

    func testAPeerThatSkipsHelloOrSendsGarbageIsDisconnected() throws {
        guard let port = address.port else { return XCTFail() }
        let raw = try TestHTTPClient(port: port)
        try raw.send(Frame(type: .request, streamID: 1, payload: RPCRequest(method: "echo").payload()).encoded())
        XCTAssertTrue(raw.isClosedByPeer())

        let wrongVersion = try TestHTTPClient(port: port)
        try wrongVersion.send(
            Frame(type: .hello, streamID: 0, payload: Hello(version: 99, peer: "x", nonce: Array(repeating: 1, count: 32)).payload()).encoded())
        XCTAssertTrue(wrongVersion.isClosedByPeer())

        let garbage = try TestHTTPClient(port: port)
        try garbage.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertTrue(garbage.isClosedByPeer())
    }
}

extension RPCClientServerTests {
    func testAPeerWithTheWrongSecretIsRefusedBothWays() async throws {
        let wrong = client(secret: Array("not the right secret at all".utf8))
        do {
            let _: Echo = try await wrong.call("echo", Echo(text: "x"))
            XCTFail("a client with the wrong secret got an answer")
        } catch {
            XCTAssertEqual(error.code, .unauthenticated, error.message)
        }
        // A server with another secret cannot impersonate this one either.
        var service = RPCService()
        service.register("echo") { (input: Echo, _) in input }
        let impostor = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: Array("the impostor's own secret".utf8)),
            service: service, group: group, logger: Logger(label: "test", level: .error))
        let impostorAddress = try impostor.start()
        defer { impostor.stop() }
        do {
            let _: Echo = try await client(to: impostorAddress).call("echo", Echo(text: "x"))
            XCTFail("talked to a server that does not hold the secret")
        } catch {
            XCTAssertEqual(error.code, .unauthenticated, error.message)
            XCTAssertTrue(error.message.contains("failed authentication"), error.message)
        }
    }

    func testCallsOverTheInFlightLimitGetResourceExhaustedAndTheConnectionSurvives() async throws {
        var service = RPCService()
        service.register("slow") { (input: Echo, _) -> Echo in
            try await Task.sleep(for: .milliseconds(input.delayMilliseconds))
            return input
        }
        var configuration = RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret)
        configuration.maxInFlightPerConnection = 2
        let limited = RPCServer(configuration: configuration, service: service, group: group, logger: Logger(label: "test", level: .error))
        let limitedAddress = try limited.start()
        defer { limited.stop() }
        let caller = client(to: limitedAddress)
        let outcomes = try await withThrowingTaskGroup(of: RPCErrorCode?.self) { tasks in
            for _ in 0..<5 {
                tasks.addTask {
                    do {
                        let _: Echo = try await caller.call("slow", Echo(text: "x", delayMilliseconds: 300))
                        return nil
                    } catch {
                        return (error as? RPCError)?.code ?? .unknown
                    }
                }
            }
            return try await tasks.reduce(into: [RPCErrorCode?]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { $0 == nil }.count, 2)
        XCTAssertEqual(outcomes.filter { $0 == RPCErrorCode.resourceExhausted }.count, 3)
        let after: Echo = try await caller.call("slow", Echo(text: "again", delayMilliseconds: 1))
        XCTAssertEqual(after.text, "again")
    }

    func testACallerQueuesCallsBeyondTheServersDefaultLimitInsteadOfBeingRefused() async throws {
        // 1,024 in flight per connection is the server's default; the client keeps the rest back.
        let caller = client()
        let count = 1_100
        let outcomes = await withTaskGroup(of: String.self) { tasks in
            for index in 0..<count {
                tasks.addTask {
                    do {
                        let reply: Echo = try await caller.call("echo", Echo(text: "\(index)", delayMilliseconds: 200), timeout: .seconds(20))
                        return reply.text
                    } catch {
                        return "\((error as? RPCError)?.code ?? .unknown)"
                    }
                }
            }
            return await tasks.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(Set(outcomes), Set((0..<count).map { "\($0)|web" }), "every call answered, none refused")
        // A waiting call whose deadline passes is given up without being sent.
        let waiting = await withTaskGroup(of: RPCErrorCode?.self) { tasks in
            for index in 0..<(count) {
                tasks.addTask {
                    do {
                        let _: Echo = try await caller.call("echo", Echo(text: "\(index)", delayMilliseconds: 400), timeout: .milliseconds(300))
                        return nil
                    } catch {
                        return (error as? RPCError)?.code
                    }
                }
            }
            return await tasks.reduce(into: [RPCErrorCode?]()) { $0.append($1) }
        }
        XCTAssertEqual(waiting.filter { $0 == .deadlineExceeded }.count, count, "\(Set(waiting.map { "\($0.map { "\($0)" } ?? "ok")" }))")
        caller.close()
    }

    func testShutdownLetsCallsInFlightFinishAndRefusesNewOnes() async throws {
        var service = RPCService()
        service.register("slow") { (input: Echo, _) -> Echo in
            try await Task.sleep(for: .milliseconds(input.delayMilliseconds))
            return input
        }
        let draining = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret),
            service: service, group: group, logger: Logger(label: "test", level: .error))
        let caller = client(to: try draining.start())
        let pending = Task { () -> String? in
            let reply: Echo? = try? await caller.call("slow", Echo(text: "finished", delayMilliseconds: 300))
            return reply?.text
        }
        try await Task.sleep(for: .milliseconds(100))
        await draining.shutdown(grace: .seconds(5))
        let finished = await pending.value
        XCTAssertEqual(finished, "finished", "a call in flight when shutdown began completes")
        do {
            let _: Echo = try await caller.call("slow", Echo(text: "late", delayMilliseconds: 1))
            XCTFail("a new call after GOAWAY was answered")
        } catch {
            XCTAssertEqual(error.code, .unavailable)
        }
    }

    func testBuiltInHealthMethodsAndMetrics() async throws {
        let caller = client()
        let health: RPCHealth = try await caller.call(RPCHealth.method, Empty())
        XCTAssertTrue(health.isServing)
        let methods: [RPCMethodDescription] = try await caller.call("rpc.methods", Empty())
        XCTAssertEqual(methods.map(\.name), ["crash", "echo", "fail"])
        XCTAssertEqual(methods.first?.access, "any peer tier")
        let _: Echo = try await caller.call("echo", Echo(text: "one"))
        let _: Echo = try await caller.call("echo", Echo(text: "two"))
        _ = try? await caller.call("fail", Empty(), as: Empty.self)
        let metrics: [RPCMethodMetrics] = try await caller.call("rpc.metrics", Empty())
        let echo = try XCTUnwrap(metrics.first { $0.method == "echo" })
        XCTAssertEqual(echo.calls, 2)
        XCTAssertEqual(echo.latencyBuckets.map(\.count).reduce(0, +), 2)
        let fail = try XCTUnwrap(metrics.first { $0.method == "fail" })
        XCTAssertEqual(fail.errors, ["notFound": 1])
        caller.close()
    }

    func testPerMethodConcurrencyLimit() async throws {
        var service = RPCService()
        service.register("narrow", options: RPCMethodOptions(maxConcurrent: 2)) { (input: Echo, _) -> Echo in
            try await Task.sleep(for: .milliseconds(input.delayMilliseconds))
            return input
        }
        let limited = RPCServer(
            configuration: RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret),
            service: service, group: group, logger: Logger(label: "test", level: .error))
        let caller = client(to: try limited.start())
        defer { limited.stop() }
        let codes = await withTaskGroup(of: String.self) { calls in
            for _ in 0..<5 {
                calls.addTask {
                    do {
                        let _: Echo = try await caller.call("narrow", Echo(text: "x", delayMilliseconds: 300))
                        return "ok"
                    } catch {
                        return (error as? RPCError)?.code.description ?? "\(error)"
                    }
                }
            }
            return await calls.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(codes.sorted(), ["ok", "ok", "resourceExhausted", "resourceExhausted", "resourceExhausted"])
        // The limit frees up as calls finish.
        let again: Echo = try await caller.call("narrow", Echo(text: "y", delayMilliseconds: 1))
        XCTAssertEqual(again.text, "y")
    }

    func testRequestsBeforeTheHandshakeCompletesAreRefused() throws {
        guard let port = address.port else { return XCTFail() }
        let raw = try TestHTTPClient(port: port)
        // A first HELLO, then a request without ever proving the secret.
        try raw.send(
            Frame(type: .hello, streamID: 0, payload: Hello(version: 1, peer: "x", nonce: Array(repeating: 7, count: 32)).payload()).encoded()
                + Frame(type: .request, streamID: 1, payload: RPCRequest(method: "echo", body: Array(#"{"text":"x"}"#.utf8)).payload()).encoded())
        XCTAssertTrue(raw.isClosedByPeer())
    }
}

private actor OrderRecorder {
    var items: [String] = []
    func record(_ item: String) { items.append(item) }
}
