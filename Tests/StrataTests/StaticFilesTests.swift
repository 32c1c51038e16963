import StrataIO
import StrataTestSupport
import XCTest

@testable import StrataHTTP

#if canImport(Glibc)
    import Glibc
#endif

final class StaticFilesTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var root: URL!
    private var files: StaticFiles!
    private let css = "body { color: black; }\n"

    override func setUpWithError() throws {
        folder = try TemporaryFolder()
        root = folder.url.appendingPathComponent("public")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("css"), withIntermediateDirectories: true)
        try css.write(to: root.appendingPathComponent("css/site.css"), atomically: true, encoding: .utf8)
        try "0123456789".write(to: root.appendingPathComponent("digits.txt"), atomically: true, encoding: .utf8)
        try "secret".write(to: folder.url.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try "hidden".write(to: root.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        symlink(folder.url.appendingPathComponent("secret.txt").path, root.appendingPathComponent("link.txt").path)
        files = try StaticFiles(root: root.path)
    }

    override func tearDown() { folder.remove() }

    private func get(_ path: String, _ headers: [(String, String)] = []) -> HTTPResponse? {
        files.response(for: path, request: HTTPRequest(method: .get, target: "/static/" + path, headers: HTTPHeaders(headers)))
    }

    func testServesWithTypeValidatorsAndARevalidatingPolicy() throws {
        let response = try XCTUnwrap(get("css/site.css"))
        XCTAssertEqual(response.status.code, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), css)
        XCTAssertEqual(response.headers["Content-Type"], "text/css; charset=utf-8")
        XCTAssertEqual(response.headers["Cache-Control"], "no-cache")
        XCTAssertTrue(response.headers["ETag"]?.hasPrefix("\"") ?? false, "strong ETag")
        XCTAssertNotNil(response.headers["Last-Modified"].flatMap(HTTPDate.parse))
        XCTAssertNotNil(get("css%2Fsite.css"))
    }

    func testNothingOutsideTheRootOrHiddenIsServed() {
        for attack in [
            "../secret.txt", "css/../../secret.txt", "%2e%2e/secret.txt", "css%2F..%2F..%2Fsecret.txt",
            "link.txt", "css/site.css%00.png", "..\\secret.txt", "css", "", "%zz", ".env", "css/.%2e/.env", "%2eenv",
        ] {
            XCTAssertNil(get(attack), "served \(attack)")
        }
        XCTAssertThrowsError(try StaticFiles(root: folder.url.appendingPathComponent("missing").path))
    }

    func testConditionalRequestsAnswer304() throws {
        let first = try XCTUnwrap(get("css/site.css"))
        let etag = try XCTUnwrap(first.headers["ETag"])
        let modified = try XCTUnwrap(first.headers["Last-Modified"])
        XCTAssertEqual(get("css/site.css", [("If-None-Match", etag)])?.status.code, 304)
        XCTAssertEqual(get("css/site.css", [("If-None-Match", "\"other\", W/\(etag)")])?.status.code, 304, "list and weak comparison")
        XCTAssertEqual(get("css/site.css", [("If-None-Match", "*")])?.status.code, 304)
        XCTAssertEqual(get("css/site.css", [("If-None-Match", "\"other\"")])?.status.code, 200)
        XCTAssertTrue(get("css/site.css", [("If-None-Match", etag)])?.body.isEmpty ?? false)
        XCTAssertEqual(get("css/site.css", [("If-Modified-Since", modified)])?.status.code, 304)
        XCTAssertEqual(get("css/site.css", [("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")])?.status.code, 200)
        XCTAssertEqual(get("css/site.css", [("If-Modified-Since", "yesterday")])?.status.code, 200)
        // If-None-Match wins over If-Modified-Since.
        XCTAssertEqual(get("css/site.css", [("If-None-Match", "\"other\""), ("If-Modified-Since", modified)])?.status.code, 200)
    }

    func testRanges() throws {
        func range(_ value: String, _ extra: [(String, String)] = []) -> (Int, String, String?) {
            let response = get("digits.txt", [("Range", value)] + extra)!
            return (response.status.code, String(decoding: response.body, as: UTF8.self), response.headers["Content-Range"])
        }
        XCTAssertTrue(range("bytes=2-4") == (206, "234", "bytes 2-4/10"))
        XCTAssertTrue(range("bytes=7-") == (206, "789", "bytes 7-9/10"))
        XCTAssertTrue(range("bytes=-3") == (206, "789", "bytes 7-9/10"), "suffix range is the last N bytes")
        XCTAssertTrue(range("bytes=-30") == (206, "0123456789", "bytes 0-9/10"))
        XCTAssertTrue(range("bytes=5-100") == (206, "56789", "bytes 5-9/10"))
        XCTAssertTrue(range("bytes=10-") == (416, "", "bytes */10"))
        XCTAssertTrue(range("bytes=-0") == (416, "", "bytes */10"))
        XCTAssertEqual(range("bytes=0-1,4-5").0, 200, "several ranges: whole file")
        XCTAssertEqual(range("bytes=4-2").0, 200)
        XCTAssertEqual(range("items=0-1").0, 200)
        XCTAssertEqual(range("bytes=x-1").0, 200)
        let etag = get("digits.txt")!.headers["ETag"]!
        XCTAssertEqual(range("bytes=0-0", [("If-Range", etag)]).0, 206)
        XCTAssertEqual(range("bytes=0-0", [("If-Range", "\"stale\"")]).0, 200)
    }

    func testPrecompressedSiblingsFollowAcceptEncoding() throws {
        try "gzipped".write(to: root.appendingPathComponent("css/site.css.gz"), atomically: true, encoding: .utf8)
        try "brotli".write(to: root.appendingPathComponent("css/site.css.br"), atomically: true, encoding: .utf8)
        let fresh = try StaticFiles(root: root.path)
        func get(_ accept: String?) -> HTTPResponse {
            fresh.response(
                for: "css/site.css",
                request: HTTPRequest(method: .get, target: "/", headers: HTTPHeaders(accept.map { [("Accept-Encoding", $0)] } ?? [])))!
        }
        let br = get("gzip, deflate, br")
        XCTAssertEqual(br.headers["Content-Encoding"], "br")
        XCTAssertEqual(String(decoding: br.body, as: UTF8.self), "brotli")
        XCTAssertEqual(br.headers["Vary"], "Accept-Encoding")
        XCTAssertEqual(br.headers["Content-Type"], "text/css; charset=utf-8")
        XCTAssertEqual(get("gzip").headers["Content-Encoding"], "gzip")
        XCTAssertEqual(get("br;q=0, gzip;q=0.5").headers["Content-Encoding"], "gzip")
        let plain = get(nil)
        XCTAssertNil(plain.headers["Content-Encoding"])
        XCTAssertEqual(plain.headers["Vary"], "Accept-Encoding")
        XCTAssertNotEqual(br.headers["ETag"], plain.headers["ETag"], "each representation has its own tag")
    }

    func testFingerprintedURLsAreImmutableAndChangeWithTheContent() throws {
        let url = files.url(for: "css/site.css")
        XCTAssertTrue(url.hasPrefix("/static/css/site."))
        XCTAssertTrue(url.hasSuffix(".css"))
        let fingerprinted = String(url.dropFirst("/static/".count))
        let response = try XCTUnwrap(get(fingerprinted))
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), css)
        XCTAssertEqual(response.headers["Cache-Control"], "public, max-age=31536000, immutable")
        XCTAssertNil(get("css/site.0000000000.css"), "a stale fingerprint is not served")
        XCTAssertEqual(files.url(for: "missing.js"), "/static/missing.js")
        XCTAssertEqual(StaticFiles.fingerprinted("a/b.min.js", "0123456789"), "a/b.min.0123456789.js")
        XCTAssertTrue(StaticFiles.splitFingerprint("a/b.min.0123456789.js")! == ("a/b.min.js", "0123456789"))
    }

    func testAChangedFileIsNoticed() throws {
        let before = try XCTUnwrap(get("digits.txt"))
        sleep(1)  // the metadata cache re-checks once a second
        try "changed".write(to: root.appendingPathComponent("digits.txt"), atomically: true, encoding: .utf8)
        sleep(1)
        let after = try XCTUnwrap(get("digits.txt"))
        XCTAssertEqual(String(decoding: after.body, as: UTF8.self), "changed")
        XCTAssertNotEqual(before.headers["ETag"], after.headers["ETag"])
    }
}

