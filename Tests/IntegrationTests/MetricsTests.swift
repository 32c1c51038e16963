import Foundation
import StrataTestSupport
import XCTest

/// Every tier's `/metrics`, as Prometheus scrapes it: valid by `promtool
/// check metrics`, and counting what the test did.
final class MetricsTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    private func start(_ executable: String, _ arguments: [String]) throws -> TierProcess { try tiers.start(executable, arguments) }

    private func field(_ name: String, of line: String) throws -> String {
        let field = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix(name + "=") }, line)
        return String(field.dropFirst(name.count + 1))
    }

    private func port(_ address: String) throws -> Int { try XCTUnwrap(address.split(separator: ":").last.flatMap { Int($0) }) }

    /// The value of the sample `series` (name and labels as written) in `text`.
    private func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func testEachTierExposesValidMetricsThatCountTheTraffic() throws {
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let database = tiers.folder.path + "/strata.db"
        XCTAssertEqual(try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations]).waitForExit(), 0)
        let data = try start(
            "strata-data",
            ["serve", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--database", database, "--migrations", migrations])
        let dataReady = try data.waitForLine(containing: "msg=ready")
        let app = try start(
            "strata-app", ["serve", "--listen", "127.0.0.1:0", "--health", "127.0.0.1:0", "--data", try field("listen", of: dataReady)])
        let appReady = try app.waitForLine(containing: "msg=ready")
        let web = try start(
            "strata-web", ["serve", "--port", "0", "--health", "127.0.0.1:0", "--app", try field("listen", of: appReady)])
        let webReady = try web.waitForLine(containing: "msg=ready")
        let webPort = try port(try field("listen", of: webReady))

        let client = try TestHTTPClient(port: webPort)
        for _ in 0..<3 { XCTAssertEqual(try client.request("GET", "/guestbook").status, 200) }
        XCTAssertEqual(try client.request("GET", "/static/strata.css").status, 200)
        XCTAssertEqual(try client.request("GET", "/no/such/page").status, 404)

        let webText = try client.request("GET", "/metrics").text
        let appText = try TestHTTPClient(port: try port(try field("health", of: appReady))).request("GET", "/metrics").text
        let dataText = try TestHTTPClient(port: try port(try field("health", of: dataReady))).request("GET", "/metrics").text
        let webHealthText = try TestHTTPClient(port: try port(try field("health", of: webReady))).request("GET", "/metrics").text

        XCTAssertEqual(value(#"strata_http_requests_total{route="/guestbook",method="GET",status="200"}"#, in: webText), 3, webText)
        XCTAssertEqual(value(#"strata_http_request_duration_seconds_count{route="/guestbook",method="GET",status="200"}"#, in: webText), 3)
        XCTAssertEqual(value(#"strata_http_requests_total{route="/static/*",method="GET",status="200"}"#, in: webText), 1)
        XCTAssertEqual(value(#"strata_http_requests_total{route="none",method="GET",status="404"}"#, in: webText), 1, "no raw paths as labels")
        XCTAssertNotNil(value(#"strata_http_connections_open{listen="127.0.0.1:0"}"#, in: webText), webText)
        XCTAssertNotNil(value(#"strata_build_info{tier="web",swift="6.3",configuration="debug"}"#, in: webText), webText)
        XCTAssertTrue(webHealthText.contains("strata_http_requests_total"), "the health port serves the same registry")
        XCTAssertTrue(webText.contains("strata_rpc_client_calls_in_flight{endpoint="), webText)
        XCTAssertTrue(webText.contains(#"strata_event_loop_lag_seconds_bucket{loop="0",le="0.0001"}"#), webText)
        XCTAssertGreaterThan(value("process_resident_memory_bytes", in: webText) ?? 0, 1_000_000)
        XCTAssertGreaterThan(value("process_open_fds", in: webText) ?? 0, 3)

        XCTAssertGreaterThanOrEqual(value(#"strata_rpc_server_calls_total{method="guestbook.list",code="ok"}"#, in: appText) ?? 0, 3, appText)
        XCTAssertNotNil(value(#"strata_rpc_server_call_duration_seconds_count{method="guestbook.list"}"#, in: appText), appText)
        XCTAssertGreaterThanOrEqual(value(#"strata_sql_statement_duration_seconds_count{kind="select"}"#, in: dataText) ?? 0, 3, dataText)
        XCTAssertEqual(value("strata_sql_pool_connections_max", in: dataText).map { $0 >= 1 }, true, dataText)
        XCTAssertNotNil(value(#"strata_sql_transactions_total{kind="interactive",outcome="committed"}"#, in: dataText))

        // A proxy on this host passing a request on from elsewhere: not for them.
        let proxied = try client.request("GET", "/metrics", headers: [("X-Forwarded-For", "203.0.113.9")])
        XCTAssertEqual(proxied.status, 404)
        XCTAssertFalse(proxied.text.contains("strata_"))

        guard try ExternalTool.isAvailable("promtool") else { throw XCTSkip("promtool (Debian package prometheus) is not installed") }
        for (tier, text) in [("web", webText), ("app", appText), ("data", dataText)] {
            let check = try ExternalTool.run("promtool", ["check", "metrics"], input: text)
            XCTAssertEqual(check.status, 0, "\(tier): \(check.output)")
        }
    }
}
