import StrataIO
import Synchronization
import XCTest

@testable import StrataHTTP

/// The shared cache's rules (RFC 9111) in process, against a handler that
/// counts what reaches it.
final class HTTPCacheTests: XCTestCase {
    /// Answers with the headers the test sets, counting requests and remembering the last one.
    private final class Origin: HTTPHandler {
        let calls = Atomic<Int>(0)
        let headers: Mutex<[(String, String)]>
        let status: Mutex<Int>
        let lastRequest = Mutex<HTTPRequest?>(nil)

        init(_ headers: [(String, String)], status: Int = 200) {
            self.headers = Mutex(headers)
            self.status = Mutex(status)
        }

        func handle(_ request: HTTPRequest) -> HTTPOutcome {
            let call = calls.wrappingAdd(1, ordering: .relaxed).newValue
            lastRequest.withLock { $0 = request }
            let code = status.withLock { $0 }
            let response = HTTPResponse(
                status: HTTPStatus(code), headers: HTTPHeaders(headers.withLock { $0 }), body: code == 304 ? [] : Array("answer \(call)".utf8))
            return .later {
                try? await Task.sleep(for: .milliseconds(20))
                return response
            }
        }
    }

    private static let loop = EventLoop.start(name: "cache-test", busyPoll: .zero)

    private static func fetch(
        _ handler: CachingHandler, _ target: String, _ headers: [(String, String)] = [], method: HTTPMethod = .get
    ) async -> HTTPResponse {
        let request = HTTPRequest(method: method, target: target, headers: HTTPHeaders([("Host", "example.com")] + headers))
        // Handlers are called on an event loop, as the server calls them.
        let outcome = await withCheckedContinuation { continuation in Self.loop.execute { continuation.resume(returning: handler.handle(request)) } }
        switch outcome {
        case .response(let response): return response
        case .later(let work): return await work()
        case .onLoop(let start): return await HTTPResponder.await(on: Self.loop, start)
        }
    }

    private func get(_ handler: CachingHandler, _ target: String, _ headers: [(String, String)] = [], method: HTTPMethod = .get) async -> HTTPResponse
    {
        await Self.fetch(handler, target, headers, method: method)
    }