final class LargeStaticFileTests: XCTestCase {
    func testLargeFilesAndTheirRangesGoOutWithSendfile() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var content = [UInt8](repeating: 0, count: StaticFiles.maxCachedSize + 100_000)
        for i in content.indices { content[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i / 251) }
        try Data(content).write(to: folder.url.appendingPathComponent("big.bin"))
        try Data().write(to: folder.url.appendingPathComponent("empty.txt"))
        let files = try StaticFiles(root: folder.path)

        let whole = try XCTUnwrap(files.response(for: "big.bin", request: HTTPRequest(method: .get, target: "/")))
        XCTAssertTrue(whole.body.isEmpty)
        XCTAssertEqual(whole.file?.count, Int64(content.count))
        let empty = try XCTUnwrap(files.response(for: "empty.txt", request: HTTPRequest(method: .get, target: "/")))
        XCTAssertEqual(empty.status.code, 200)
        XCTAssertNil(empty.file)

        let group = EventLoopGroup(loopCount: 1)
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0)), group: group,
            handler: StaticHandler(files: files))
        let port = try server.start().port ?? 0
        let client = try TestHTTPClient(port: port)
        let response = try client.request("GET", "/big.bin")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, content)
        let range = try client.request("GET", "/big.bin", headers: [("Range", "bytes=-1000")])
        XCTAssertEqual(range.status, 206)
        XCTAssertEqual(range.body, Array(content.suffix(1000)))
        let head = try client.request("HEAD", "/big.bin", expectBody: false)
        XCTAssertEqual(head.header("Content-Length"), String(content.count))
        XCTAssertEqual(try client.request("GET", "/empty.txt").body, [])
        await server.shutdown(grace: .seconds(1))
        group.shutdown()
    }

    private struct StaticHandler: HTTPHandler {
        let files: StaticFiles
        func handle(_ request: HTTPRequest) -> HTTPOutcome {
            .response(files.response(for: String(request.path.dropFirst()), request: request) ?? .text("missing", status: .notFound))
        }
    }
}

