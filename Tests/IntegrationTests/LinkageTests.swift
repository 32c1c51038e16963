import Foundation
import StrataTestSupport
import XCTest

/// Each tier links only the C libraries it uses: the database drivers live
/// in the data tier alone, password hashing in the app tier alone.
final class LinkageTests: XCTestCase {
    private func libraries(of executable: String) throws -> Set<String> {
        let ldd = try TierProcess("/usr/bin/ldd", [TierProcess.buildFolder.appendingPathComponent(executable).path])
        XCTAssertEqual(ldd.waitForExit(), 0, ldd.output.joined(separator: "\n"))
        return Set(
            ldd.output.compactMap {
                $0.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map { String($0.split(separator: ".").first ?? $0) }
            })
    }

    func testTheDatabaseLibrariesAreLinkedByTheDataTierAlone() throws {
        let data = try libraries(of: "strata-data")
        XCTAssertTrue(data.isSuperset(of: ["libpq", "libsqlite3"]), "\(data)")
        let app = try libraries(of: "strata-app")
        XCTAssertTrue(app.isDisjoint(with: ["libpq", "libsqlite3"]), "\(app)")
        XCTAssertTrue(app.contains("libcrypt"), "\(app)")
        let web = try libraries(of: "strata-web")
        XCTAssertTrue(web.isDisjoint(with: ["libpq", "libsqlite3", "libcrypt"]), "\(web)")
    }
}
