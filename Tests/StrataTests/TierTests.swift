import StrataRPC
import StrataTemplates
import XCTest

@testable import StrataLauncher
@testable import StrataWeb

/// Small pure pieces of the tiers: redirect filling, error statuses, the
/// launcher's ready-line parsing, exit statuses.
final class TierTests: XCTestCase {
    func testRedirectTargetsAreFilledFromTheResultAndEncoded() {
        let result = TemplateValue.object(["id": .int(42), "slug": .string("a b/c")])
        XCTAssertEqual(WebApplication.fill("/notes/{id}#top", from: result), "/notes/42#top")
        XCTAssertEqual(WebApplication.fill("/n/{slug}", from: result), "/n/a%20b%2Fc")
        XCTAssertEqual(WebApplication.fill("/n/{missing}", from: result), "/n/")
        XCTAssertEqual(WebApplication.fill("/plain", from: result), "/plain")
    }

    func testEveryRPCCodeMapsToAnErrorStatus() {
        for code in RPCErrorCode.allCases {
            XCTAssertTrue((400...599).contains(ErrorMapping.status(for: code).code), "\(code)")
        }
    }

    func testTheCommonCodesMapAsDocumented() {
        XCTAssertEqual(ErrorMapping.status(for: .invalidArgument).code, 422)
        XCTAssertEqual(ErrorMapping.status(for: .notFound).code, 404)
        XCTAssertEqual(ErrorMapping.status(for: .alreadyExists).code, 409)
        XCTAssertEqual(ErrorMapping.status(for: .unavailable).code, 503)
        XCTAssertFalse(ErrorMapping.showsMessage(.internal))
        XCTAssertTrue(ErrorMapping.showsMessage(.invalidArgument))
    }

    func testLauncherReadsTheReadyAddress() {
        XCTAssertEqual(Stack.readyAddress("ts=1 level=info tier=data msg=ready listen=127.0.0.1:4242 database=sqlite:x"), "127.0.0.1:4242")
        XCTAssertNil(Stack.readyAddress("ts=1 level=info tier=data msg=stopping listen=127.0.0.1:1"))
        XCTAssertNil(Stack.readyAddress("msg=ready"))
    }

    func testExitStatusDecoding() {
        XCTAssertEqual(ExitStatus(waitStatus: 0).description, "exit status 0")
        XCTAssertEqual(ExitStatus(waitStatus: 3 << 8).description, "exit status 3")
        XCTAssertEqual(ExitStatus(waitStatus: 9).description, "signal 9")
        XCTAssertFalse(ExitStatus(waitStatus: 9).isSuccess)
    }
}