final class PreconditionTests: XCTestCase {
    private func request(_ headers: [(String, String)], method: HTTPMethod = .get) -> HTTPRequest {
        HTTPRequest(method: method, target: "/x", headers: HTTPHeaders([("Host", "h")] + headers))
    }

    func testTheOrderOfRFC9110() {
        let etag = #""abc""#
        let modified = 1_000_000
        let later = "Sun, 06 Nov 1994 08:49:37 GMT"  // after `modified` (1970-01-12)
        XCTAssertEqual(Preconditions.evaluate(request([]), etag: etag, lastModified: modified), .proceed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Match", #""x", "abc""#)]), etag: etag, lastModified: modified), .proceed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Match", #""x""#)]), etag: etag, lastModified: modified), .failed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Match", #"W/"abc""#)]), etag: etag, lastModified: modified), .failed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Match", "*")]), etag: nil, lastModified: nil), .proceed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Match", "*")]), etag: nil, lastModified: nil, exists: false), .failed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Match", "not a tag")]), etag: etag, lastModified: modified), .failed)
        // If-Unmodified-Since only counts without If-Match.
        XCTAssertEqual(
            Preconditions.evaluate(request([("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:01 GMT")]), etag: etag, lastModified: modified), .failed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Unmodified-Since", later)]), etag: etag, lastModified: modified), .proceed)
        XCTAssertEqual(
            Preconditions.evaluate(
                request([("If-Match", etag), ("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:01 GMT")]),
                etag: etag, lastModified: modified), .proceed)
        // If-None-Match: 304 for GET, 412 for unsafe methods; weak comparison.
        XCTAssertEqual(Preconditions.evaluate(request([("If-None-Match", #"W/"abc""#)]), etag: etag, lastModified: modified), .notModified)
        XCTAssertEqual(Preconditions.evaluate(request([("If-None-Match", "*")], method: .put), etag: etag, lastModified: modified), .failed)
        XCTAssertEqual(Preconditions.evaluate(request([("If-None-Match", "*")], method: .put), etag: nil, lastModified: nil, exists: false), .proceed)
        XCTAssertEqual(
            Preconditions.evaluate(request([("If-None-Match", #""other""#), ("If-Modified-Since", later)]), etag: etag, lastModified: modified),
            .proceed, "If-Modified-Since is ignored when If-None-Match is present")
        XCTAssertEqual(Preconditions.evaluate(request([("If-Modified-Since", later)]), etag: etag, lastModified: 100), .notModified)
        XCTAssertEqual(Preconditions.evaluate(request([("If-Modified-Since", later)], method: .post), etag: etag, lastModified: 100), .proceed)
    }

    func testEntityTagListsMayHoldCommasInsideTags() {
        XCTAssertEqual(Preconditions.entityTags(#""a,b", W/"c" ,"d""#), [#""a,b""#, #"W/"c""#, #""d""#])
        XCTAssertNil(Preconditions.entityTags(#""unterminated"#))
        XCTAssertNil(Preconditions.entityTags(#"bare"#))
        XCTAssertNil(Preconditions.entityTags(#""a"b"#))
    }
}

final class SharedFileTests: XCTestCase {
    func testMidSizeFilesGoOutFromADescriptorTheCacheKeepsOpen() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let content = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(content).write(to: folder.url.appendingPathComponent("data.bin"))
        let files = try StaticFiles(root: folder.path, urlPrefix: "/")
        let direct = try XCTUnwrap(files.response(for: "data.bin", request: HTTPRequest(method: .get, target: "/data.bin")))
        XCTAssertNotNil(direct.file?.open, "sent from the cached descriptor")
        XCTAssertTrue(direct.body.isEmpty, "not kept in memory")

        let group = EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let server = HTTPServer(configuration: HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0)), group: group) { request in
            files.response(for: String(request.path.dropFirst()), request: request) ?? .text("missing", status: .notFound)
        }
        let port = try server.start().port ?? 0
        let client = try TestHTTPClient(port: port)
        for _ in 0..<3 {
            // The same descriptor serves every request: sendfile takes its own offset.
            XCTAssertEqual(try client.request("GET", "/data.bin").body, content)
        }
        let range = try client.request("GET", "/data.bin", headers: [("Range", "bytes=50000-50099")])
        XCTAssertEqual(range.status, 206)
        XCTAssertEqual(range.body, Array(content[50_000..<50_100]))
        let other = try TestHTTPClient(port: port)
        XCTAssertEqual(try other.request("GET", "/data.bin").body, content, "and connections on the other loop")
        await server.shutdown(grace: .seconds(1))
    }

    func testOnTheLoopsAMissIsRememberedForTheSecondOnlyAndFingerprintedURLsResolve() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try "body { }\n".write(to: folder.url.appendingPathComponent("site.css"), atomically: true, encoding: .utf8)
        let files = try StaticFiles(root: folder.path, urlPrefix: "/")
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = HTTPServer(configuration: HTTPServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0)), group: group) { request in
            files.response(for: String(request.path.dropFirst()), request: request) ?? .text("missing", status: .notFound)
        }
        let port = try server.start().port ?? 0
        let client = try TestHTTPClient(port: port)
        let fingerprinted = files.url(for: "site.css")
        for _ in 0..<3 { XCTAssertEqual(try client.request("GET", fingerprinted).text, "body { }\n", fingerprinted) }
        XCTAssertEqual(try client.request("GET", "/later.css").status, 404)
        try "p { }\n".write(to: folder.url.appendingPathComponent("later.css"), atomically: true, encoding: .utf8)
        usleep(1_100_000)
        XCTAssertEqual(try client.request("GET", "/later.css").text, "p { }\n", "a file that appeared is found once the second has passed")
        await server.shutdown(grace: .seconds(1))
    }
}
