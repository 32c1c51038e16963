import StrataIO
import StrataTestSupport
import XCTest

@testable import StrataHTTP

#if canImport(Glibc)
    import Glibc
#endif

final class CompressionTests: XCTestCase {
    private let html = Array(String(repeating: "<p>Hello, compressed world.</p>\n", count: 200).utf8)

    func testGzipRoundTripsAndAStreamDecodesToItsPieces() throws {
        XCTAssertEqual(Gzip.decompress(Gzip.compress(html)), html)
        XCTAssertEqual(Gzip.decompress(Gzip.compress([])), [])
        let stream = GzipStream()
        var out: [UInt8] = []
        var expected: [UInt8] = []
        for i in 0..<50 {
            let piece = Array("row \(i),\(String(repeating: "x", count: i))\n".utf8)
            expected += piece
            out += stream.compress(piece, flush: true)
        }
        out += stream.finish()
        XCTAssertEqual(Gzip.decompress(out), expected)
        XCTAssertEqual(Array(out.prefix(2)), [0x1F, 0x8B], "a gzip member")
        XCTAssertNil(Gzip.decompress(Array("not gzip".utf8)))
        XCTAssertNil(Gzip.decompress(Array(Gzip.compress(html).dropLast(4))), "a truncated member is refused")
    }

    func testAcceptEncodingQualities() {
        XCTAssertTrue(ContentCoding.acceptsGzip("gzip, deflate, br"))
        XCTAssertTrue(ContentCoding.acceptsGzip("br;q=1.0, gzip;q=0.8"))
        XCTAssertTrue(ContentCoding.acceptsGzip("*"))
        XCTAssertFalse(ContentCoding.acceptsGzip("gzip;q=0"))
        XCTAssertFalse(ContentCoding.acceptsGzip("*, gzip;q=0"))
        XCTAssertFalse(ContentCoding.acceptsGzip("identity"))
        XCTAssertFalse(ContentCoding.acceptsGzip(nil))
        XCTAssertTrue(ContentCoding.accepts("br", "br, *;q=0.5"))
        XCTAssertTrue(ContentCoding.accepts("gzip", "br, *;q=0.5"))
        XCTAssertFalse(ContentCoding.accepts("br", "br;q=0, *"), "named with q=0 beats the wildcard")
        // Found by the fuzzer (two readers disagreed; there is one now), and more odd lists.
        for (header, expected) in [
            ("br;q=0, gzip;q=0.50 *", false), ("gzip, gzip;q=0", true), ("gzip;q=0, gzip", false), ("x-gzip", true),
            ("gzip;q=0, x-gzip", false), ("*;q=0", false), (", ,gzip", true), ("GZIP;Q=1", true),
        ] {
            XCTAssertEqual(ContentCoding.accepts("gzip", header), expected, header)
        }
        XCTAssertFalse(ContentCoding.acceptsGzip("gzip;q=0.50 *"), "an unreadable quality refuses")
        XCTAssertTrue(ContentCoding.acceptsGzip("gzip, gzip;q=0"), "the first mention counts")
    }

    private func finish(_ response: HTTPResponse, acceptEncoding: String? = "gzip") -> HTTPResponse {
        var response = response
        var headers = HTTPHeaders([("Host", "h")])
        if let acceptEncoding { headers.add("Accept-Encoding", acceptEncoding) }
        CompressionMiddleware().finish(HTTPRequest(method: .get, target: "/", headers: headers), &response)
        return response
    }

