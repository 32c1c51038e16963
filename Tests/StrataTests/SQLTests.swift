import StrataProtocol
import StrataRPC
import StrataTestSupport
import XCTest

@testable import StrataSQL

final class SQLiteTests: XCTestCase {
    private var folder: TemporaryFolder!
    private var connection: SQLiteConnection!

    override func setUpWithError() throws {
        folder = try TemporaryFolder()
        connection = try SQLiteConnection(path: folder.path + "/test.db")
        try connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, photo BLOB, active INTEGER)")
    }

    override func tearDown() {
        connection = nil
        folder.remove()
    }

    struct Person: Decodable, Equatable {
        let id: Int64
        let name: String
        let score: Double?
        let photo: [UInt8]?
        let active: Bool
    }

    func testParametersBindEveryTypeAndRowsDecodeByColumnName() throws {
        let inserted = try connection.run(
            "INSERT INTO people (name, score, photo, active) VALUES ($1, $2, $3, $4)",
            [.text("Ann 'quoted'"), .double(9.5), .blob([0, 1, 255]), .bool(true)])
        XCTAssertEqual(inserted.rowsAffected, 1)
        XCTAssertEqual(inserted.lastInsertID, 1)
        _ = try connection.run("INSERT INTO people (name, score, photo, active) VALUES ($1, $2, $3, $4)", [.text("Bo"), .null, .null, .int(0)])
        let result = try connection.query("SELECT id, name, score, photo, active FROM people WHERE id >= $1 ORDER BY id", [.int(1)])
        XCTAssertEqual(result.columns, ["id", "name", "score", "photo", "active"])
        let people = try RowDecoder().decode(Person.self, from: result)
        XCTAssertEqual(
            people,
            [
                Person(id: 1, name: "Ann 'quoted'", score: 9.5, photo: [0, 1, 255], active: true),
                Person(id: 2, name: "Bo", score: nil, photo: nil, active: false),
            ])
    }

    func testPlaceholdersMayRepeatAndComeInAnyOrderButNotInsideLiterals() throws {
        XCTAssertEqual(PlaceholderRewriter.sqlite("SELECT $2, '$1', \"$1\", $1 -- $3\n, $10"), "SELECT ?2, '$1', \"$1\", ?1 -- $3\n, ?10")
        let result = try connection.query("SELECT $2 AS b, $1 AS a, $2 AS b2, '$1' AS literal", [.text("one"), .text("two")])
        XCTAssertEqual(result.rows[0], [.text("two"), .text("one"), .text("two"), .text("$1")])
    }

    func testErrorsAreClassified() throws {
        _ = try connection.run("INSERT INTO people (name) VALUES ($1)", [.text("Ann")])
        XCTAssertThrowsError(try connection.run("INSERT INTO people (name) VALUES ($1)", [.text("Ann")])) {
            XCTAssertEqual(($0 as? SQLError)?.kind, .uniqueViolation)
        }
        XCTAssertThrowsError(try connection.run("INSERT INTO people (name) VALUES ($1)", [.null])) {
            XCTAssertEqual(($0 as? SQLError)?.kind, .notNullViolation)
        }
        XCTAssertThrowsError(try connection.query("SELEC nonsense", [])) {
            XCTAssertEqual(($0 as? SQLError)?.kind, .syntax)
        }
        XCTAssertThrowsError(try connection.query("SELECT $1", [])) {
            XCTAssertTrue("\($0)".contains("expects 1 parameters, got 0"))
        }
    }

    func testDecodingMismatchNamesTheColumn() throws {
        _ = try connection.run("INSERT INTO people (name, active) VALUES ($1, $2)", [.text("Ann"), .int(1)])
        struct Wrong: Decodable { let name: Int }
        XCTAssertThrowsError(try RowDecoder().decode(Wrong.self, from: connection.query("SELECT name FROM people", []))) {
            XCTAssertEqual("\($0)", "column 'name' holds text, expected Int")
        }
        struct Missing: Decodable { let nickname: String }
        XCTAssertThrowsError(try RowDecoder().decode(Missing.self, from: connection.query("SELECT name FROM people", []))) {
            XCTAssertTrue("\($0)".contains("no column 'nickname'"))
        }
    }

    func testSQLValueWireFormatKeepsTypesApart() throws {
        let values: [SQLValue] = [.null, .int(Int64.max), .double(1.0), .text("1"), .blob([0xDE, 0xAD]), .bool(false)]
        let data = try JSONEncoder().encode(values)
        XCTAssertEqual(String(decoding: data, as: UTF8.self), #"[null,{"i":9223372036854775807},{"d":1},{"t":"1"},{"x":"dead"},{"b":false}]"#)
        XCTAssertEqual(try JSONDecoder().decode([SQLValue].self, from: data), values)
        XCTAssertThrowsError(try JSONDecoder().decode(SQLValue.self, from: Data(#"{"x":"abc"}"#.utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(SQLValue.self, from: Data(#"{"i":1,"t":"a"}"#.utf8)))
    }

    func testSQLValuesTravelAsTaggedScalarsInTheBinaryEncoding() throws {
        let values: [SQLValue] = [
            .null, .int(Int64.min), .int(-1), .double(1.0), .double(-0.5), .text("1"), .text(""),
            .blob([]), .blob([0xDE, 0xAD]), .bool(false), .bool(true), .timestamp(-1), .timestamp(1_700_000_000_000_000),
        ]
        let encoded = try RPCCodec.encode(values)
        XCTAssertEqual(try RPCCodec.decode([SQLValue].self, from: encoded), values)
        // One tag per value, no keys: an int is tag 0x03 and its zigzag varint.
        XCTAssertEqual(try RPCCodec.encode(SQLValue.int(1)), [0x03, 0x02])
        XCTAssertEqual(try RPCCodec.encode(SQLValue.text("a")), [0x06, 0x01, 0x61])
        // Inside other types too, and a composite where a value belongs is refused.
        let result = QueryResult(columns: ["id", "at"], rows: [[.int(7), .timestamp(42)], [.null, .blob([1])]])
        XCTAssertEqual(try RPCCodec.decode(QueryResult.self, from: try RPCCodec.encode(result)), result)
        XCTAssertThrowsError(try RPCCodec.decode(SQLValue.self, from: try RPCCodec.encode([1, 2])))
        // Query results decode in one pass, and refuse shapes they cannot take.
        struct Columns: Codable { var columns: [String] }
        struct NestedRows: Codable { var columns: [String]; var rows: [[[Int]]] }
        XCTAssertThrowsError(try RPCCodec.decode(QueryResult.self, from: try RPCCodec.encode(Columns(columns: ["a"]))))
        XCTAssertThrowsError(try RPCCodec.decode(QueryResult.self, from: try RPCCodec.encode(NestedRows(columns: ["a"], rows: [[[1]]]))))
        XCTAssertThrowsError(try RPCCodec.decode(QueryResult.self, from: try RPCCodec.encode([1])))
        XCTAssertEqual(
            try RPCCodec.decode(QueryResult.self, from: try RPCCodec.encode(QueryResult(columns: [], rows: []))), QueryResult(columns: [], rows: []))
        // Statements too, with and without a transaction, in a batch as well; JSON keeps the Codable form.
        let statements = [SQLStatement("SELECT $1", [.int(1), .null, .text("x")]), SQLStatement("UPDATE t SET a = 1", [], transaction: "tok")]
        XCTAssertEqual(try RPCCodec.decode([SQLStatement].self, from: try RPCCodec.encode(statements)), statements)
        XCTAssertEqual(try RPCCodec.decode(SQLBatch.self, from: try RPCCodec.encode(SQLBatch(statements))).statements, statements)
        XCTAssertEqual(try RPCCodec.decode(SQLStatement.self, from: try RPCCodec.encode(statements[1], as: .json), as: .json), statements[1])
        struct NoParameters: Codable { var sql: String }
        XCTAssertThrowsError(try RPCCodec.decode(SQLStatement.self, from: try RPCCodec.encode(NoParameters(sql: "SELECT 1"))))
        // Written in one pass, they are the bytes the Codable path writes for the same shape,
        // so another language's reader needs no special case; unknown keys are skipped.
        struct PlainStatement: Codable { var sql: String; var parameters: [Int]; var transaction: String }
        XCTAssertEqual(
            try RPCCodec.encode(SQLStatement("SELECT $1", [.int(5)], transaction: "t")),
            try RPCCodec.encode(PlainStatement(sql: "SELECT $1", parameters: [5], transaction: "t")))
        struct PlainResult: Codable { var columns: [String]; var rows: [[Int]] }
        XCTAssertEqual(
            try RPCCodec.encode(QueryResult(columns: ["a"], rows: [[.int(1)], [.int(2)]])),
            try RPCCodec.encode(PlainResult(columns: ["a"], rows: [[1], [2]])))
        struct Extra: Codable { var note: [String: [Int]]; var sql: String; var parameters: [Int] }
        XCTAssertEqual(
            try RPCCodec.decode(SQLStatement.self, from: try RPCCodec.encode(Extra(note: ["x": [1]], sql: "SELECT 1", parameters: []))),
            SQLStatement("SELECT 1"))
    }

    func testMutatedStatementsAndResultsAreRefusedWithoutTrapping() throws {
        var generator = SystemRandomNumberGenerator()
        let bodies = [
            try RPCCodec.encode(
                QueryResult(columns: ["id", "name"], rows: [[.int(7), .text("Zoë")], [.null, .blob([1, 2])], [.double(1.5), .timestamp(-3)]])),
            try RPCCodec.encode(
                SQLBatch([SQLStatement("SELECT $1, $2", [.int(1), .bool(true)], transaction: "tok"), SQLStatement("DELETE FROM t")])),
        ]
        var refused = 0
        for body in bodies {
            for _ in 0..<3_000 {
                var bytes = body
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if Bool.random(using: &generator) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator)) }
                do {
                    _ = try RPCCodec.decode(QueryResult.self, from: bytes)
                    _ = try RPCCodec.decode(SQLBatch.self, from: bytes)
                } catch {
                    XCTAssertEqual(error.code, .invalidArgument)
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testDatabaseURLParsingAndRedaction() throws {
        XCTAssertEqual(try DatabaseURL(parsing: "data/app.db"), .sqlite(path: "data/app.db"))
        XCTAssertEqual(try DatabaseURL(parsing: "sqlite:/tmp/x.db"), .sqlite(path: "/tmp/x.db"))
        XCTAssertEqual("\(try DatabaseURL(parsing: "postgres://me:secret@db:5432/app"))", "postgres://me:***@db:5432/app")
        XCTAssertThrowsError(try DatabaseURL(parsing: "mysql://x"))
        XCTAssertThrowsError(try DatabaseURL(parsing: "sqlite:"))
    }

    func testAsyncDatabaseRunsOffTheCaller() async throws {
        let database = try SQLiteDatabase(path: folder.path + "/async.db")
        _ = try await database.run("CREATE TABLE t (v TEXT)", [])
        _ = try await database.run("INSERT INTO t VALUES ($1)", [.text("x")])
        let result = try await database.query("SELECT v FROM t", [])
        XCTAssertEqual(result.rows, [[.text("x")]])
    }
}

final class SQLTimestampTests: XCTestCase {
    func testFormatAndParse() throws {
        XCTAssertEqual(SQLTimestamp.format(1_700_000_000_123_456), "2023-11-14T22:13:20.123456Z")
        XCTAssertEqual(SQLTimestamp.format(-1), "1969-12-31T23:59:59.999999Z")
        XCTAssertEqual(SQLTimestamp.parse("2023-11-14T22:13:20.123456Z"), 1_700_000_000_123_456)
        XCTAssertEqual(SQLTimestamp.parse("2023-11-14 22:13:20.12+00"), 1_700_000_000_120_000)
        XCTAssertEqual(SQLTimestamp.parse("2023-11-15 00:13:20+02:00"), 1_700_000_000_000_000)
        XCTAssertEqual(SQLTimestamp.parse("2023-11-14 22:13:20"), 1_700_000_000_000_000)
        for bad in ["", "2023-13-01T00:00:00Z", "2023-11-14T22:13", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20Zjunk", "yyyy-mm-ddThh:mm:ssZ"] {
            XCTAssertNil(SQLTimestamp.parse(bad), bad)
        }
    }

    func testSQLiteStoresTimestampsAsSortableTextAndRowsDecodeDates() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let connection = try SQLiteConnection(path: folder.path + "/t.db")
        try connection.execute("CREATE TABLE events (at TEXT NOT NULL)")
        _ = try connection.run("INSERT INTO events VALUES ($1), ($2)", [.timestamp(2_000_000), .timestamp(-1_000_000)])
        let result = try connection.query("SELECT at FROM events ORDER BY at", [])
        XCTAssertEqual(result.rows, [[.text("1969-12-31T23:59:59.000000Z")], [.text("1970-01-01T00:00:02.000000Z")]])
        struct Event: Decodable { let at: Date }
        let events = try RowDecoder().decode(Event.self, from: result)
        XCTAssertEqual(events.map(\.at.timeIntervalSince1970), [-1, 2])
    }
}

final class SQLStatementTests: XCTestCase {
    func testOnlyPlainSelectsCountAsReads() {
        for read in ["SELECT 1", "  (select x FROM t)", "Select\n1", "select", "\tSELECT*FROM t"] {
            XCTAssertTrue(SQLStatement.isPlainSelect(read), read)
        }
        for write in ["selection", "INSERT INTO t VALUES (1) RETURNING id", "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "", "sel"] {
            XCTAssertFalse(SQLStatement.isPlainSelect(write), write)
        }
    }
}

final class SQLiteTransactionTests: XCTestCase {
    func testAStatementWaitingForATransactionCanGiveUp() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = try SQLiteDatabase(path: folder.path + "/t.db")
        _ = try await database.run("CREATE TABLE t (x INTEGER)", [])
        let transaction = try await database.begin(isolation: .serializable)
        _ = try await transaction.run("INSERT INTO t VALUES (1)", [])
        let waiting = Task { try await database.run("INSERT INTO t VALUES (2)", []) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        do {
            _ = try await waiting.value
            XCTFail("the cancelled statement ran inside someone else's transaction")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .busy)
        }
        await transaction.rollback()
        _ = try await database.run("INSERT INTO t VALUES (3)", [])
        let rows = try await database.query("SELECT x FROM t", [])
        XCTAssertEqual(rows.rows, [[.int(3)]], "the rolled-back and the cancelled inserts left nothing")
    }
}

final class MigrationTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder.remove() }

    private func write(_ name: String, _ contents: String) throws {
        try contents.write(toFile: folder.path + "/" + name, atomically: true, encoding: .utf8)
    }

    func testParsesUpAndDown() throws {
        let migration = try Migration(
            file: "Migrations/0007_add_notes.sql",
            contents: "-- a comment\n-- migrate:up\nCREATE TABLE n (id INTEGER);\n-- migrate:down\nDROP TABLE n;\n")
        XCTAssertEqual(migration.version, 7)
        XCTAssertEqual(migration.name, "add_notes")
        XCTAssertEqual(migration.up, "CREATE TABLE n (id INTEGER);")
        XCTAssertEqual(migration.down, "DROP TABLE n;")
        XCTAssertEqual(migration.checksum.count, 64)
    }

    func testMalformedFilesNameFileAndLine() throws {
        func message(_ name: String, _ contents: String) -> String {
            do {
                _ = try Migration(file: name, contents: contents)
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(message("M/0001_x.sql", "CREATE TABLE a (b);\n-- migrate:up\nx"), "M/0001_x.sql:1: SQL before the '-- migrate:up' marker")
        let variants = try Migration(
            file: "M/0002_v.sql", contents: "-- migrate:up\ncommon\n-- migrate:up:postgres\npg only\n-- migrate:down\ndrop\n")
        XCTAssertEqual(variants.up(for: .sqlite), "common")
        XCTAssertEqual(variants.up(for: .postgres), "pg only")
        XCTAssertEqual(variants.down(for: .postgres), "drop")
        XCTAssertEqual(
            message("M/0001_x.sql", "-- migrate:up\nx\n-- migrate:sideways\n"),
            "M/0001_x.sql:3: unknown directive '-- migrate:sideways' (expected '-- migrate:up' or '-- migrate:down', optionally followed by ':sqlite' or ':postgres')"
        )
        XCTAssertEqual(
            message("M/0001_x.sql", "-- migrate:up:postgres\nx"), "M/0001_x.sql:1: '-- migrate:up:postgres' before the common '-- migrate:up'")
        XCTAssertEqual(
            message("M/0001_x.sql", "-- migrate:up\na\n-- migrate:up:postgres\nb\n-- migrate:up:postgres\nc"),
            "M/0001_x.sql:5: second '-- migrate:up:postgres' marker")
        XCTAssertEqual(message("M/0001_x.sql", "-- migrate:down\nx"), "M/0001_x.sql:1: '-- migrate:down' before any '-- migrate:up'")
        XCTAssertEqual(message("M/0001_x.sql", "-- migrate:up\na\n-- migrate:up\nb"), "M/0001_x.sql:3: second '-- migrate:up' marker")
        XCTAssertEqual(message("M/0001_x.sql", "-- migrate:up\n\n-- migrate:down\nx"), "M/0001_x.sql: the up part is empty")
        XCTAssertEqual(message("M/0001_x.sql", "nothing"), "M/0001_x.sql:1: SQL before the '-- migrate:up' marker")
        XCTAssertEqual(message("M/0001_x.sql", ""), "M/0001_x.sql: missing '-- migrate:up' marker")
        XCTAssertTrue(message("M/x_name.sql", "-- migrate:up\nx").contains("NNNN_name.sql"))
        XCTAssertTrue(message("M/0001_.sql", "-- migrate:up\nx").contains("needs a name"))
        XCTAssertTrue(message("M/0000_zero.sql", "-- migrate:up\nx").contains("positive version"))
    }

    func testDuplicateVersionsAreRefused() throws {
        try write("0001_a.sql", "-- migrate:up\nSELECT 1;")
        try write("001_b.sql", "-- migrate:up\nSELECT 1;")
        XCTAssertThrowsError(try Migrator.load(directory: folder.path)) { XCTAssertTrue("\($0)".contains("version 1 is also used by")) }
    }

    func testRandomFileContentsNeverCrashTheParser() {
        var rng = SplitMix64(seed: 99)
        let pieces = ["-- migrate:up", "-- migrate:down", "-- migrate:", "\n", "SELECT 1;", " ", "\r\n", "--", "x"]
        for _ in 0..<5_000 {
            let text = (0..<(rng.next() % 8)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            do {
                let migration = try Migration(file: "0001_fuzz.sql", contents: text)
                XCTAssertFalse(migration.up.isEmpty)
            } catch {
                XCTAssertEqual(error.file, "0001_fuzz.sql")
            }
        }
    }
}
