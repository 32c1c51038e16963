import StrataCore
import XCTest

@testable import StrataHTTP

final class RequestParserTests: XCTestCase {
    private func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) throws -> [HTTPRequest] {
        var parser = RequestParser(limits: limits)
        var buffer = ByteBuffer(bytes: Array(text.utf8))
        var requests: [HTTPRequest] = []
        while let request = try parser.next(from: &buffer) { requests.append(request) }
        return requests
    }

    private func assertRefused(_ text: String, _ code: Int, limits: HTTPLimits = HTTPLimits(), file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text, limits: limits), file: file, line: line) { error in
            guard let error = error as? HTTPParseError else { return XCTFail("not a parse error: \(error)", file: file, line: line) }
            XCTAssertEqual(error.status.code, code, "\(error.reason)", file: file, line: line)
        }
    }

    func testSimpleGet() throws {
        let requests = try parse("GET /a/b?x=1&y=two HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        XCTAssertEqual(requests.count, 1)
        let request = requests[0]
        XCTAssertEqual(request.method, .get)
        XCTAssertEqual(request.path, "/a/b")
        XCTAssertEqual(request.query, "x=1&y=two")
        XCTAssertEqual(request.queryParameters["y"], "two")
        XCTAssertEqual(request.headers["host"], "example.com")
        XCTAssertTrue(request.wantsKeepAlive)
    }

    func testPipelinedRequestsComeOutInOrderAndLeaveTheRestBuffered() throws {
        var parser = RequestParser()
        var buffer = ByteBuffer(
            bytes: Array("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHo".utf8))
        XCTAssertEqual(try parser.next(from: &buffer)?.path, "/1")
        let second = try parser.next(from: &buffer)
        XCTAssertEqual(second?.path, "/2")
        XCTAssertEqual(second?.body, Array("abc".utf8))
        XCTAssertNil(try parser.next(from: &buffer))
        buffer.write("st: h\r\n\r\n")
        XCTAssertEqual(try parser.next(from: &buffer)?.path, "/3")
    }

    func testByteByByteFeedingGivesTheSameRequest() throws {
        let text = "POST /form HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n"
        var parser = RequestParser()
        var buffer = ByteBuffer()
        var result: HTTPRequest?
        for byte in text.utf8 {
            buffer.write(byte: byte)
            if let request = try parser.next(from: &buffer) { result = request }
        }
        XCTAssertEqual(result.map { String(decoding: $0.body, as: UTF8.self) }, "Wikipedia")
        XCTAssertTrue(parser.isIdle)
    }

    func testChunkedBodyWithExtensionsAndTrailers() throws {
        let requests = try parse(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\na ; name=value\r\n0123456789\r\n0\r\nChecksum: x\r\n\r\n")
        XCTAssertEqual(String(decoding: requests[0].body, as: UTF8.self), "0123456789")
    }

    func testExpectContinueIsReportedWhileTheBodyIsAwaited() throws {
        var parser = RequestParser()
        var buffer = ByteBuffer(bytes: Array("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        XCTAssertNil(try parser.next(from: &buffer))
        XCTAssertTrue(parser.expectsContinue)
        buffer.write("ok")
        XCTAssertEqual(try parser.next(from: &buffer)?.body, Array("ok".utf8))
        XCTAssertFalse(parser.expectsContinue)
    }

    func testHTTP10KeepAliveRules() throws {
        XCTAssertFalse(try parse("GET / HTTP/1.0\r\n\r\n")[0].wantsKeepAlive)
        XCTAssertTrue(try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")[0].wantsKeepAlive)
        XCTAssertFalse(try parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")[0].wantsKeepAlive)
    }

    func testAbsoluteFormAndAsteriskForm() throws {
        let absolute = try parse("GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")[0]
        XCTAssertEqual(absolute.path, "/p")
        XCTAssertEqual(absolute.query, "q=1")
        XCTAssertEqual(try parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")[0].target, "*")
        assertRefused("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400)
    }

    func testLeadingEmptyLinesAreIgnored() throws {
        XCTAssertEqual(try parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").count, 1)
    }

    func testSmugglingVectorsAreRefused() {
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501)
        assertRefused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\nHost: h\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\nHost: h\u{0}\r\n\r\n", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400)
    }

    func testEquivalentDuplicateContentLengthIsAccepted() throws {
        let request = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")[0]
        XCTAssertEqual(request.body.count, 3)
    }

    func testHostRules() {
        assertRefused("GET / HTTP/1.1\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)
    }

    func testInvalidTokensAndVersions() {
        assertRefused("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\nBad\u{7F}Name: v\r\nHost: h\r\n\r\n", 400)
        assertRefused("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400)
        assertRefused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505)
        assertRefused("GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400)
        assertRefused("BREW / HTTP/1.1\r\nHost: h\r\n\r\n", 501)
        assertRefused("GET relative HTTP/1.1\r\nHost: h\r\n\r\n", 400)
        assertRefused("GET / HTTP/1.1\r\n: empty-name\r\nHost: h\r\n\r\n", 400)
    }

    func testLimits() {
        var limits = HTTPLimits()
        limits.maxRequestLineLength = 64
        limits.maxHeadSize = 256
        limits.maxHeaderCount = 3
        limits.maxBodySize = 10
        assertRefused("GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414, limits: limits)
        // A long request line still arriving is refused before it is complete.
        assertRefused("GET /" + String(repeating: "a", count: 100), 414, limits: limits)
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "v", count: 300) + "\r\n\r\n", 431, limits: limits)
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, limits: limits)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413, limits: limits)
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n", 413, limits: limits)
    }

    func testPerRouteBodyLimit() throws {
        var limits = HTTPLimits()
        limits.maxBodySize = 4
        limits.bodyLimit = { $0.path == "/upload" ? 8 : nil }
        XCTAssertEqual(try parse("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n12345678", limits: limits)[0].body.count, 8)
        assertRefused("POST /other HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n12345678", 413, limits: limits)
        assertRefused("POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n0\r\n\r\n", 413, limits: limits)
    }

    /// Random mutations of valid requests: the parser must answer each with a
    /// request, a need for more bytes, or an HTTPParseError; never trap or loop.
    /// Feeds `text` in pieces of `step` bytes to a parser streaming every
    /// body; returns the requests, what each body delivered, and how it ended.
    private func streamed(_ text: String, step: Int) throws -> [(HTTPRequest, [UInt8], String)] {
        var limits = HTTPLimits()
        limits.streamsBody = { _ in true }
        var parser = RequestParser(limits: limits)
        var buffer = ByteBuffer()
        var results: [(HTTPRequest, Box)] = []
        final class Box {
            var bytes: [UInt8] = []
            var ending = "open"
        }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            buffer.write(bytes[offset..<min(offset + step, bytes.count)])
            offset += step
            while true {
                if parser.streamingBody != nil {
                    try parser.pumpBody(from: &buffer)
                    if parser.streamingBody != nil { break }
                    continue
                }
                guard let request = try parser.next(from: &buffer) else { break }
                let box = Box()
                request.bodyStream?.read { event in
                    switch event {
                    case .bytes(let piece): box.bytes += piece
                    case .end: box.ending = "end"
                    case .failed(let status, _): box.ending = "failed \(status.code)"
                    }
                }
                results.append((request, box))
            }
        }
        return results.map { ($0.0, $0.1.bytes, $0.1.ending) }
    }

    func testStreamedBodiesArriveInPiecesAndThePipelinedRequestAfterThemParses() throws {
        let text =
            "PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
            + "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
            + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
        for step in [1, 7, 4096] {
            let results = try streamed(text, step: step)
            XCTAssertEqual(results.map(\.0.path), ["/a", "/b", "/c"], "step \(step)")
            XCTAssertEqual(results[0].0.bodyStream?.length, 11)
            XCTAssertEqual(String(decoding: results[0].1, as: UTF8.self), "hello world")
            XCTAssertEqual(results[0].2, "end")
            XCTAssertNil(results[1].0.bodyStream?.length, "chunked: no length")
            XCTAssertEqual(String(decoding: results[1].1, as: UTF8.self), "abcde")
            XCTAssertEqual(results[1].2, "end")
            XCTAssertTrue(results[0].0.body.isEmpty, "a streamed body is not also buffered")
            XCTAssertNil(results[2].0.bodyStream, "no body, nothing to stream")
        }
    }

    func testAStreamedBodyWithBrokenFramingFailsWithTheReason() throws {
        XCTAssertThrowsError(try streamed("POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n", step: 5)) { error in
            XCTAssertEqual((error as? HTTPParseError)?.status, .badRequest)
        }
        var limits = HTTPLimits()
        limits.streamsBody = { _ in true }
        limits.bodyLimit = { _ in 4 }
        var parser = RequestParser(limits: limits)
        var buffer = ByteBuffer(bytes: Array("POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n".utf8))
        let request = try XCTUnwrap(try parser.next(from: &buffer))
        var ending = ""
        request.bodyStream?.read { event in
            if case .failed(let status, let reason) = event { ending = "\(status.code) \(reason)" }
        }
        XCTAssertThrowsError(try parser.pumpBody(from: &buffer))
        XCTAssertEqual(ending, "413 body larger than 4 bytes", "the chunked limit holds for streamed bodies")
        XCTAssertNil(parser.streamingBody)
    }

    func testAStreamedBodyHoldsBackWhileItsConsumerIsPaused() throws {
        var limits = HTTPLimits()
        limits.streamsBody = { _ in true }
        var parser = RequestParser(limits: limits)
        let size = 4 * HTTPRequestBody.highWatermark
        var buffer = ByteBuffer(bytes: Array("PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: \(size)\r\n\r\n".utf8))
        let request = try XCTUnwrap(try parser.next(from: &buffer))
        let body = try XCTUnwrap(request.bodyStream)
        var delivered = 0
        body.read { event in
            if case .bytes(let piece) = event { delivered += piece.count }
        }
        body.pause()
        let piece = [UInt8](repeating: 1, count: 16 * 1024)
        var offered = 0
        // The server stops reading once the body wants no more bytes.
        while body.wantsBytes && offered < size {
            buffer.write(piece)
            offered += piece.count
            try parser.pumpBody(from: &buffer)
        }
        XCTAssertEqual(delivered, 0)
        XCTAssertLessThanOrEqual(offered, HTTPRequestBody.highWatermark, "reading stops at the high watermark")
        body.resume()
        XCTAssertEqual(delivered, offered, "what was held goes out on resume")
        XCTAssertTrue(body.wantsBytes)
    }

    func testMutatedInputNeverCrashes() {
        let seeds = [
            "GET /a?b=c HTTP/1.1\r\nHost: h\r\nCookie: x=y\r\n\r\n",
            "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e\r\nhello\r\n0\r\nT: v\r\n\r\n",
        ].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet = Array(" \r\n:;/\t\u{0}aZ09-,chunked".utf8) + [0x7F, 0xFF]
        for iteration in 0..<20_000 {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0...(rng.next() % 4) {
                let position = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[position] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: position)
                default: if bytes.count > 1 { bytes.remove(at: position) }
                }
            }
            var parser = RequestParser()
            var buffer = ByteBuffer(bytes: bytes)
            var steps = 0
            do {
                while try parser.next(from: &buffer) != nil {
                    steps += 1
                    XCTAssertLessThan(steps, 100, "parser loops on \(bytes)")
                    if steps >= 100 { break }
                }
            } catch {
                XCTAssertTrue((400...505).contains(error.status.code), "\(error)")
            }
        }
    }

    func testBareLineEndsAreRefusedAsSoonAsTheyArriveNotAtTheTimeout() {
        // Incomplete heads (no CRLF CRLF yet) must already be refused.
        assertRefused("GET / HTTP/1.1\nHost: h\n", 400)
        assertRefused("GET / HTTP/1.1\r\nHost: h\n", 400)
        assertRefused("GET / HTTP/1.1\rHost: h", 400)
        var parser = RequestParser()
        var buffer = ByteBuffer(bytes: Array("GET / HTTP/1.1\r".utf8))
        XCTAssertNil(try parser.next(from: &buffer), "a CR at the end of a read waits for its LF")
        buffer.write("\nHost: h\r\n\r\n")
        XCTAssertEqual(try parser.next(from: &buffer)?.path, "/")
    }

    func testHostValuesFollowTheURIGrammar() throws {
        for good in ["example.com", "example.com:8080", "127.0.0.1", "[::1]", "[::1]:80", "[v1.fe80::a+en1]", "a-b_c~d.example", "%41bc", ""] {
            XCTAssertNoThrow(try parse("GET / HTTP/1.1\r\nHost: \(good)\r\n\r\n"), good)
        }
        for bad in ["exa mple.com", "example.com:80x", "example.com:123456", "exa<mple", "a/b", "a@b", "[::1", "[zz]", ":80", "a%4", "é.example"] {
            assertRefused("GET / HTTP/1.1\r\nHost: \(bad)\r\n\r\n", 400)
        }
    }

    func testConnectIsNotImplementedAndLaterMinorVersionsAreHTTP11() throws {
        assertRefused("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501)
        XCTAssertEqual(try parse("GET / HTTP/1.5\r\nHost: h\r\n\r\n").first?.minorVersion, 1)
        assertRefused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505)
        assertRefused("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505)
    }
}

/// A small deterministic generator, so a failing mutation can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

}
