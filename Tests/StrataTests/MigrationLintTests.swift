import XCTest

@testable import StrataSQL

/// The migration linter's rules, the file directives that steer it, and the
/// statement splitter under it. No database: lint reads files only.
final class MigrationLintTests: XCTestCase {
    private func migration(_ body: String, file: String = "Migrations/0002_change.sql", header: String = "") throws -> Migration {
        try Migration(file: file, contents: header + "-- migrate:up\n" + body + "\n")
    }

    /// The rules `body` breaks, in order; `notes` (created by an earlier file) exists.
    private func rules(_ body: String, header: String = "") throws -> [LintRule] {
        let earlier = try Migration(file: "Migrations/0001_notes.sql", contents: "-- migrate:up\nCREATE TABLE notes (id BIGINT);")
        let findings = MigrationLint.findings(in: [try migration(body, header: header)])
        XCTAssertTrue(MigrationLint.findings(in: [earlier]).isEmpty)
        return findings.map(\.rule)
    }

    func testEachRuleFindsWhatItNamesOnAnExistingTable() throws {
        let lock = "SET lock_timeout = '5s';\n"
        XCTAssertEqual(try rules("CREATE INDEX notes_body ON notes (body);"), [.indexWithoutConcurrently])
        XCTAssertEqual(try rules("CREATE UNIQUE INDEX notes_body ON public.notes (body);"), [.indexWithoutConcurrently])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ADD COLUMN body TEXT NOT NULL;"), [.notNullWithoutDefault])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ADD COLUMN owner BIGINT REFERENCES users (id);"), [.constraintWithoutNotValid])
        XCTAssertEqual(
            try rules(lock + "ALTER TABLE notes ADD CONSTRAINT notes_owner FOREIGN KEY (owner) REFERENCES users (id);"), [.constraintWithoutNotValid])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ADD CONSTRAINT short CHECK (length(body) < 10);"), [.constraintWithoutNotValid])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ALTER COLUMN id TYPE TEXT;"), [.columnTypeChange])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ALTER COLUMN id SET DATA TYPE TEXT;"), [.columnTypeChange])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes DROP COLUMN body;"), [.dropColumn])
        XCTAssertEqual(try rules("DROP TABLE notes;"), [.dropTable])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes RENAME COLUMN body TO text;"), [.renameColumn])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes RENAME TO memos;"), [.renameTable])
        XCTAssertEqual(try rules("ALTER TABLE notes ADD COLUMN body TEXT;"), [.alterWithoutLockTimeout])
        XCTAssertEqual(try rules("VACUUM FULL notes;"), [.vacuumFull])
        XCTAssertEqual(try rules("CLUSTER notes USING notes_pkey;"), [.cluster])
        XCTAssertEqual(try rules("CREATE INDEX CONCURRENTLY notes_body ON notes (body);"), [.concurrentlyInTransaction])
        // Several actions in one statement: each is judged.
        XCTAssertEqual(
            try rules(lock + "ALTER TABLE notes DROP COLUMN a, ADD COLUMN b INT NOT NULL, ALTER COLUMN c TYPE TEXT;"),
            [.dropColumn, .notNullWithoutDefault, .columnTypeChange])
    }

    func testTheSafePatternsPass() throws {
        let lock = "SET lock_timeout = '5s';\n"
        XCTAssertEqual(try rules("CREATE INDEX CONCURRENTLY notes_body ON notes (body);", header: "-- strata:no-transaction\n"), [])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ADD COLUMN body TEXT NOT NULL DEFAULT '';"), [])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ADD COLUMN body TEXT;"), [])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ADD CONSTRAINT notes_owner FOREIGN KEY (owner) REFERENCES users (id) NOT VALID;"), [])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes VALIDATE CONSTRAINT notes_owner;"), [])
        XCTAssertEqual(try rules(lock + "ALTER TABLE notes ALTER COLUMN body DROP DEFAULT, ALTER COLUMN body SET DEFAULT 'x';"), [])
        XCTAssertEqual(try rules("VACUUM notes;"), [])
        // A table made in the same file is new and empty: no lock to fear.
        XCTAssertEqual(
            try rules("CREATE TABLE memos (id BIGINT);\nCREATE INDEX memos_id ON memos (id);\nALTER TABLE memos ADD COLUMN body TEXT NOT NULL;"), [])
        // Keywords inside literals, quoted names and comments are not statements.
        XCTAssertEqual(
            try rules(
                "INSERT INTO notes VALUES ('DROP TABLE notes; CLUSTER notes');\n-- VACUUM FULL notes;\n/* ALTER TABLE notes /* nested */ DROP COLUMN x; */\nSELECT $$ DROP TABLE notes; $$, $body$ CLUSTER notes $body$, $1;"
            ), [])
    }

    func testFindingsNameFileLineRiskAndTheSaferPattern() throws {
        let findings = MigrationLint.findings(in: [
            try Migration(
                file: "Migrations/0003_index.sql",
                contents:
                    "-- An index.\n-- migrate:up\nSELECT 1;\n\nCREATE INDEX\n  notes_body ON notes (body);\n-- migrate:up:postgres\nSELECT 1;\nDROP TABLE notes;\n"
            )
        ])
        // The PostgreSQL part is the one linted, at its own lines.
        XCTAssertEqual(findings.map(\.line), [9])
        XCTAssertEqual(findings.first?.rule, .dropTable)
        let text = findings.first?.description ?? ""
        XCTAssertTrue(text.hasPrefix("Migrations/0003_index.sql:9: drop-table: "), text)
        XCTAssertTrue(text.contains("instead: stop using the table"), text)
        let common = MigrationLint.findings(in: [try migration("SELECT 1;\n\nCREATE INDEX notes_body\n ON notes (body);")])
        XCTAssertEqual(common.map(\.line), [4])
    }

    func testAllowNeedsAKnownRuleAndAReasonAndLeavesTheChecksumAlone() throws {
        let plain = try migration("DROP TABLE notes;")
        let allowed = try migration("DROP TABLE notes;", header: "-- strata:allow drop-table the notes feature was removed in 2.0\n")
        XCTAssertEqual(allowed.checksum, plain.checksum, "allowing a finding does not change what an applied file ran")
        let finding = MigrationLint.findings(in: [allowed]).first
        XCTAssertEqual(finding?.allowedBecause, "the notes feature was removed in 2.0")
        XCTAssertTrue(finding?.description.contains("(allowed: the notes feature was removed in 2.0)") ?? false)
        XCTAssertThrowsError(try migration("SELECT 1;", header: "\n-- strata:allow drop-tables because\n")) {
            XCTAssertEqual(($0 as? MigrationError)?.line, 2)
            XCTAssertTrue("\($0)".contains("needs a rule, one of: index-without-concurrently"), "\($0)")
        }
        XCTAssertThrowsError(try migration("SELECT 1;", header: "-- strata:allow drop-table\n")) {
            XCTAssertEqual("\($0)", "Migrations/0002_change.sql:1: '-- strata:allow drop-table' needs a reason after the rule")
        }
        XCTAssertThrowsError(try migration("SELECT 1;", header: "-- strata:no-transactions\n")) {
            XCTAssertTrue("\($0)".contains(":1: unknown directive '-- strata:no-transactions'"), "\($0)")
        }
        XCTAssertTrue(try migration("SELECT 1;", header: "-- strata:no-transaction\n").runsOutsideTransaction)
    }

    func testRepeatableFilesHaveANameAndNoDownPart() throws {
        let view = try Migration(file: "Migrations/R_views.sql", contents: "-- migrate:up\nCREATE OR REPLACE VIEW v AS SELECT 1;\n")
        XCTAssertTrue(view.isRepeatable)
        XCTAssertEqual(view.name, "views")
        XCTAssertThrowsError(try Migration(file: "R_views.sql", contents: "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n")) {
            XCTAssertEqual(($0 as? MigrationError)?.line, 3)
        }
        XCTAssertThrowsError(try Migration(file: "R_.sql", contents: "-- migrate:up\nSELECT 1;\n"))
    }

    func testTheSplitterKeepsLinesAndEndsUnterminatedInput() {
        let statements = SQLWords.statements(in: "SELECT 'a;\nb';\n\nSELECT \"Odd\"\"Name\" FROM t;\nSELECT $x$ unterminated")
        XCTAssertEqual(statements.map(\.line), [1, 4, 5])
        XCTAssertEqual(statements[1].words, ["SELECT", "ODD\"NAME", "FROM", "T"])
        for text in ["'", "\"", "/*", "$$", "$a$ x $a", "--", ";;;", "$1$", "\u{FF}"] {
            _ = SQLWords.statements(in: text)  // ends, whatever the input
        }
    }
}
