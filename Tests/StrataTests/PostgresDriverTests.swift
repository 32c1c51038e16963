import StrataIO
import StrataProtocol
import StrataTestSupport
import Synchronization
import XCTest

@testable import StrataSQL

/// The event-loop-driven libpq driver and its pool, against a throwaway
/// PostgreSQL server (a failure, not a skip, when CI requires PostgreSQL).
final class PostgresDriverTests: XCTestCase {
    private var server: PostgresServer!
    private var group: EventLoopGroup!
    private var database: PostgresDatabase!

    override func setUpWithError() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        self.server = server
        group = EventLoopGroup(loopCount: 2)
        database = PostgresDatabase(url: server.url, group: group, maxConnections: 4)
    }

    override func tearDown() {
        database?.close()
        group?.shutdown()
        server?.stop()
    }

    func testValuesRoundTripAsParameters() async throws {
        let values: [SQLValue] = [.int(-42), .int(Int64.max), .double(2.5), .text("Zoë <b>'quoted'</b>"), .bool(true), .blob([0, 1, 0xFF]), .null]
        let result = try await database.query(
            "SELECT $1::int8 AS a, $2::int8 AS b, $3::float8 AS c, $4::text AS d, $5::bool AS e, $6::bytea AS f, $7::text AS g", values)
        XCTAssertEqual(result.columns, ["a", "b", "c", "d", "e", "f", "g"])
        XCTAssertEqual(result.rows, [values])
        let special = try await database.query("SELECT $1::float8, $2::float8", [.double(.infinity), .double(-.infinity)])
        XCTAssertEqual(special.rows, [[.double(.infinity), .double(-.infinity)]])
    }

    func testTimestampsRoundTripInUTC() async throws {
        let micros: Int64 = 1_700_000_000_123_456
        let result = try await database.query(
            "SELECT $1::timestamptz AS at, $1::timestamp AS local, now() > $1::timestamptz AS later", [.timestamp(micros)])
        XCTAssertEqual(result.rows, [[.timestamp(micros), .timestamp(micros), .bool(true)]])
    }

    func testStatementsReportAffectedRowsAndReturning() async throws {
        _ = try await database.run("CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL UNIQUE CHECK (body <> ''))", [])
        let inserted = try await database.query("INSERT INTO notes (body) VALUES ($1), ($2) RETURNING id", [.text("a"), .text("b")])
        XCTAssertEqual(inserted.rows, [[.int(1)], [.int(2)]])
        let updated = try await database.run("UPDATE notes SET body = body || '!'", [])
        XCTAssertEqual(updated.rowsAffected, 2)
    }

    func testABatchTravelsAsOnePipelineAndFailsAsAWhole() async throws {
        let connection = try await PostgresConnection.connect(to: server.url, on: group.loops[0])
        defer { connection.close() }
        _ = try await connection.execute("CREATE TABLE stock (item text PRIMARY KEY, n int NOT NULL CHECK (n >= 0))", [])
        let results = try await connection.pipeline(
            [
                ("INSERT INTO stock VALUES ($1, $2), ($3, $2)", [.text("pen"), .int(5), .text("ink")]),
                ("UPDATE stock SET n = n - $1", [.int(2)]),
                ("DELETE FROM stock WHERE item = $1", [.text("none")]),
            ], isolation: .serializable)
        XCTAssertEqual(results.map(\.rowsAffected), [2, 2, 0])
        // The second statement breaks the CHECK: the first is undone, the third never runs.
        do {
            _ = try await connection.pipeline(
                [
                    ("UPDATE stock SET n = n + 1 WHERE item = $1", [.text("pen")]),
                    ("UPDATE stock SET n = n - $1", [.int(4)]),
                    ("DELETE FROM stock", []),
                ], isolation: .readCommitted)
            XCTFail("a failing batch committed")
        } catch let failure as BatchFailure {
            XCTAssertEqual(failure.index, 1)
            XCTAssertEqual(failure.error.kind, .checkViolation)
        }
        // The connection is out of pipeline mode and out of the aborted transaction.
        let rows = try await connection.execute("SELECT item, n FROM stock ORDER BY item", [])
        XCTAssertEqual(rows.rows, [[.text("ink"), .int(3)], [.text("pen"), .int(3)]])
        // Statements and batches queued behind one another keep their order.
        async let first = connection.pipeline([("UPDATE stock SET n = n + 1", [])], isolation: .serializable)
        async let single = connection.execute("SELECT sum(n) FROM stock", [])
        async let second = connection.pipeline([("UPDATE stock SET n = n + 10", [])], isolation: .serializable)
        let (a, b, c) = try await (first, single, second)
        XCTAssertEqual(a.map(\.rowsAffected), [2])
        XCTAssertEqual(c.map(\.rowsAffected), [2])
        XCTAssertTrue([[SQLValue.int(8)], [.int(28)], [.int(6)]].contains(b.rows.first ?? []), "\(b.rows)")
    }

    func testPipelinedStatementsRunPreparedAndAFailedPrepareIsForgotten() async throws {
        let connection = try await PostgresConnection.connect(to: server.url, on: group.loops[0])
        defer { connection.close() }
        _ = try await connection.execute("CREATE TABLE stock (item text PRIMARY KEY, n int NOT NULL)", [])
        _ = try await connection.execute("INSERT INTO stock VALUES ('pen', 1), ('ink', 2), ('nib', 3)", [])
        let select = "SELECT n FROM stock WHERE item = $1"
        // Reads without BEGIN/COMMIT, answered in order; the repeated text is prepared once, in the pipeline.
        let reads = try await connection.pipeline([(select, [.text("nib")]), (select, [.text("pen")]), (select, [.text("ink")])], isolation: nil)
        XCTAssertEqual(reads.map(\.rows), [[[.int(3)]], [[.int(1)]], [[.int(2)]]])
        let listed = try await connection.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = '\(select)'", [])
        XCTAssertEqual(listed.rows, [[.int(1)]], "prepared once on this connection")

        // A Prepare that fails (no such table) answers for its statement and is not remembered.
        let missing = "SELECT n FROM later WHERE item = $1"
        do {
            _ = try await connection.pipeline([(select, [.text("pen")]), (missing, [.text("pen")])], isolation: nil)
            XCTFail("a statement on a missing table succeeded")
        } catch let failure as BatchFailure {
            XCTAssertEqual(failure.index, 1)
        }
        // A Prepare skipped because an earlier statement failed is not remembered either.
        let skipped = "SELECT item FROM stock WHERE n = $1"
        do {
            _ = try await connection.pipeline([("SELECT 1/0", []), (skipped, [.int(2)])], isolation: nil)
            XCTFail("division by zero succeeded")
        } catch let failure as BatchFailure {
            XCTAssertEqual(failure.index, 0)
        }
        _ = try await connection.execute("CREATE TABLE later (item text, n int)", [])
        _ = try await connection.execute("INSERT INTO later VALUES ('pen', 7)", [])
        let again = try await connection.pipeline([(missing, [.text("pen")]), (skipped, [.int(2)])], isolation: nil)
        XCTAssertEqual(again.map(\.rows), [[[.int(7)]], [[.text("ink")]]])
    }

    func testQueryEachAnswersInOrderAndFailsWithTheEngineError() async throws {
        _ = try await database.run("CREATE TABLE numbers (n int PRIMARY KEY)", [])
        _ = try await database.run("INSERT INTO numbers SELECT generate_series(1, 20)", [])
        let statements = (1...20).reversed().map { SQLStatement("SELECT n FROM numbers WHERE n = $1", [.int(Int64($0))]) }
        let results = try await database.queryEach(statements)
        XCTAssertEqual(results.map(\.rows), (1...20).reversed().map { [[SQLValue.int(Int64($0))]] })
        do {
            _ = try await database.queryEach([SQLStatement("SELECT n FROM numbers"), SQLStatement("SELECT nope FROM numbers")])
            XCTFail("a query naming a missing column succeeded")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .syntax)
        }
    }

    func testPreparedStatementsSurviveTableChanges() async throws {
        _ = try await database.run("CREATE TABLE things (a int)", [])
        _ = try await database.run("INSERT INTO things VALUES (1)", [])
        // Run often enough that every pooled connection has it prepared.
        for _ in 0..<8 { _ = try await database.query("SELECT * FROM things WHERE a = $1", [.int(1)]) }
        _ = try await database.run("ALTER TABLE things ADD COLUMN b text DEFAULT 'x'", [])
        for _ in 0..<8 {
            let result = try await database.query("SELECT * FROM things WHERE a = $1", [.int(1)])
            XCTAssertEqual(result.columns, ["a", "b"])
            XCTAssertEqual(result.rows, [[.int(1), .text("x")]])
        }
    }

    func testEngineErrorsAreClassified() async throws {
        _ = try await database.run("CREATE TABLE parents (id int PRIMARY KEY)", [])
        _ = try await database.run(
            "CREATE TABLE kids (id int PRIMARY KEY, parent int NOT NULL REFERENCES parents (id), age int CHECK (age >= 0))", [])
        _ = try await database.run("INSERT INTO parents VALUES (1)", [])
        let cases: [(String, [SQLValue], SQLError.Kind)] = [
            ("INSERT INTO parents VALUES ($1)", [.int(1)], .uniqueViolation),
            ("INSERT INTO kids VALUES (1, $1, 3)", [.int(99)], .foreignKeyViolation),
            ("INSERT INTO kids VALUES (1, 1, $1)", [.int(-1)], .checkViolation),
            ("INSERT INTO kids (id, parent) VALUES (1, $1)", [.null], .notNullViolation),
            ("SELEC 1", [], .syntax),
            ("SELECT * FROM no_such_table", [], .syntax),
        ]
        for (sql, parameters, kind) in cases {
            do {
                _ = try await database.run(sql, parameters)
                XCTFail("\(sql) succeeded")
            } catch let error as SQLError {
                XCTAssertEqual(error.kind, kind, "\(sql): \(error.message)")
            }
        }
        // The connection that saw the errors is still good.
        let after = try await database.query("SELECT count(*) FROM parents", [])
        XCTAssertEqual(after.rows, [[.int(1)]])
    }

    func testManyConcurrentQueriesShareABoundedPool() async throws {
        let results = try await withThrowingTaskGroup(of: Int64.self) { tasks in
            for i in 0..<100 {
                tasks.addTask { [database] in
                    let result = try await database!.query("SELECT $1::int8 * 2, pg_sleep(0.005)", [.int(Int64(i))])
                    return result.rows[0][0].intValue ?? -1
                }
            }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(results.sorted(), (0..<100).map { Int64($0 * 2) })
        XCTAssertLessThanOrEqual(database.openConnections, 4)
        let backends = try await database.query(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'strata' AND backend_type = 'client backend'", [])
        XCTAssertLessThanOrEqual(backends.rows[0][0].intValue ?? 99, 4)
    }

    func testThePoolSpreadsItsConnectionsOverTheLoops() async throws {
        // Every caller on loop 0: the pool still opens half its connections on
        // loop 1, or one core would drive all of libpq while the other idles.
        let loop = group.loops[0]
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for _ in 0..<8 {
                tasks.addTask(executorPreference: loop) { [database] in
                    _ = try await database!.query("SELECT pg_sleep(0.05)", [])
                }
            }
            try await tasks.waitForAll()
        }
        XCTAssertEqual(database.openConnectionsPerLoop, [2, 2])
    }

    func testACallerWaitingForABusyPoolCanGiveUp() async throws {
        let narrow = PostgresDatabase(url: server.url, group: group, maxConnections: 1)
        defer { narrow.close() }
        let holderDone = Flag()
        let holder = Task {
            defer { holderDone.set() }
            return try await narrow.query("SELECT pg_sleep(1)", [])
        }
        try await Task.sleep(for: .milliseconds(200))
        let waiter = Task { try await narrow.query("SELECT 1", []) }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        do {
            _ = try await waiter.value
            XCTFail("the cancelled caller got a connection")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .busy)
        }
        XCTAssertFalse(holderDone.isSet, "the waiter left the queue while the only connection was still busy")
        _ = try await holder.value
        let after = try await narrow.query("SELECT 2", [])
        XCTAssertEqual(after.rows, [[.int(2)]], "the pool still works")
    }

    func testThePoolReconnectsAfterTheServerRestarts() async throws {
        let before = try await database.query("SELECT 1", [])
        XCTAssertEqual(before.rows, [[.int(1)]])
        try server.restart()
        // The old connection fails once (the server closed it); the pool then opens a new one.
        var answered = false
        for _ in 0..<3 where !answered {
            do {
                let after = try await database.query("SELECT 2", [])
                XCTAssertEqual(after.rows, [[.int(2)]])
                answered = true
            } catch let error as SQLError {
                XCTAssertEqual(error.kind, .unavailable, error.message)
            }
        }
        XCTAssertTrue(answered, "no answer after the restart")
    }

    func testAMultiHostURLMovesPastHostsThatRefuseOrDoNotFit() async throws {
        // The refused host's socket and the next one's usually share a descriptor number.
        let second = PostgresDatabase(url: "postgres://strata@127.0.0.1:1,127.0.0.1:\(server.port)/postgres?connect_timeout=2", group: group)
        defer { second.close() }
        let answer = try await second.query("SELECT inet_server_port()", [])
        XCTAssertEqual(answer.rows.first?.first?.intValue, Int64(server.port))
        // Only a primary listed, a standby asked for: an error, not a hang.
        let standby = PostgresDatabase(
            url: "postgres://strata@127.0.0.1:\(server.port),127.0.0.1:\(server.port)/postgres?target_session_attrs=standby&connect_timeout=2",
            group: group)
        do {
            _ = try await standby.query("SELECT 1", [])
            XCTFail("a primary was taken for a standby")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .unavailable, error.message)
        }
    }

    func testWithPreparedStatementsOffNothingIsPreparedOnTheServer() async throws {
        let unprepared = PostgresDatabase(url: server.url, group: group, maxConnections: 1, preparedStatements: false)
        defer { unprepared.close() }
        for value in 1...3 {
            let row = try await unprepared.query("SELECT $1::int + 1", [.int(Int64(value))])
            XCTAssertEqual(row.rows.first?.first?.intValue, Int64(value + 1))
        }
        _ = try await unprepared.batch(
            [SQLStatement("SELECT $1::int", [.int(1)]), SQLStatement("SELECT $1::int", [.int(2)])], isolation: .readCommitted)
        let prepared = try await unprepared.query("SELECT count(*) FROM pg_prepared_statements", [])
        XCTAssertEqual(prepared.rows.first?.first?.intValue, 0)
        // The default prepares what repeats.
        let single = PostgresDatabase(url: server.url, group: group, maxConnections: 1)
        defer { single.close() }
        _ = try await single.query("SELECT $1::int + 1", [.int(1)])
        let count = try await single.query("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1", [.text("SELECT $1::int + 1%")])
        XCTAssertEqual(count.rows.first?.first?.intValue, 1)
    }

    func testAWriteRefusedAsReadOnlyIsUnavailableAndItsConnectionIsReplaced() async throws {
        let single = PostgresDatabase(url: server.url, group: group, maxConnections: 1)
        defer { single.close() }
        // As a primary demoted to standby by a failover answers writes.
        _ = try await single.run("SET default_transaction_read_only = on", [])
        let before = try await single.query("SELECT pg_backend_pid()", [])
        do {
            _ = try await single.run("CREATE TABLE refused (a INT)", [])
            XCTFail("a read-only session took a write")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .unavailable, error.message)
        }
        let after = try await single.query("SELECT pg_backend_pid()", [])
        XCTAssertNotEqual(after.rows, before.rows, "the read-only connection was kept")
        _ = try await single.run("CREATE TABLE accepted (a INT)", [])
    }

    func testAServerThatNeverAnswersGivesUpAtTheConnectTimeout() async throws {
        // Connections complete into the queue and nobody ever speaks: libpq would wait forever.
        let silent = try XCTUnwrap(Loopback.unservedListener(backlog: 4))
        defer { close(silent.fd) }
        do {
            _ = try await PostgresConnection.connect(to: "postgres://strata@127.0.0.1:\(silent.port)/postgres?connect_timeout=2", on: group.loops[0])
            XCTFail("connected to a silent server")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .unavailable)
            XCTAssertTrue(error.message.contains("no answer within 2.0 seconds"), error.message)
        }
    }

    func testAnUnreachableServerIsUnavailable() async throws {
        let nowhere = PostgresDatabase(url: "postgres://strata@127.0.0.1:1/postgres?connect_timeout=2", group: group)
        do {
            _ = try await nowhere.query("SELECT 1", [])
            XCTFail("connected to nothing")
        } catch let error as SQLError {
            XCTAssertEqual(error.kind, .unavailable)
            XCTAssertTrue(error.message.contains("cannot connect"), error.message)
        }
        XCTAssertEqual(nowhere.openConnections, 0)
    }
}

/// A thread-safe one-way switch for tests.
private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