    func testDynamicResponsesAreCompressedOnlyWhenTheyShouldBe() {
        let page = finish(.html(html))
        XCTAssertEqual(page.headers["Content-Encoding"], "gzip")
        XCTAssertEqual(page.headers["Vary"], "Accept-Encoding")
        XCTAssertEqual(Gzip.decompress(page.body), html)
        XCTAssertLessThan(page.body.count, html.count / 4)

        let refused = finish(.html(html), acceptEncoding: "identity")
        XCTAssertNil(refused.headers["Content-Encoding"])
        XCTAssertEqual(refused.headers["Vary"], "Accept-Encoding", "a cache must know the answer varies")
        XCTAssertEqual(refused.body, html)

        XCTAssertNil(finish(.html(Array(html.prefix(500)))).headers["Content-Encoding"], "tiny bodies stay as they are")
        var image = HTTPResponse(headers: HTTPHeaders([("Content-Type", "image/png")]), body: html)
        XCTAssertNil(finish(image).headers["Content-Encoding"], "images are compressed already")
        var noTransform = HTTPResponse.html(html)
        noTransform.headers.add("Cache-Control", "private, no-transform")
        XCTAssertNil(finish(noTransform).headers["Content-Encoding"])
        var encoded = HTTPResponse.html(html)
        encoded.headers.add("Content-Encoding", "br")
        XCTAssertEqual(finish(encoded).body, html, "already encoded")
        var tagged = HTTPResponse.html(html)
        tagged.headers.add("ETag", #""v1""#)
        XCTAssertNil(finish(tagged).headers["Content-Encoding"], "a tagged representation is the handler's to choose")
        var varied = HTTPResponse.html(html)
        varied.headers.add("Vary", "Cookie")
        XCTAssertEqual(finish(varied).headers["Vary"], "Cookie, Accept-Encoding")
        image.status = .notModified
        XCTAssertNil(finish(image).headers["Vary"])
    }

    func testStreamedBodiesAreCompressedAsTheyArrive() async throws {
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let rows = (0..<300).map { "row \($0): \(String(repeating: "data ", count: 10))\n" }
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0)), group: group,
            handler: MiddlewareChain(
                [CompressionMiddleware()],
                handler: AsyncHTTPHandler { _ in
                    var response = HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/csv")]))
                    response.stream = HTTPBodyStream { body in for row in rows { try await body.write(Array(row.utf8)) } }
                    return response
                }))
        let port = try server.start().port ?? 0
        let client = try TestHTTPClient(port: port)
        try client.send("GET /export HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        let raw = try client.readToEnd()
        let text = String(decoding: raw, as: UTF8.self)
        XCTAssertTrue(text.contains("Content-Encoding: gzip"), text.prefix(300).description)
        XCTAssertTrue(text.contains("Transfer-Encoding: chunked"))
        // De-chunk, then gunzip.
        let headEnd = try XCTUnwrap(text.range(of: "\r\n\r\n")).upperBound.utf16Offset(in: text)
        var rest = Array(raw[headEnd...])
        var body: [UInt8] = []
        while let lineEnd = rest.firstIndex(of: 13) {
            let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            body += rest[(lineEnd + 2)..<(lineEnd + 2 + size)]
            rest = Array(rest[(lineEnd + 4 + size)...])
        }
        XCTAssertEqual(Gzip.decompress(body).map { String(decoding: $0, as: UTF8.self) }, rows.joined())
        await server.shutdown(grace: .seconds(1))
    }

    func testStaticTextGetsACachedGzipRepresentationWithItsOwnTagRangesAnd304s() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let css = String(repeating: ".rule { color: #123456; margin: 0 auto; }\n", count: 100)
        try css.write(to: folder.url.appendingPathComponent("site.css"), atomically: true, encoding: .utf8)
        try String(repeating: "x", count: 2000).write(to: folder.url.appendingPathComponent("photo.png"), atomically: true, encoding: .utf8)
        let files = try StaticFiles(root: folder.path)
        func get(_ path: String, _ headers: [(String, String)]) -> HTTPResponse {
            files.response(for: path, request: HTTPRequest(method: .get, target: "/static/" + path, headers: HTTPHeaders([("Host", "h")] + headers)))!
        }
        let identity = get("site.css", [])
        let gzipped = get("site.css", [("Accept-Encoding", "gzip, br")])
        XCTAssertNil(identity.headers["Content-Encoding"])
        XCTAssertEqual(gzipped.headers["Content-Encoding"], "gzip")
        XCTAssertEqual(identity.headers["Vary"], "Accept-Encoding")
        XCTAssertEqual(gzipped.headers["Vary"], "Accept-Encoding")
        XCTAssertEqual(Gzip.decompress(gzipped.body).map { String(decoding: $0, as: UTF8.self) }, css)
        let identityTag = try XCTUnwrap(identity.headers["ETag"]), gzipTag = try XCTUnwrap(gzipped.headers["ETag"])
        XCTAssertNotEqual(identityTag, gzipTag, "each representation has its own strong tag")
        XCTAssertFalse(gzipTag.hasPrefix("W/"))
        // 304 only for the tag of the representation selected.
        XCTAssertEqual(get("site.css", [("Accept-Encoding", "gzip"), ("If-None-Match", gzipTag)]).status.code, 304)
        XCTAssertEqual(get("site.css", [("Accept-Encoding", "gzip"), ("If-None-Match", identityTag)]).status.code, 200)
        XCTAssertEqual(get("site.css", [("If-None-Match", identityTag)]).status.code, 304)
        // A range is of the selected representation's bytes.
        let range = get("site.css", [("Accept-Encoding", "gzip"), ("Range", "bytes=0-9")])
        XCTAssertEqual(range.status.code, 206)
        XCTAssertEqual(range.body, Array(gzipped.body.prefix(10)))
        XCTAssertEqual(range.headers["Content-Range"], "bytes 0-9/\(gzipped.body.count)")
        // Not for images.
        XCTAssertNil(get("photo.png", [("Accept-Encoding", "gzip")]).headers["Content-Encoding"])
        // A changed file is compressed again (the cache re-checks once a second).
        let changed = String(repeating: ".other { padding: 1px; }\n", count: 80)
        try changed.write(to: folder.url.appendingPathComponent("site.css"), atomically: true, encoding: .utf8)
        usleep(1_100_000)
        let fresh = get("site.css", [("Accept-Encoding", "gzip")])
        XCTAssertEqual(Gzip.decompress(fresh.body).map { String(decoding: $0, as: UTF8.self) }, changed)
        XCTAssertNotEqual(fresh.headers["ETag"], gzipTag)
    }
}
