import Foundation
import StrataTestSupport
import XCTest

/// `strata-data migrate` as an operator runs it: the real executable against
/// a real PostgreSQL server (and SQLite where the engine does not matter).
final class MigrateCommandTests: XCTestCase {
    private var tiers: Tiers!
    private var server: PostgresServer?
    private var folder: String { tiers.folder.path + "/migrations" }

    override func setUpWithError() throws {
        tiers = try Tiers(secret: "integration-test-secret-0123456789")
        try FileManager.default.createDirectory(atPath: tiers.folder.path + "/migrations", withIntermediateDirectories: true)
        server = try PostgresServer.startIfAvailable()
    }

    override func tearDown() {
        tiers.stop()
        server?.stop()
    }

    private func write(_ name: String, _ contents: String) throws {
        try contents.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
    }

    /// Runs `strata-data migrate arguments` to its end: exit status and output lines.
    private func migrate(_ arguments: [String], database: String) throws -> (status: Int32?, output: [String]) {
        let process = try tiers.start("strata-data", ["migrate"] + arguments + ["--database", database, "--migrations", folder])
        let status = process.waitForExit(seconds: 60)
        return (status, process.output)
    }

    func testServerNoticesStayOffTheTerminalUnlessVerbose() throws {
        guard let server else { throw XCTSkip("needs PostgreSQL") }
        try write("0001_notes.sql", "-- migrate:up\nCREATE TABLE IF NOT EXISTS notes (body TEXT);\nDO $$ BEGIN RAISE NOTICE 'tidying up'; END $$;")
        try write("0002_fails.sql", "-- migrate:up\nSELECT no_such_function();")
        let quiet = try migrate(["up"], database: server.url)
        XCTAssertEqual(quiet.status, 1)
        let text = quiet.output.joined(separator: "\n")
        XCTAssertTrue(text.contains("applied 0001_notes"), text)
        XCTAssertTrue(text.contains("0002_fails.sql: failed and was rolled back"), text)
        // The failure's clean-up sends ROLLBACK twice ("there is no transaction in progress").
        for server in ["NOTICE", "WARNING", "tidying up", "no transaction in progress"] {
            XCTAssertFalse(text.contains(server), "'\(server)' reached the operator:\n\(text)")
        }
        try FileManager.default.removeItem(atPath: folder + "/0002_fails.sql")
        try write("0002_again.sql", "-- migrate:up\nCREATE TABLE IF NOT EXISTS notes (body TEXT);")
        let verbose = try migrate(["up", "--verbose"], database: server.url)
        XCTAssertEqual(verbose.status, 0, verbose.output.joined(separator: "\n"))
        XCTAssertTrue(
            verbose.output.contains { $0.hasPrefix("database: NOTICE:") && $0.contains("already exists, skipping") },
            verbose.output.joined(separator: "\n"))
    }

    func testUpLintsPendingFilesAndRefusesUntilAllowedOrOverridden() throws {
        let database = server?.url ?? tiers.folder.path + "/lint.db"
        try write("0001_notes.sql", "-- migrate:up\nCREATE TABLE notes (body TEXT);")
        XCTAssertEqual(try migrate(["up"], database: database).status, 0)
        try write("0002_index.sql", "-- A search index.\n-- migrate:up\nCREATE INDEX notes_body ON notes (body);")
        let refused = try migrate(["up"], database: database)
        XCTAssertEqual(refused.status, 1)
        let text = refused.output.joined(separator: "\n")
        XCTAssertTrue(text.contains("0002_index.sql:3: index-without-concurrently: "), text)
        XCTAssertTrue(text.contains("refusing to migrate: 1 lint finding(s)"), text)
        let status = try migrate(["status", "--json"], database: database)
        let rows = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(status.output.joined().utf8)) as? [[String: Any]], status.output.joined())
        XCTAssertNil(rows.last?["appliedAt"], "nothing applied after a refusal")

        let lint = try migrate(["lint", "--json"], database: database)
        XCTAssertEqual(lint.status, 1)
        let findings = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lint.output.joined().utf8)) as? [[String: Any]])
        XCTAssertEqual(findings.first?["rule"] as? String, "index-without-concurrently")
        XCTAssertEqual(findings.first?["line"] as? Int, 3)

        let plan = try migrate(["plan"], database: database).output.joined(separator: "\n")
        XCTAssertTrue(plan.contains("0002_index.sql  in a transaction  lint: 1 finding(s), 0 allowed"), plan)

        try write(
            "0002_index.sql",
            "-- A search index.\n-- strata:allow index-without-concurrently notes has a few hundred rows\n-- migrate:up\nCREATE INDEX notes_body ON notes (body);"
        )
        let allowed = try migrate(["up", "--json"], database: database)
        XCTAssertEqual(allowed.status, 0, allowed.output.joined(separator: "\n"))
        XCTAssertEqual(allowed.output.last, "[\"0002_index\"]")

        try write("0003_drop.sql", "-- migrate:up\nDROP TABLE notes;")
        let forced = try migrate(["up", "--no-lint"], database: database)
        XCTAssertEqual(forced.status, 0, forced.output.joined(separator: "\n"))
    }

    func testBaselineAndCreateSpeakJSON() throws {
        let database = tiers.folder.path + "/baseline.db"
        let created = try tiers.start("strata-data", ["migrate", "create", "add_notes", "--json", "--migrations", folder])
        XCTAssertEqual(created.waitForExit(), 0)
        XCTAssertEqual(created.output.last, "{\"created\":\"\(folder)/0001_add_notes.sql\"}")
        try write("0001_add_notes.sql", "-- migrate:up\nCREATE TABLE notes (body TEXT);")
        let baseline = try migrate(["baseline", "1", "--json"], database: database)
        XCTAssertEqual(baseline.status, 0, baseline.output.joined(separator: "\n"))
        XCTAssertEqual(baseline.output.last, "[1]")
        let again = try migrate(["baseline", "1"], database: database)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.output.joined().contains("already records applied migrations"), again.output.joined())
        let bad = try migrate(["baseline", "one"], database: database)
        XCTAssertEqual(bad.status, 64)
        let status = try migrate(["status"], database: database).output.joined(separator: "\n")
        XCTAssertTrue(status.contains("baselined"), status)
    }
}