    private func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    func testFreshAnswersAreReusedWithAgeAndCacheStatus() async {
        let origin = Origin([("Cache-Control", "max-age=60")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        let first = await get(cache, "/a")
        XCTAssertEqual(first.headers["Cache-Status"], "strata; fwd=miss; stored")
        let second = await get(cache, "/a")
        XCTAssertEqual(text(second), "answer 1")
        XCTAssertEqual(second.headers["Age"], "0")
        XCTAssertEqual(second.headers["Cache-Status"], "strata; hit; ttl=60")
        let head = await get(cache, "/a", method: .head)
        XCTAssertEqual(head.body, [], "HEAD from the stored GET, without the body")
        XCTAssertEqual(head.headLength, 8)
        let answer1 = await get(cache, "/b")
        XCTAssertEqual(text(answer1), "answer 2", "another target is another key")
        XCTAssertEqual(origin.calls.load(ordering: .relaxed), 2)
    }

    func testWhatMayNotBeStoredIsNot() async {
        let refusals: [[(String, String)]] = [
            [("Cache-Control", "no-store, max-age=60")], [("Cache-Control", "private, max-age=60")], [],
            [("Cache-Control", "max-age=60"), ("Set-Cookie", "a=1")], [("Cache-Control", "max-age=60"), ("Vary", "*")],
        ]
        for headers in refusals {
            let origin = Origin(headers)
            let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
            _ = await get(cache, "/x")
            _ = await get(cache, "/x")
            XCTAssertEqual(origin.calls.load(ordering: .relaxed), 2, "\(headers)")
        }
        // A request's no-store, or a personal request with a merely cacheable answer, bypasses.
        let origin = Origin([("Cache-Control", "max-age=60")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        _ = await get(cache, "/x", [("Cache-Control", "no-store")])
        _ = await get(cache, "/x", [("Authorization", "Bearer t")])
        _ = await get(cache, "/x", [("Cookie", "s=1")])
        XCTAssertEqual(origin.calls.load(ordering: .relaxed), 3)
        // Explicitly public answers may serve personal requests.
        let shared = Origin([("Cache-Control", "public, max-age=60")])
        let publicCache = CachingHandler(cache: HTTPCache(), wrapping: shared)
        _ = await get(publicCache, "/p", [("Cookie", "s=1")])
        let answer2 = await get(publicCache, "/p", [("Authorization", "Bearer t")])
        XCTAssertEqual(text(answer2), "answer 1")
    }

    func testVariantsFollowVary() async {
        let origin = Origin([("Cache-Control", "max-age=60"), ("Vary", "Accept-Language")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        let answer3 = await get(cache, "/v", [("Accept-Language", "en")])
        XCTAssertEqual(text(answer3), "answer 1")
        let answer4 = await get(cache, "/v", [("Accept-Language", "fr")])
        XCTAssertEqual(text(answer4), "answer 2")
        let answer5 = await get(cache, "/v", [("Accept-Language", "en")])
        XCTAssertEqual(text(answer5), "answer 1")
        let answer6 = await get(cache, "/v", [("Accept-Language", "fr")])
        XCTAssertEqual(text(answer6), "answer 2")
        XCTAssertEqual(origin.calls.load(ordering: .relaxed), 2)
    }

    func testStaleAnswersAreRevalidatedWithTheirValidators() async {
        let origin = Origin([("Cache-Control", "max-age=0"), ("ETag", "\"v1\"")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        _ = await get(cache, "/r")
        origin.status.withLock { $0 = 304 }
        let revalidated = await get(cache, "/r")
        XCTAssertEqual(origin.lastRequest.withLock { $0?.headers["If-None-Match"] }, "\"v1\"")
        XCTAssertEqual(revalidated.status.code, 200)
        XCTAssertEqual(text(revalidated), "answer 1", "a 304 refreshes the stored body")
        XCTAssertEqual(revalidated.headers["Cache-Status"], "strata; fwd=stale; fwd-status=304")
        // The client's own conditional request is answered 304 from the cache.
        origin.headers.withLock { $0 = [("Cache-Control", "max-age=60"), ("ETag", "\"v1\"")] }
        _ = await get(cache, "/r")
        let notModified = await get(cache, "/r", [("If-None-Match", "\"v1\"")])
        XCTAssertEqual(notModified.status.code, 304)
    }

    func testStaleIfErrorServesTheOldAnswerWhenTheOriginFails() async {
        let origin = Origin([("Cache-Control", "max-age=0, stale-if-error=60"), ("ETag", "\"e\"")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        _ = await get(cache, "/e")
        origin.status.withLock { $0 = 502 }
        let answer = await get(cache, "/e")
        XCTAssertEqual(answer.status.code, 200)
        XCTAssertEqual(text(answer), "answer 1")
        XCTAssertEqual(answer.headers["Cache-Status"], "strata; fwd=stale; fwd-status=502; detail=stale-if-error")
    }

    func testAnUnsafeRequestInvalidatesItsTarget() async {
        let origin = Origin([("Cache-Control", "max-age=60")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        _ = await get(cache, "/u")
        _ = await get(cache, "/u", method: .post)
        let answer7 = await get(cache, "/u")
        XCTAssertEqual(text(answer7), "answer 3", "the POST made the stored answer stale")
    }

    func testSimultaneousMissesMakeOneRequest() async {
        let origin = Origin([("Cache-Control", "max-age=60")])
        let cache = CachingHandler(cache: HTTPCache(), wrapping: origin)
        let bodies = await withTaskGroup(of: String.self) { group in
            for _ in 0..<100 { group.addTask { String(decoding: await Self.fetch(cache, "/same").body, as: UTF8.self) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(Set(bodies), ["answer 1"])
        XCTAssertEqual(origin.calls.load(ordering: .relaxed), 1)
    }

    func testTheLeastRecentlyUsedEntriesGoFirstAndPurgeTakesPrefixes() {
        let cache = HTTPCache(capacity: 3_000, maxEntrySize: 1_500)
        func entry(_ size: Int) -> CacheEntry {
            CacheEntry(
                status: .ok, headers: HTTPHeaders(), body: [UInt8](repeating: 0, count: size), vary: [], storedAt: CacheEntry.now, initialAge: 0,
                freshnessLifetime: 60, control: CacheControl(), etag: nil, lastModified: nil, size: size)
        }
        let request = HTTPRequest(method: .get, target: "/")
        cache.store(entry(1_000), under: "/a")
        cache.store(entry(1_000), under: "/b")
        _ = cache.lookup("/a", for: request)
        cache.store(entry(1_000), under: "/c")
        cache.store(entry(1_000), under: "/d")
        XCTAssertNil(cache.lookup("/b", for: request), "the least recently used went first")
        XCTAssertNotNil(cache.lookup("/a", for: request))
        XCTAssertLessThanOrEqual(cache.usage.bytes, 3_000)
        cache.store(entry(2_000), under: "/too-big")
        XCTAssertNil(cache.lookup("/too-big", for: request))
        cache.store(entry(10), under: "/docs/1")
        cache.store(entry(10), under: "/docs/2")
        XCTAssertEqual(cache.purge("/docs/*"), 2)
        XCTAssertEqual(cache.purge("/a"), 1)
    }

    func testCacheControlDirectives() {
        let control = CacheControl(HTTPHeaders([("Cache-Control", "public, max-age=\"30\", s-maxage=60, stale-while-revalidate=5, FOO=bar")]))
        XCTAssertTrue(control.isPublic)
        XCTAssertEqual(control.maxAge, 30)
        XCTAssertEqual(control.sharedMaxAge, 60)
        XCTAssertEqual(control.staleWhileRevalidate, 5)
        XCTAssertTrue(CacheControl(HTTPHeaders([("Cache-Control", "max-age=soon")])).invalidMaxAge)
        let expires = HTTPResponse(status: .ok, headers: HTTPHeaders([("Expires", "not a date")]))
        XCTAssertNil(
            CachingHandler.storable(expires, for: HTTPRequest(method: .get, target: "/")),
            "an invalid Expires is already stale, with nothing to revalidate")
    }
}
