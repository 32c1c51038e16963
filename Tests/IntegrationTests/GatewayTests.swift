import Foundation
import StrataTestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The web tier as a gateway, through the real `strata-web` executable:
/// reverse proxy and load balancing against scripted upstreams (good and
/// broken), the HTTP cache, FastCGI against Debian's php-fpm, and CGI.
final class GatewayTests: XCTestCase {
    private var tiers: Tiers!
    private var upstreams: [ScriptedUpstream] = []

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() {
        for upstream in upstreams { upstream.stop() }
        tiers.stop()
    }

    /// Starts strata-web with `arguments` (no app tier: only gateway routes answer); returns it and its port.
    private func startWeb(_ arguments: [String]) throws -> (TierProcess, Int) {
        let web = try tiers.start(
            "strata-web", ["serve", "--port", "0", "--app", "127.0.0.1:\(Loopback.freePort())", "--rate-limit", "0"] + arguments)
        let address = try web.waitForReady()
        return (web, try XCTUnwrap(Int(address.split(separator: ":").last ?? "")))
    }

    private func upstream(_ script: @escaping @Sendable (ScriptedUpstream.Request, ScriptedUpstream.Peer) -> Bool) throws -> ScriptedUpstream {
        let upstream = try ScriptedUpstream(script: script)
        upstreams.append(upstream)
        return upstream
    }

    private func get(_ port: Int, _ path: String, headers: [(String, String)] = []) throws -> TestHTTPClient.Response {
        try TestHTTPClient(port: port).request("GET", path, headers: headers)
    }

    // MARK: Reverse proxy

    func testProxyRewritesThePrefixAddsForwardingFieldsAndDropsHopByHopOnes() throws {
        let origin = try upstream { request, peer in
            peer.write(
                ScriptedUpstream.answer(
                    200, "from origin", headers: ["Connection: X-Secret", "X-Secret: hop", "Keep-Alive: timeout=5", "X-Kept: end"]))
            return true
        }
        let (_, port) = try startWeb(["--proxy", "/legacy/=http://127.0.0.1:\(origin.port)/app/"])
        let response = try get(
            port, "/legacy/page?x=1",
            headers: [
                ("Connection", "X-Private"), ("X-Private", "do not forward"), ("X-Forwarded-For", "6.6.6.6"), ("Forwarded", "for=6.6.6.6"),
            ])
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "from origin")
        XCTAssertNil(response.header("X-Secret"), "a field the upstream's Connection named is hop-by-hop")
        XCTAssertNil(response.header("Keep-Alive"))
        XCTAssertEqual(response.header("X-Kept"), "end")

        let seen = try XCTUnwrap(origin.requests.last)
        XCTAssertEqual(seen.line, "GET /app/page?x=1 HTTP/1.1", "the prefix is replaced by the upstream URL's path")
        XCTAssertEqual(seen.header("Host"), "localhost", "the client's Host is passed by default")
        XCTAssertNil(seen.header("X-Private"), "a field the client's Connection named is not forwarded")
        XCTAssertNil(seen.header("Connection").flatMap { $0.contains("X-Private") ? $0 : nil })
        XCTAssertEqual(seen.header("X-Forwarded-For"), "127.0.0.1", "an untrusted client's own X-Forwarded-For is replaced")
        XCTAssertEqual(seen.header("Forwarded"), "for=127.0.0.1;proto=http;host=localhost")
        XCTAssertEqual(seen.header("X-Forwarded-Proto"), "http")
        XCTAssertEqual(seen.header("X-Forwarded-Host"), "localhost")
        XCTAssertEqual(seen.header("Via"), "1.1 strata")
        XCTAssertEqual(seen.header("X-Request-ID"), response.header("X-Request-ID"), "the upstream sees the request id the client gets")

