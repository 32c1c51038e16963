import StrataCore
import XCTest

@testable import StrataHTTP

/// What upstream servers send, parsed strictly: proxied HTTP answers,
/// FastCGI records and CGI header blocks, good and malformed.
final class UpstreamParsingTests: XCTestCase {
    /// Parses `text` as the answer to `method`, fed one byte at a time when `bytewise`.
    private func parse(_ text: String, method: HTTPMethod = .get, bytewise: Bool = false, closeAtEnd: Bool = false) throws -> (ExchangeHead, String) {
        var codec = HTTPExchangeCodec(request: HTTPRequest(method: method, target: "/"), target: "/", host: .pass, trusted: false)
        var buffer = ByteBuffer()
        var body: [UInt8] = []
        var complete = false
        for piece in bytewise ? Array(text.utf8).map { [$0] } : [Array(text.utf8)] {
            buffer.write(piece)
            complete = try codec.read(&buffer, body: &body)
        }
        if !complete {
            guard closeAtEnd else { throw UpstreamError(.closed, "incomplete") }
            try codec.inputEnded()
        }
        return (try XCTUnwrap(codec.head), String(decoding: body, as: UTF8.self))
    }

    func testWellFormedAnswersParseWhateverTheirPieces() throws {
        for bytewise in [false, true] {
            let (head, body) = try parse("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A:  spaced  \r\n\r\nhello", bytewise: bytewise)
            XCTAssertEqual(head.status.code, 201)
            XCTAssertEqual(head.headers["X-A"], "spaced")
            XCTAssertNil(head.headers["Content-Length"], "the server writes its own length")
            XCTAssertEqual(body, "hello")

            let chunked = try parse(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
                bytewise: bytewise)
            XCTAssertEqual(chunked.1, "hello world")
            XCTAssertNil(chunked.0.headers["Transfer-Encoding"], "hop-by-hop")
        }
        let interim = try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(interim.0.status.code, 204, "1xx answers are skipped")
        let closeDelimited = try parse("HTTP/1.0 200 OK\r\n\r\nuntil the end", closeAtEnd: true)
        XCTAssertEqual(closeDelimited.1, "until the end")
        let head = try parse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", method: .head)
        XCTAssertEqual(head.0.headLength, 1234, "a HEAD answer keeps the length a GET would get")
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab").1, "ab", "a list of one length")
        XCTAssertEqual(try parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n").1, "", "no body after 304")
    }

    func testMalformedAnswersAreRefused() {
        let malformed = [
            "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 099 Low\r\n\r\n",
            "HTTP/1.1 200OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: a\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\u{0}b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
        ]
        for text in malformed {
            XCTAssertThrowsError(try parse(text, closeAtEnd: true), text.debugDescription) { error in
                XCTAssertEqual((error as? UpstreamError)?.kind, .malformed, text.debugDescription)
            }
        }
        let huge = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 70_000)
        XCTAssertThrowsError(try parse(huge), "a head over 64 KiB is refused before its end arrives")
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", closeAtEnd: true)) { error in
            XCTAssertEqual((error as? UpstreamError)?.kind, .closed)
        }
    }

    func testHopByHopFieldsIncludingThoseConnectionNamesAreRemoved() {
        let headers = HTTPHeaders([
            ("Connection", "X-One, x-two"), ("X-One", "1"), ("X-Two", "2"), ("Keep-Alive", "5"), ("Upgrade", "h2c"), ("TE", "trailers"),
            ("Proxy-Authorization", "secret"), ("X-Three", "3"),
        ])
        let kept = HopByHop.strip(headers)
        XCTAssertEqual(kept.map(\.name), ["X-Three"])
    }

    func testForwardedElementsQuoteWhatNeedsIt() {
        XCTAssertEqual(
            ForwardedRequest.forwardedElement(client: "192.0.2.1", proto: "https", host: "example.com"), "for=192.0.2.1;proto=https;host=example.com")
        XCTAssertEqual(
            ForwardedRequest.forwardedElement(client: "::1", proto: "http", host: "[::1]:8080"), "for=\"[::1]\";proto=http;host=\"[::1]:8080\"")
    }

    // MARK: FastCGI

    func testFastCGIRecordsAndPairsRoundTrip() throws {
        let long = String(repeating: "v", count: 300)
        let pairs = [("SCRIPT_NAME", "/x.php"), ("EMPTY", ""), ("LONG", long), (String(repeating: "n", count: 200), "short")]
        let encoded = FastCGIRecord.encodePairs(pairs)
        XCTAssertEqual(try FastCGIRecord.decodePairs(encoded).map { [$0.0, $0.1] }, pairs.map { [$0.0, $0.1] })
        var out: [UInt8] = []
        FastCGIRecord.writeStream(.stdin, requestID: 1, [UInt8](repeating: 7, count: 70_000), to: &out)
        var buffer = ByteBuffer(bytes: out)
        var records: [FastCGIRecord] = []
        while let record = try FastCGIRecord.read(from: &buffer) { records.append(record) }
        XCTAssertEqual(records.map(\.content.count), [65_535, 4_465, 0], "split at the 65,535-byte limit, then the empty record")
        XCTAssertEqual(out.count % 8, 0, "records are padded to 8 bytes")
        XCTAssertThrowsError(try FastCGIRecord.decodePairs([5, 1, 65]), "a length past the end")
        XCTAssertThrowsError(try FastCGIRecord.decodePairs([0x80, 0, 0]), "a four-byte length cut short")
    }

    private func fastCGIAnswer(_ records: [(FastCGIRecord.Kind, [UInt8])]) throws -> (ExchangeHead?, String, Bool) {
        var out: [UInt8] = []
        for (kind, content) in records { FastCGIRecord(kind: kind, requestID: 1, content: content).write(to: &out) }
        var codec = FastCGIExchangeCodec(params: [], body: [])
        var body: [UInt8] = []
        var complete = false
        var buffer = ByteBuffer()
        for byte in out {
            buffer.write([byte])
            complete = try codec.read(&buffer, body: &body)
        }
        return (codec.head, String(decoding: body, as: UTF8.self), complete)
    }

    func testFastCGIAnswersParseAndBrokenOnesAreRefused() throws {
        let ended: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
        let (head, body, complete) = try fastCGIAnswer([
            (.stdout, Array("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nmis".utf8)), (.stderr, Array("log".utf8)),
            (.stdout, Array("sing".utf8)), (.stdout, []), (.endRequest, ended),
        ])
        XCTAssertEqual(head?.status.code, 404)
        XCTAssertEqual(body, "missing")
        XCTAssertTrue(complete)

        XCTAssertThrowsError(try fastCGIAnswer([(.stdout, Array("no block".utf8)), (.endRequest, ended)]), "ended before its header block")
        XCTAssertThrowsError(try fastCGIAnswer([(.endRequest, [0, 0, 0, 0, 2, 0, 0, 0])])) { error in
            XCTAssertEqual((error as? UpstreamError)?.kind, .unavailable, "overloaded: 503")
        }
        XCTAssertThrowsError(try fastCGIAnswer([(.getValuesResult, [])]), "a record type a responder never sends")
        var wrongVersion = ByteBuffer(bytes: [2, 6, 0, 1, 0, 0, 0, 0])
        XCTAssertThrowsError(try FastCGIRecord.read(from: &wrongVersion))
        var wrongID: [UInt8] = []
        FastCGIRecord(kind: .stdout, requestID: 9, content: []).write(to: &wrongID)
        var codec = FastCGIExchangeCodec(params: [], body: [])
        var buffer = ByteBuffer(bytes: wrongID)
        var sink: [UInt8] = []
        XCTAssertThrowsError(try codec.read(&buffer, body: &sink), "a request id that was never sent")
    }

    // MARK: CGI

    func testCGIHeaderBlocks() throws {
        let output = Array("Content-Type: text/plain\nStatus: 418 Teapot\n\nbody".utf8)
        let (head, start) = try XCTUnwrap(try CGIResponseParser.parse(output))
        XCTAssertEqual(head.status.code, 418)
        XCTAssertEqual(head.status.reason, "Teapot")
        XCTAssertEqual(String(decoding: output[start...], as: UTF8.self), "body")
        let local = try XCTUnwrap(try CGIResponseParser.parse(Array("Location: /other?x=1\r\n\r\n".utf8))).0
        XCTAssertEqual(local.localRedirect, "/other?x=1")
        let client = try XCTUnwrap(try CGIResponseParser.parse(Array("Location: https://example.com/\n\n".utf8))).0
        XCTAssertEqual(client.status.code, 302)
        XCTAssertNil(client.localRedirect)
        XCTAssertNil(try CGIResponseParser.parse(Array("Content-Type: text/plain\n".utf8)), "the block has not ended yet")
        for bad in [
            "X-Only: 1\n\n", "Status: abc\n\n", "Status: 99 Low\n\n", "Content-Type text/plain\n\n", "Content-Type: a\u{1}b\n\n",
            "Status: 200\nStatus: 201\n\n",
        ] {
            XCTAssertThrowsError(try CGIResponseParser.parse(Array(bad.utf8)), bad.debugDescription)
        }
    }

    func testCGIMetaVariablesLeaveOutCredentialsAndAmbiguousNames() {
        var request = HTTPRequest(
            method: .post, target: "/cgi/x.py/a%20b?q=1",
            headers: HTTPHeaders([
                ("Host", "example.com:8443"), ("Content-Type", "text/plain"), ("Content-Length", "3"), ("Authorization", "Bearer t"),
                ("Proxy", "http://evil"), ("X_Forwarded", "u"), ("Accept", "a"), ("accept", "b"), ("Cookie", "a=1"), ("Cookie", "b=2"),
            ]), body: Array("abc".utf8), remoteAddress: "192.0.2.9:5555")
        request.isSecure = true
        let script = CGIEnvironment.Script(name: "/cgi/x.py", pathInfo: "/a%20b", filename: "/srv/cgi/x.py", root: "/srv/cgi")
        let variables = Dictionary(CGIEnvironment.variables(for: request, script: script, fastCGI: true), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(variables["SERVER_NAME"], "example.com")
        XCTAssertEqual(variables["SERVER_PORT"], "8443")
        XCTAssertEqual(variables["PATH_INFO"], "/a b")
        XCTAssertEqual(variables["PATH_TRANSLATED"], "/srv/cgi/a b")
        XCTAssertEqual(variables["CONTENT_LENGTH"], "3")
        XCTAssertEqual(variables["AUTH_TYPE"], "Bearer")
        XCTAssertEqual(variables["REMOTE_ADDR"], "192.0.2.9")
        XCTAssertEqual(variables["REMOTE_PORT"], "5555")
        XCTAssertEqual(variables["HTTPS"], "on")
        XCTAssertEqual(variables["SCRIPT_FILENAME"], "/srv/cgi/x.py")
        XCTAssertEqual(variables["HTTP_ACCEPT"], "a, b")
        XCTAssertEqual(variables["HTTP_COOKIE"], "a=1; b=2")
        XCTAssertNil(variables["HTTP_AUTHORIZATION"])
        XCTAssertNil(variables["HTTP_PROXY"])
        XCTAssertNil(variables["HTTP_X_FORWARDED"])
        XCTAssertNil(variables["HTTP_CONTENT_LENGTH"])
    }

    // MARK: Routes

    func testRouteSpecificationsAndTheirMistakes() throws {
        let route = try ProxyRoute(
            parsing: "/api/=http://10.0.0.1:9000/v2/,http://10.0.0.2/v2/;balance=round-robin;timeout=2.5;health=/up;health-interval=1")
        XCTAssertEqual(route.upstreams.map(\.description), ["10.0.0.1:9000", "10.0.0.2:80"])
        XCTAssertEqual(route.upstreamTarget(for: "/api/users?id=1"), "/v2/users?id=1")
        XCTAssertEqual(route.balancing, .roundRobin)
        XCTAssertEqual(route.settings.responseTimeout, .milliseconds(2500))
        XCTAssertEqual(route.healthCheck?.path, "/up")
        XCTAssertEqual(try ProxyRoute(parsing: "/=unix:/run/app.sock").upstreamTarget(for: "/x"), "/x")
        let mistakes = [
            "api/=http://a:1", "/a/=ftp://a:1", "/a/=", "/a/=http://a:1/x,http://b:1/y", "/a/=http://a:1;balance=random",
            "/a/=http://a:1;timeout=-1", "/a/=http://a:1;health=up", "/a/=http://a:1;health-interval=2", "/a/=http://a:1;frobnicate=1",
            "/a/=http://a:99999",
        ]
        for text in mistakes { XCTAssertThrowsError(try ProxyRoute(parsing: text), text) }
    }

    func testGatewayDotSegmentsAreDetectedEncodedOrNot() {
        for path in ["/a/../b", "/a/./b", "/a/%2e%2E/b", "/a/%2E", "/a/.."] { XCTAssertTrue(Gateway.hasDotSegment(path), path) }
        for path in ["/a/b", "/a/..b", "/a/.hidden", "/a/b.c"] { XCTAssertFalse(Gateway.hasDotSegment(path), path) }
    }
}
