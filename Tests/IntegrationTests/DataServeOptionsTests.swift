import Foundation
import StrataTestSupport
import XCTest

/// `strata-data serve`'s replica options as an operator meets them.
final class DataServeOptionsTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "data-serve-options-secret") }
    override func tearDown() { tiers.stop() }

    func testReplicasOnSQLiteAreRefusedWithTheReason() throws {
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let data = try tiers.start(
            "strata-data",
            ["serve", "--database", tiers.folder.path + "/app.db", "--replicas", "postgres://db2/app", "--migrations", migrations])
        XCTAssertEqual(data.waitForExit(), 64)
        XCTAssertTrue(data.output.contains { $0.contains("--replicas needs a postgres:// --database") }, data.output.joined(separator: "\n"))
    }

    /// The compose file sets STRATA_DATABASE_REPLICAS empty where there are no
    /// replicas: empty means none, on either engine.
    func testAnEmptyReplicaListMeansNone() throws {
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let migrate = try tiers.start("strata-data", ["migrate", "up", "--database", tiers.folder.path + "/app.db", "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        let data = try tiers.start(
            "strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", tiers.folder.path + "/app.db", "--migrations", migrations],
            environment: ["STRATA_DATABASE_REPLICAS": ""])
        XCTAssertFalse(try data.waitForReady().isEmpty)
    }
}