        // `/legacy` without its slash is sent to the mount's address.
        let bare = try get(port, "/legacy?y=2")
        XCTAssertEqual(bare.status, 308)
        XCTAssertEqual(bare.header("Location"), "/legacy/?y=2")
        // A dot segment could climb out of the prefix upstream.
        XCTAssertEqual(try get(port, "/legacy/%2e%2e/admin").status, 400)
    }

    func testATrustedProxysForwardingFieldsAreExtended() throws {
        let origin = try upstream { _, peer in
            peer.write(ScriptedUpstream.answer(200, "ok"))
            return true
        }
        let (_, port) = try startWeb(["--proxy", "/p/=http://127.0.0.1:\(origin.port)", "--trusted-proxies", "127.0.0.1"])
        _ = try get(
            port, "/p/x", headers: [("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.7;proto=https"), ("X-Forwarded-Proto", "https")])
        let seen = try XCTUnwrap(origin.requests.last)
        XCTAssertEqual(seen.line, "GET /p/x HTTP/1.1", "without a path in the URL the target is unchanged")
        XCTAssertEqual(seen.header("X-Forwarded-For"), "203.0.113.7, 127.0.0.1")
        XCTAssertEqual(seen.header("Forwarded"), "for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host=localhost")
        XCTAssertEqual(seen.header("X-Forwarded-Proto"), "https")
    }

    func testBrokenUpstreamsGetTheRightStatusAndLeaveTheTierHealthy() throws {
        let cases: [(name: String, status: Int, script: @Sendable (ScriptedUpstream.Peer) -> Void)] = [
            ("closes before answering", 502, { _ in }),
            ("closes mid-body", 502, { $0.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part") }),
            ("invalid status line", 502, { $0.write("HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n") }),
            ("not HTTP at all", 502, { $0.write("SSH-2.0-OpenSSH\r\n\r\n") }),
            ("oversized head", 502, { $0.write("HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n") }),
            (
                "Content-Length and Transfer-Encoding", 502,
                {
                    $0.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                }
            ),
            ("conflicting lengths", 502, { $0.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc") }),
            ("bad chunk size", 502, { $0.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n") }),
            ("chunk without its CRLF", 502, { $0.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n") }),
            ("obs-fold", 502, { $0.write("HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n") }),
            ("bare LF", 502, { $0.write("HTTP/1.1 200 OK\nContent-Length: 0\n\n") }),
            (
                "a newline in a header value (splitting)", 502,
                { $0.write("HTTP/1.1 200 OK\r\nX-A: 1\rSet-Cookie: evil=1\r\nContent-Length: 0\r\n\r\n") }
            ),
            ("101 without an upgrade", 502, { $0.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n") }),
            ("never answers", 504, { _ in Thread.sleep(forTimeInterval: 3) }),
            (
                "drips the head too slowly", 504,
                { peer in
                    for byte in "HTTP/1.1 200 OK\r\n".utf8 {
                        peer.write([byte])
                        Thread.sleep(forTimeInterval: 0.2)
                    }
                }
            ),
        ]
        var routes: [String] = []
        for (index, entry) in cases.enumerated() {
            let script = entry.script
            let bad = try upstream { _, peer in
                script(peer)
                return false
            }
            routes.append("/bad\(index)/=http://127.0.0.1:\(bad.port);timeout=1;max-fails=100")
        }
        let good = try upstream { _, peer in
            peer.write(ScriptedUpstream.answer(200, "fine"))
            return true
        }
        routes.append("/good/=http://127.0.0.1:\(good.port)")
        let (web, port) = try startWeb(["--proxy", routes.joined(separator: " ")])
        for (index, entry) in cases.enumerated() {
            let response = try get(port, "/bad\(index)/x")
            XCTAssertEqual(response.status, entry.status, entry.name)
            let requestID = try XCTUnwrap(response.header("X-Request-ID"))
            XCTAssertTrue(response.text.contains("(request \(requestID))"), "\(entry.name): \(response.text)")
            XCTAssertFalse(response.text.contains("evil") || response.header("Set-Cookie") != nil, entry.name)
            XCTAssertEqual(try get(port, "/good/x").text, "fine", "after \(entry.name) the tier still serves")
        }
        XCTAssertEqual(try get(port, "/healthz").status, 200)
        XCTAssertTrue(web.output.contains { $0.contains("gateway request failed") && $0.contains("status=502") })

        // Nothing listening at all: 502, and the log names the upstream, the client's page does not.
        let closedPort = Loopback.freePort()
        let (_, other) = try startWeb(["--proxy", "/gone/=http://127.0.0.1:\(closedPort)"])
        let refused = try get(other, "/gone/")
        XCTAssertEqual(refused.status, 502)
        XCTAssertFalse(refused.text.contains(String(closedPort)))
    }

    func testLoadBalancingRetriesOnAnotherUpstreamAndEjectsADeadOne() throws {
        let a = try upstream { _, peer in
            peer.write(ScriptedUpstream.answer(200, "a"))
            return true
        }
        let b = try upstream { _, peer in
            peer.write(ScriptedUpstream.answer(200, "b"))
            return true
        }
        let (_, port) = try startWeb([
            "--proxy", "/lb/=http://127.0.0.1:\(a.port),http://127.0.0.1:\(b.port);balance=round-robin;max-fails=2;eject=30",
        ])
        let answers = try (0..<6).map { _ in try get(port, "/lb/").text }
        XCTAssertEqual(answers.filter { $0 == "a" }.count, 3, "round robin alternates: \(answers)")
        XCTAssertEqual(answers.filter { $0 == "b" }.count, 3, "\(answers)")

        b.stop()
        // A GET that found b gone is retried on a, so every request succeeds.
        for _ in 0..<8 { XCTAssertEqual(try get(port, "/lb/").text, "a") }
        let requestsToA = a.requests.count
        for _ in 0..<4 { _ = try get(port, "/lb/") }
        XCTAssertEqual(a.requests.count, requestsToA + 4, "b is ejected: a takes every request")

        // A POST is not retried: it may have been processed.
        a.stop()
        let post = try TestHTTPClient(port: port).request("POST", "/lb/", body: "x=1")
        XCTAssertTrue(post.status == 502 || post.status == 503, "\(post.status)")
        // Both out: 503 names the request id.
        let none = try get(port, "/lb/")
        XCTAssertEqual(none.status, 503, none.text)
        XCTAssertEqual(none.header("Retry-After"), "5")
    }

    func testAPooledConnectionTheUpstreamDroppedIsRetriedFreshForAGetOnly() throws {
        let counts = Results()
        let origin = try upstream { _, peer in
            // Each connection answers one request, then drops the next without a word,
            // as an upstream closing an idle keep-alive connection at that instant would.
            guard counts.next(peer.connection) == 1 else {
                counts.forget(peer.connection)  // the descriptor's number will serve another connection
                return false
            }
            peer.write(ScriptedUpstream.answer(200, "fresh"))
            return true
        }
        // One event loop, so every request meets the same pool.
        let (_, port) = try startWeb(["--loops", "1", "--proxy", "/s/=http://127.0.0.1:\(origin.port);max-fails=1"])
        XCTAssertEqual(try get(port, "/s/").text, "fresh")
        let retried = try get(port, "/s/")
        XCTAssertEqual(retried.status, 200, "the GET went again on a new connection: \(retried.text)")
        XCTAssertEqual(retried.text, "fresh")
        XCTAssertEqual(origin.requests.count, 3)
        let post = try TestHTTPClient(port: port).request("POST", "/s/", body: "")
        XCTAssertEqual(post.status, 502, "a POST is never sent twice")
        // A body streams from the client and could not be sent twice: it always takes a new connection.
        let upload = try TestHTTPClient(port: port).request("POST", "/s/", body: "x=1")
        XCTAssertEqual(upload.status, 200, upload.text)
        XCTAssertEqual(try get(port, "/s/").text, "fresh", "a stale connection is no failure of the server: not ejected")
    }

    func testActiveHealthChecksTakeAFailingUpstreamOutOfRotation() throws {
        let healthy = try upstream { request, peer in
            peer.write(ScriptedUpstream.answer(200, request.line.contains("/healthz") ? "ok" : "healthy"))
            return true
        }
        let sick = try upstream { request, peer in
            peer.write(request.line.contains("/healthz") ? ScriptedUpstream.answer(503, "no") : ScriptedUpstream.answer(200, "sick"))
            return true
        }
        let (web, port) = try startWeb([
            "--proxy", "/h/=http://127.0.0.1:\(healthy.port),http://127.0.0.1:\(sick.port);health=/healthz;health-interval=0.2",
        ])
        _ = try web.waitForLine(containing: "upstream failed its health check")
        for _ in 0..<6 { XCTAssertEqual(try get(port, "/h/").text, "healthy") }
        XCTAssertTrue(sick.requests.allSatisfy { $0.line.contains("/healthz") }, "only checks reach the failing upstream")
    }

    func testALargeDownloadStreamsWithoutGrowingMemory() throws {
        let size = 256 << 20
        let origin = try upstream { _, peer in
            peer.write("HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n")
            let block = [UInt8](repeating: 120, count: 1 << 20)
            for _ in 0..<(size >> 20) { peer.write(block) }
            return true
        }
        let (web, port) = try startWeb(["--proxy", "/big/=http://127.0.0.1:\(origin.port)"])
        let client = try TestHTTPClient(port: port, timeout: 60)
        try client.send("GET /big/file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let bytes = try client.readToEnd()
        XCTAssertGreaterThan(bytes.count, size, "the whole body arrived")
        XCTAssertTrue(String(decoding: bytes.prefix(200), as: UTF8.self).contains("Transfer-Encoding: chunked"))
        // The tier's peak resident memory stayed far below the body's size.
        let peakKiB = try peakResidentKiB(web)
        XCTAssertLessThan(peakKiB, 128 * 1024, "peak RSS \(peakKiB) KiB while streaming \(size >> 20) MiB")
    }

    // MARK: Request bodies

    /// The tier's peak resident memory so far, in KiB.
    private func peakResidentKiB(_ web: TierProcess) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(web.pid)/status", encoding: .utf8)
        return try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) })
    }

    func testALargeUploadStreamsWithoutGrowingMemory() throws {
        let size = 256 << 20
        let origin = try ScriptedUpstream(keepsBodies: false) { request, peer in
            peer.write(ScriptedUpstream.answer(200, "received \(request.bodyLength)"))
            return true
        }
        upstreams.append(origin)
        let (web, port) = try startWeb(["--proxy", "/up/=http://127.0.0.1:\(origin.port);max-body=1g"])
        let client = try TestHTTPClient(port: port, timeout: 60)
        try client.send("PUT /up/file HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(size)\r\n\r\n")
        var block = [UInt8](repeating: UInt8(ascii: "u"), count: 1 << 20)
        for index in 0..<(size >> 20) {
            if index == (size >> 20) - 1 { block.replaceSubrange((block.count - 4)..., with: Array("last".utf8)) }
            try client.send(block)
        }
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.text, "received \(size)")
        let received = try XCTUnwrap(origin.requests.last)
        XCTAssertEqual(received.header("Content-Length"), String(size), "the length is passed on, not re-chunked")
        XCTAssertEqual(String(decoding: received.bodyTail.suffix(4), as: UTF8.self), "last")
        let peak = try peakResidentKiB(web)
        XCTAssertLessThan(peak, 128 * 1024, "peak RSS \(peak) KiB while passing on a \(size >> 20) MiB upload")
        // The connection carries the next request.
        let again = try client.request("GET", "/up/again")
        XCTAssertEqual(again.status, 200)
    }

    func testAChunkedUploadIsReChunkedAfter100Continue() throws {
        let origin = try upstream { request, peer in
            peer.write(ScriptedUpstream.answer(201, "got \(request.body.count)"))
            return true
        }
        let (_, port) = try startWeb(["--proxy", "/up/=http://127.0.0.1:\(origin.port)"])
        let client = try TestHTTPClient(port: port)
        try client.send(
            "POST /up/notes HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\n\r\n")
        // Nothing of the body was sent: the tier asks for it once the upstream is connected.
        let interim = String(decoding: try client.readRaw(through: "\r\n\r\n"), as: UTF8.self)
        XCTAssertTrue(interim.hasPrefix("HTTP/1.1 100 Continue"), interim)
        try client.send("5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 201, response.text)
        XCTAssertEqual(response.text, "got 12")
        let received = try XCTUnwrap(origin.requests.first)
        XCTAssertEqual(String(decoding: received.body, as: UTF8.self), "hello, world")
        XCTAssertEqual(received.header("Transfer-Encoding"), "chunked")
        XCTAssertNil(received.header("Expect"), "the tier answered the expectation itself")
        XCTAssertNil(received.header("Content-Length"))
    }

    func testUploadLimitsAndBrokenUploads() throws {
        let origin = try upstream { request, peer in
            peer.write(ScriptedUpstream.answer(200, "got \(request.body.count)"))
            return true
        }
        let (web, port) = try startWeb([
            "--proxy", "/small/=http://127.0.0.1:\(origin.port);max-body=1k /any/=http://127.0.0.1:\(origin.port)",
            "--max-body", "4096", "--body-timeout", "1",
        ])
        // Over the route's limit: refused before anything goes upstream.
        let large = try TestHTTPClient(port: port).request("POST", "/small/x", body: String(repeating: "a", count: 2000))
        XCTAssertEqual(large.status, 413, large.text)
        XCTAssertTrue(large.text.contains("1024"), large.text)
        // Without max-body= the tier's --max-body holds.
        XCTAssertEqual(try TestHTTPClient(port: port).request("POST", "/any/x", body: String(repeating: "a", count: 4000)).status, 200)
        XCTAssertEqual(try TestHTTPClient(port: port).request("POST", "/any/x", body: String(repeating: "a", count: 5000)).status, 413)
        XCTAssertEqual(origin.requests.count, 1)

        // A client that stalls mid-body gets 408; the upstream never gets a whole request.
        let stalled = try TestHTTPClient(port: port)
        try stalled.send("POST /any/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly part")
        let timedOut = try stalled.readResponse()
        XCTAssertEqual(timedOut.status, 408, timedOut.text)
        XCTAssertEqual(timedOut.header("Connection"), "close")

        // Broken chunk framing mid-body: 400 naming it.
        let broken = try TestHTTPClient(port: port)
        try broken.send("POST /any/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
        let refused = try broken.readResponse()
        XCTAssertEqual(refused.status, 400, refused.text)
        XCTAssertTrue(refused.text.contains("chunk"), refused.text)

        // A client that vanishes mid-body: the upstream connection is dropped.
        let vanishing = try TestHTTPClient(port: port)
        try vanishing.send("POST /any/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\npart")
        Thread.sleep(forTimeInterval: 0.2)
        vanishing.abort()
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(origin.requests.count, 1, "no partial request reached the upstream's handler")
        XCTAssertEqual(kill(web.pid, 0), 0, "the tier is still running")
        XCTAssertEqual(try get(port, "/any/ok").status, 200)
    }

    func testAFastCGIRequestIsAbortedWhenTheClientLeaves() throws {
        let responder = try FastCGIRecorder()
        defer { responder.stop() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fcgi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "<?php sleep(60);".write(toFile: root + "/slow.php", atomically: true, encoding: .utf8)
        let (web, port) = try startWeb(["--fastcgi", "/php/=127.0.0.1:\(responder.port);root=\(root)"])
        let client = try TestHTTPClient(port: port)
        try client.send("GET /php/slow.php HTTP/1.1\r\nHost: localhost\r\n\r\n")
        // Once the whole request is with the responder (STDIN's closing record), the browser goes away.
        let deadline = Date().addingTimeInterval(10)
        while !responder.received.contains(where: { $0.types.contains(1) && $0.types.last == 5 }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        client.abort()
        while !responder.received.contains(where: { $0.types.contains(2) && $0.closed }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let request = try XCTUnwrap(responder.received.first { $0.types.contains(1) }, "\(responder.received)")
        XCTAssertEqual(request.types.last, 2, "FCGI_ABORT_REQUEST after the request's records: \(request.types)")
        XCTAssertTrue(request.closed, "and the connection closed")
        XCTAssertEqual(kill(web.pid, 0), 0)
    }

    func testWebSocketUpgradesAreRefusedClearly() throws {
        let origin = try upstream { _, peer in
            peer.write(ScriptedUpstream.answer(200, "no"))
            return true
        }
        let (_, port) = try startWeb(["--proxy", "/ws/=http://127.0.0.1:\(origin.port)"])
        let response = try get(port, "/ws/chat", headers: [("Connection", "Upgrade"), ("Upgrade", "websocket")])
        XCTAssertEqual(response.status, 501)
        XCTAssertTrue(response.text.contains("WebSocket"))
        XCTAssertTrue(origin.requests.isEmpty)
    }

    // MARK: Cache

    func testTheCacheCoalescesSimultaneousMissesAndServesHits() throws {
        let origin = try upstream { request, peer in
            Thread.sleep(forTimeInterval: 0.3)
            peer.write(ScriptedUpstream.answer(200, "page " + request.line, headers: ["Cache-Control: max-age=60", "ETag: \"v1\""]))
            return true
        }
        let (_, port) = try startWeb(["--proxy", "/c/=http://127.0.0.1:\(origin.port)", "--cache", "1m"])
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 100) { _ in
            let response = try? TestHTTPClient(port: port, timeout: 20).request("GET", "/c/same")
            results.add(response?.status ?? 0, response?.text ?? "")
        }
        XCTAssertEqual(results.statuses, Array(repeating: 200, count: 100))
        XCTAssertEqual(Set(results.bodies).count, 1)
        XCTAssertEqual(origin.requests.count, 1, "100 simultaneous misses for one key: one upstream request")

        let hit = try get(port, "/c/same")
        XCTAssertEqual(hit.header("Cache-Status")?.hasPrefix("strata; hit; ttl="), true, hit.header("Cache-Status") ?? "")
        XCTAssertNotNil(hit.header("Age"))
        let conditional = try get(port, "/c/same", headers: [("If-None-Match", "\"v1\"")])
        XCTAssertEqual(conditional.status, 304)
        // A request with a cookie is someone's own: not answered from the shared entry.
        let personal = try get(port, "/c/same", headers: [("Cookie", "s=1")])
        XCTAssertEqual(personal.header("Cache-Status"), "strata; fwd=miss")
        XCTAssertEqual(origin.requests.count, 2)
    }

    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var statuses: [Int] = []
        private(set) var bodies: [String] = []
        private var perConnection: [Int32: Int] = [:]

        /// Counts a request on `connection`; returns its number there.
        func next(_ connection: Int32) -> Int {
            lock.lock()
            defer { lock.unlock() }
            perConnection[connection, default: 0] += 1
            return perConnection[connection]!
        }

        func forget(_ connection: Int32) {
            lock.lock()
            perConnection[connection] = nil
            lock.unlock()
        }

        func add(_ status: Int, _ body: String) {
            lock.lock()
            statuses.append(status)
            bodies.append(body)
            lock.unlock()
        }
    }

    func testCachePurgeFromTheCommandLine() throws {
        let origin = try upstream { _, peer in
            peer.write(ScriptedUpstream.answer(200, "cached", headers: ["Cache-Control: public, max-age=600"]))
            return true
        }
        let (web, port) = try startWeb(["--proxy", "/c/=http://127.0.0.1:\(origin.port)", "--cache", "1m", "--health", "127.0.0.1:0"])
        let line = try web.waitForLine(containing: "health=")
        let health = String(try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("health=") }).dropFirst("health=".count))
        _ = try get(port, "/c/a")
        _ = try get(port, "/c/b")
        XCTAssertEqual(try get(port, "/c/a").header("Cache-Status")?.hasPrefix("strata; hit"), true)
        let purge = try tiers.start("strata-web", ["cache", "purge", "/c/*", "--health", health])
        XCTAssertEqual(purge.waitForExit(), 0, purge.output.joined(separator: "\n"))
        XCTAssertTrue(purge.output.contains { $0.contains("purged 2 entries") }, purge.output.joined(separator: "\n"))
        XCTAssertEqual(try get(port, "/c/a").header("Cache-Status"), "strata; fwd=miss; stored")
    }

    func testAPublicPageIsRenderedForNobodyAndKeptByTheCache() throws {
        let (port, _) = try tiers.startStack(database: tiers.folder.path + "/public.db", app: ["--bench"], web: ["--bench", "--cache", "1m"])
        // A browser with a session asks first: the page must not carry anything of it.
        let first = try get(port, "/fortunes/public", headers: [("Cookie", "strata_session=0123456789abcdef0123456789abcdef")])
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(first.header("Cache-Control"), "public, max-age=60")
        XCTAssertNil(first.header("Set-Cookie"))
        XCTAssertEqual(first.header("Cache-Status"), "strata; fwd=miss; stored")
        XCTAssertTrue(first.text.contains("Additional fortune added at request time."))
        let second = try get(port, "/fortunes/public")
        XCTAssertEqual(second.header("Cache-Status")?.hasPrefix("strata; hit"), true, second.header("Cache-Status") ?? "")
        XCTAssertEqual(second.body, first.body)
        // The same page declared private is each browser's own: never stored.
        let own = try get(port, "/fortunes")
        XCTAssertEqual(own.header("Cache-Control"), "private, no-cache")
        XCTAssertEqual(own.header("Cache-Status"), "strata; fwd=miss")
    }

    // MARK: Configuration errors

    func testAGatewayFileMistakeNamesTheFileAndLine() throws {
        let file = tiers.folder.path + "/gateway.conf"
        try "# routes\nproxy /ok/=http://127.0.0.1:9\n\nproxy /bad/=ftp://example\n".write(toFile: file, atomically: true, encoding: .utf8)
        let web = try tiers.start("strata-web", ["serve", "--port", "0", "--gateway", file])
        XCTAssertEqual(web.waitForExit(), 64)
        XCTAssertTrue(web.output.contains { $0.contains("gateway.conf:4:") && $0.contains("ftp://example") }, web.output.joined(separator: "\n"))
    }
}
