import StrataProtocol
import StrataRPC
import StrataTemplates
import XCTest

@testable import StrataLauncher
@testable import StrataWeb

/// Small pure pieces of the tiers: redirect targets, error statuses, the
/// launcher's ready-line parsing, exit statuses.
final class TierTests: XCTestCase {
    func testOnlyPathsOnThisSiteAreRedirectTargets() {
        for local in ["/", "/tasks/4#comments", "/search?q=a%20b"] { XCTAssertTrue(FormOutcome.isLocal(local), local) }
        for foreign in ["", "tasks", "//evil.example/", "https://evil.example/", "/\\evil.example", "/a\r\nSet-Cookie: x=1", "/a\u{7F}"] {
            XCTAssertFalse(FormOutcome.isLocal(foreign), foreign)
        }
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
