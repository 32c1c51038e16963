import Foundation
import StrataTestSupport
import XCTest

/// The TechEmpower-style endpoints against their specification: headers,
/// bodies, `queries` clamping, fortunes ordering and escaping, and that
/// `/updates` persists, through the real tiers on SQLite and PostgreSQL.
final class BenchEndpointTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "bench-endpoint-test-secret-0123") }

    override func tearDown() { tiers.stop() }

    func testEndpointsFollowTheSpecificationOnSQLite() throws {
        try endpoints(database: tiers.folder.path + "/bench.db")
    }

    func testEndpointsFollowTheSpecificationOnPostgreSQL() throws {
        guard let server = try PostgresServer.startIfAvailable() else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        try endpoints(database: server.url)
    }

    /// Rows of a JSON array of `{"id", "randomNumber"}` objects.
    private func worlds(_ response: TestHTTPClient.Response) throws -> [[String: Int]] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Int]], response.text)
    }

    private func endpoints(database: String) throws {
        let (port, dataAddress) = try tiers.startStack(database: database, app: ["--bench"], web: ["--bench"])
        let client = try TestHTTPClient(port: port)

        func get(_ path: String, type: String) throws -> TestHTTPClient.Response {
            let response = try client.request("GET", path)
            XCTAssertEqual(response.status, 200, "\(path): \(response.text)")
            XCTAssertEqual(response.header("Content-Type"), type, path)
            XCTAssertEqual(response.header("Server"), "strata", path)
            XCTAssertNotNil(response.header("Date").flatMap { DateFormatter.http.date(from: $0) }, path)
            XCTAssertEqual(response.header("Content-Length"), String(response.body.count), path)
            return response
        }

        XCTAssertEqual(try get("/plaintext", type: "text/plain").text, "Hello, World!")
        let json = try get("/json", type: "application/json")
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(json.body)) as? [String: String], ["message": "Hello, World!"])

        let db = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try get("/db", type: "application/json").body)) as? [String: Int])
        XCTAssertEqual(Set(db.keys), ["id", "randomNumber"])
        XCTAssertTrue((1...10_000).contains(db["id"]!) && (1...10_000).contains(db["randomNumber"]!), "\(db)")

        for (query, count) in [
            ("", 1), ("?queries=", 1), ("?queries=foo", 1), ("?queries=0", 1), ("?queries=-3", 1), ("?queries=1", 1),
            ("?queries=20", 20), ("?queries=500", 500), ("?queries=501", 500), ("?queries=99999999999999999999", 1),
        ] {
            let rows = try worlds(try get("/queries" + query, type: "application/json"))
            XCTAssertEqual(rows.count, count, "/queries\(query)")
            XCTAssertTrue(rows.allSatisfy { Set($0.keys) == ["id", "randomNumber"] && (1...10_000).contains($0["id"]!) }, "/queries\(query)")
        }

        let fortunes = try get("/fortunes", type: "text/html; charset=utf-8").text
        XCTAssertTrue(
            fortunes.hasPrefix("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>"))
        let messages = fortunes.matches(of: /<tr><td>(\d+)<\/td><td>(.*?)<\/td><\/tr>/).map { (Int($0.1)!, String($0.2)) }
        XCTAssertEqual(messages.count, 13)
        XCTAssertEqual(messages.first?.0, 11, "the <script> row sorts first")
        XCTAssertEqual(messages.first?.1, "&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);&lt;/script&gt;")
        XCTAssertTrue(messages.contains { $0 == (0, "Additional fortune added at request time.") })
        XCTAssertEqual(messages.last?.1, "フレームワークのベンチマーク")
        XCTAssertEqual(messages.map(\.1), messages.map(\.1).sorted { $0.unescapedHTML < $1.unescapedHTML })
        XCTAssertNil(try client.request("GET", "/fortunes").header("Set-Cookie"), "no session for a page without a form")

        // Updates come back with their new numbers, and those are what the database holds.
        // (The one-row update goes first: it could otherwise overwrite one of the twenty checked below.)
        XCTAssertEqual(try worlds(try get("/updates?queries=0", type: "application/json")).count, 1)
        let updated = try worlds(try get("/updates?queries=20", type: "application/json"))
        XCTAssertEqual(updated.count, 20)
        let ids = updated.map { $0["id"]! }
        let rpc = try tiers.start(
            "strata",
            [
                "rpc", "call", dataAddress, "sql.query",
                #"{"sql": "SELECT id, randomNumber FROM World WHERE id IN (\#(ids.map(String.init).joined(separator: ",")))", "parameters": []}"#,
            ])
        XCTAssertEqual(rpc.waitForExit(), 0, rpc.output.joined(separator: "\n"))
        let stored = rpc.output.joined().matches(of: /\[\{"i":(\d+)\},\{"i":(\d+)\}\]/).map { (Int($0.1)!, Int($0.2)!) }
        var expected: [Int: Int] = [:]
        for row in updated { expected[row["id"]!] = row["randomNumber"]! }
        XCTAssertEqual(Dictionary(stored, uniquingKeysWith: { a, _ in a }), expected, rpc.output.joined())
    }
}

extension DateFormatter {
    /// IMF-fixdate, as in `Date:` headers.
    static let http: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }()
}

extension String {
    /// The five entities the templates write, undone, to compare by the original text.
    var unescapedHTML: String {
        replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }
}
