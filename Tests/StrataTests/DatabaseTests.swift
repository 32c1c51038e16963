import StrataIO
import StrataRPC
import XCTest

@testable import StrataApp

final class DatabaseTests: XCTestCase {
    func testACallerWithNoTimeLeftIsNotSentToTheDataTier() async throws {
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        // Nothing listens here: had the call been sent, it would fail as unavailable.
        let client = RPCClient(address: .tcp(host: "127.0.0.1", port: 1), group: group, callerName: "app", secret: Array("x".utf8))
        let database = Database(client: client, requestID: "r1", logger: .init(label: "test", level: .error), deadline: .now - .seconds(1))
        do {
            _ = try await database.query("SELECT 1", [])
            XCTFail("expected deadlineExceeded")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .deadlineExceeded)
        }
    }
}
