import StrataTestSupport
import XCTest

@testable import StrataHTTP

#if canImport(Glibc)
    import Glibc
#endif

final class RoutingTests: XCTestCase {
    func testRouterMatchesLiteralsBeforeParametersAndCapturesDecodedValues() {
        var router = Router<String>()
        router.add(.get, "/tasks/:id", "show")
        router.add(.get, "/tasks/new", "new")
        router.add(.post, "/tasks", "create")
        router.add(.get, "/files/*path", "files")
        router.add(.get, "/", "home")

        guard case .found("new", _) = router.match(.get, path: "/tasks/new") else { return XCTFail() }
        guard case .found("show", let parameters) = router.match(.get, path: "/tasks/a%20b") else { return XCTFail() }
        XCTAssertEqual(parameters["id"], "a b")
        guard case .found("files", let rest) = router.match(.get, path: "/files/css/site.css") else { return XCTFail() }
        XCTAssertEqual(rest["path"], "css/site.css")
        guard case .found("home", _) = router.match(.head, path: "/") else { return XCTFail("HEAD should match GET") }
        guard case .methodNotAllowed(let allowed) = router.match(.delete, path: "/tasks") else { return XCTFail() }
        XCTAssertEqual(allowed, [.post])
        guard case .notFound = router.match(.get, path: "/nothing/here") else { return XCTFail() }
        guard case .notFound = router.match(.get, path: "/tasks/1/extra") else { return XCTFail() }
    }

    func testFormDecoding() throws {
        let pairs = try FormDecoding.decode("name=Ann+Lee&msg=caf%C3%A9%21&empty=&flag")
        XCTAssertEqual(pairs.map(\.0), ["name", "msg", "empty", "flag"])
        XCTAssertEqual(pairs.map(\.1), ["Ann Lee", "café!", "", ""])
        XCTAssertThrowsError(try FormDecoding.decode("a=%zz"))
        XCTAssertThrowsError(try FormDecoding.decode("a=%C3"))
        XCTAssertThrowsError(try FormDecoding.decode("a=%4"))
        XCTAssertEqual(FormDecoding.percentEncode("a b/ü"), "a%20b%2F%C3%BC")
    }

    func testMediaTypes() {
        XCTAssertEqual(MediaType.forPath("a/b.JS"), "text/javascript; charset=utf-8")
        XCTAssertEqual(MediaType.forPath("x.woff2"), "font/woff2")
        XCTAssertEqual(MediaType.forPath("noext"), "application/octet-stream")
    }
}
