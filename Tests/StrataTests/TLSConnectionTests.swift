import Foundation
import StrataCore
@_spi(Fuzzing) import StrataIO
import StrataTestSupport
import XCTest

@testable import StrataHTTP

/// TLS on the event loops: an HTTPS server and Strata's own TLS client in
/// one process, so the byte streams and the failures can be checked exactly.
final class TLSConnectionTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var group: EventLoopGroup!
    private var server: HTTPServer!
    private var port = 0
    private static let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    override func setUp() async throws {
        folder = try TemporaryFolder()
        let path = folder.url.path
        try TLSCertificate.create(certificate: path + "/ca.crt", key: path + "/ca.key", names: ["test CA"], days: 1, isAuthority: true)
        try TLSCertificate.create(
            certificate: path + "/server.crt", key: path + "/server.key", names: ["localhost", "127.0.0.1"], days: 1,
            signedBy: (certificate: path + "/ca.crt", key: path + "/ca.key"))
        try Data(Self.big.prefix(700_000)).write(to: folder.url.appendingPathComponent("asset.bin"))
        let files = try StaticFiles(root: path)
        group = EventLoopGroup(loopCount: 2)
        var configuration = HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0))
        configuration.tls = try TLSServerCertificates([.init(certificate: path + "/server.crt", key: path + "/server.key")])
        server = HTTPServer(configuration: configuration, group: group) { request in
            if request.path == "/big" { return HTTPResponse(body: Self.big) }
            if request.path.hasPrefix("/static/"), let file = files.response(for: "asset.bin", request: request) { return file }
            return .text("secure=\(request.isSecure) body=\(request.body.count)")
        }
        port = try server.start().port ?? 0
    }

    override func tearDown() async throws {
        await server.shutdown(grace: .seconds(1))
        group.shutdown()
        folder.remove()
    }

    private func client(trusting authority: String = "ca.crt", name: String = "localhost") throws -> TLSClientOptions {
        TLSClientOptions(context: try TLSContext.client(trusting: folder.url.path + "/" + authority, alpn: ["http/1.1"]), serverName: name)
    }

    /// Sends `request` over TLS and collects the answer until the server closes.
    private func exchange(_ request: [UInt8], tls: TLSClientOptions) async throws -> [UInt8] {
        let loop = group.loops[0]
        let connection = try await Connection.connect(to: .tcp(host: "127.0.0.1", port: port), on: loop, tls: tls)
        let collector = Collector()
        loop.execute {
            try? connection.start(handler: collector)
            connection.write(request)
        }
        return try await collector.untilClosed()
    }

    func testLargeBodiesFilesAndUploadsCrossTLSIntact() async throws {
        let big = try await exchange(Array("GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8), tls: try client())
        let head = try XCTUnwrap(big.firstRange(of: Array("\r\n\r\n".utf8)))
        XCTAssertEqual(Array(big[head.upperBound...]), Self.big, "3 MiB body, through partial TLS writes, intact")

        let file = try await exchange(Array("GET /static/asset.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8), tls: try client())
        let fileHead = try XCTUnwrap(file.firstRange(of: Array("\r\n\r\n".utf8)))
        XCTAssertEqual(Array(file[fileHead.upperBound...]), Array(Self.big.prefix(700_000)), "a file (sendfile in plaintext) read into records")

        let upload = Array(Self.big.prefix(500_000))
        let request = Array("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(upload.count)\r\nConnection: close\r\n\r\n".utf8) + upload
        let answer = String(decoding: try await exchange(request, tls: try client()), as: UTF8.self)
        XCTAssertTrue(answer.hasSuffix("secure=true body=\(upload.count)"), answer.suffix(80).description)
    }

    func testPipelinedRequestsBeyondOneReadAreAllAnsweredInOrder() async throws {
        // 2,000 requests in one go: more than a 64 KiB read, and the server
        // pauses reading at 16 in flight, with the rest inside OpenSSL.
        let count = 2_000
        var requests: [UInt8] = []
        for index in 0..<count {
            let close = index == count - 1 ? "Connection: close\r\n" : ""
            requests += Array("GET /n\(index) HTTP/1.1\r\nHost: localhost\r\n\(close)\r\n".utf8)
        }
        let answers = String(decoding: try await exchange(requests, tls: try client()), as: UTF8.self)
        XCTAssertEqual(answers.components(separatedBy: "HTTP/1.1 200 OK").count - 1, count)
        XCTAssertEqual(answers.components(separatedBy: "secure=true").count - 1, count)
    }

    func testTheClientVerifiesTheCertificateAndTheName() async throws {
        let path = folder.url.path
        try TLSCertificate.create(certificate: path + "/other.crt", key: path + "/other.key", names: ["other CA"], days: 1, isAuthority: true)
        for (options, why) in [(try client(trusting: "other.crt"), "untrusted CA"), (try client(name: "elsewhere.test"), "wrong name")] {
            do {
                _ = try await Connection.connect(to: .tcp(host: "127.0.0.1", port: port), on: group.loops[0], tls: options)
                XCTFail("\(why): the handshake must fail")
            } catch let error as TLSError {
                XCTAssertTrue(error.message.contains("certificate verify failed"), "\(why): \(error.message)")
            }
        }
        // The server is unharmed by the refusals.
        let ok = try await exchange(Array("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8), tls: try client())
        XCTAssertTrue(String(decoding: ok, as: UTF8.self).hasSuffix("secure=true body=0"))
    }

    func testAServerThatNeverAnswersTheHandshakeFailsTheConnectAtItsDeadline() async throws {
        // A listening socket nobody serves: the kernel accepts the connection, then nothing is ever said.
        let (silent, silentPort) = try XCTUnwrap(Loopback.unservedListener(backlog: 8))
        defer { close(silent) }
        var options = try client()
        options.handshakeTimeout = .milliseconds(300)
        do {
            _ = try await Connection.connect(
                to: .tcp(host: "127.0.0.1", port: silentPort), on: group.loops[0], tls: options)
            XCTFail("a server that never answers must fail the handshake")
        } catch let error as TLSError {
            XCTAssertTrue(error.message.contains("did not complete the TLS handshake within 0.3 seconds"), error.message)
        }
        // The loop is unharmed: a real handshake on it still works.
        let ok = try await exchange(Array("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8), tls: try client())
        XCTAssertTrue(String(decoding: ok, as: UTF8.self).hasSuffix("secure=true body=0"))
    }

    func testMalformedAndTruncatedRecordsNeverYieldPlaintext() throws {
        let corpus = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/tls")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).map {
            Array(try Data(contentsOf: corpus.appendingPathComponent($0)))
        }
        XCTAssertFalse(seeds.isEmpty)
        var generator = SystemRandomNumberGenerator()
        for seed in seeds {
            XCTAssertEqual(TLSFuzzing.serve(seed).plaintext, 0)
            // Every prefix of a real hello, and bytes flipped in it.
            for cut in stride(from: 0, to: seed.count, by: max(1, seed.count / 16)) {
                XCTAssertEqual(TLSFuzzing.serve(Array(seed.prefix(cut))).plaintext, 0)
            }
            for _ in 0..<16 where !seed.isEmpty {
                var mutated = seed
                mutated[Int.random(in: 0..<seed.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                XCTAssertEqual(TLSFuzzing.serve(mutated).plaintext, 0)
            }
        }
        // The path really ran: a real hello is answered (ServerHello onwards).
        let hello = Array(try Data(contentsOf: corpus.appendingPathComponent("client-hello-tls13")))
        XCTAssertGreaterThan(TLSFuzzing.serve(hello).answered, 500, "ServerHello, certificate and the rest")
    }
}

/// Collects what a connection receives until it closes.
private final class Collector: ConnectionHandler, @unchecked Sendable {
    private let state = NSLock()
    private var bytes: [UInt8] = []
    private var closed = false

    func connectionReadable(_ connection: Connection) {
        let chunk = connection.inbound.readableBytesArray
        connection.inbound.clear()
        state.withLock { bytes += chunk }
    }

    func connectionInputClosed(_ connection: Connection) { connection.close() }

    func connectionClosed(_ connection: Connection) { state.withLock { closed = true } }

    func untilClosed(seconds: Double = 20) async throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let done = state.withLock({ closed ? bytes : nil }) { return done }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestHTTPClient.Failure(description: "the connection did not close within \(seconds) s")
    }
}
