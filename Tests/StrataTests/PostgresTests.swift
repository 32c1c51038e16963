import CPostgres
import StrataTestSupport
import XCTest

/// Proves the PostgreSQL harness and the libpq binding work on this machine;
/// the data tier's PostgreSQL driver builds on both.
final class PostgresTests: XCTestCase {
    func testThrowawayServerAnswersAParameterisedQueryThroughLibpq() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }

        let connection = PQconnectdb(server.url)
        defer { PQfinish(connection) }
        XCTAssertEqual(PQstatus(connection), CONNECTION_OK, String(cString: PQerrorMessage(connection)))

        let values = ["20", "22"]
        let pointers = values.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        var parameters: [UnsafePointer<CChar>?] = pointers.map { UnsafePointer($0) }
        let result = PQexecParams(connection, "SELECT $1::int + $2::int AS answer", 2, nil, &parameters, nil, nil, 0)
        defer { PQclear(result) }
        XCTAssertEqual(PQresultStatus(result), PGRES_TUPLES_OK, String(cString: PQerrorMessage(connection)))
        XCTAssertEqual(String(cString: PQgetvalue(result, 0, 0)), "42")
        XCTAssertEqual(String(cString: PQfname(result, 0)), "answer")
    }
}
