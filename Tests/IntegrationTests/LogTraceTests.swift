import Foundation
import StrataTestSupport
import XCTest

/// One request's log lines in every tier: JSON when asked, sharing the
/// caller's W3C trace id and the request id from web through app to data.
final class LogTraceTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    /// The JSON objects among `process`'s output lines.
    private func objects(_ process: TierProcess) -> [[String: Any]] {
        process.output.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func testJSONLinesInEveryTierCarryTheCallersTraceAndTheRequestID() throws {
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let database = tiers.folder.path + "/strata.db"
        XCTAssertEqual(try tiers.start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations]).waitForExit(), 0)
        let json = ["--log-format", "json"]
        // Every statement, call and request is "slow" at 0 ms, so each tier writes a line for this request.
        let data = try tiers.start(
            "strata-data",
            ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations, "--slow-query-ms", "0"] + json)
        let dataAddress = try XCTUnwrap(try waitForReadyObject(data)["listen"] as? String)
        let app = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress, "--slow-call-ms", "0"] + json)
        let appAddress = try XCTUnwrap(try waitForReadyObject(app)["listen"] as? String)
        let web = try tiers.start(
            "strata-web", ["serve", "--port", "0", "--app", appAddress, "--slow-request-ms", "0", "--rate-limit", "0"] + json)
        let webAddress = try XCTUnwrap(try waitForReadyObject(web)["listen"] as? String)
        let port = try XCTUnwrap(webAddress.split(separator: ":").last.flatMap { Int($0) })

        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let response = try TestHTTPClient(port: port).request(
            "GET", "/guestbook", headers: [("traceparent", "00-\(trace)-00f067aa0ba902b7-01"), ("X-Request-ID", "trace-test-1")])
        XCTAssertEqual(response.status, 200)

        for (tier, process, message) in [("web", web, "request"), ("app", app, "slow call"), ("data", data, "slow query")] {
            let deadline = Date().addingTimeInterval(10)
            var line: [String: Any]?
            while line == nil && Date() < deadline {
                line = objects(process).first { $0["msg"] as? String == message && $0["request_id"] as? String == "trace-test-1" }
                if line == nil { usleep(50_000) }
            }
            let found = try XCTUnwrap(line, "\(tier): no \(message) line for the request in\n\(process.output.joined(separator: "\n"))")
            XCTAssertEqual(found["trace_id"] as? String, trace, "\(tier): \(found)")
            XCTAssertEqual(found["tier"] as? String, tier)
            XCTAssertNotNil(found["ts"] as? String)
        }
        let access = try XCTUnwrap(objects(web).first { $0["msg"] as? String == "request" && $0["path"] as? String == "/guestbook" })
        XCTAssertEqual(access["status"] as? Int, 200, "numbers stay numbers in JSON")
        XCTAssertNotNil(objects(data).first { $0["msg"] as? String == "slow query" && ($0["sql"] as? String)?.contains("guestbook") == true })

        // Without a traceparent the web tier starts a trace of its own and passes it on.
        _ = try TestHTTPClient(port: port).request("GET", "/guestbook", headers: [("X-Request-ID", "trace-test-2")])
        let deadline = Date().addingTimeInterval(10)
        var started: String?, followed: String?
        while (started == nil || followed == nil) && Date() < deadline {
            started =
                objects(web).first { $0["request_id"] as? String == "trace-test-2" && $0["msg"] as? String == "request" }?["trace_id"] as? String
            followed = objects(data).first { $0["request_id"] as? String == "trace-test-2" }?["trace_id"] as? String
            usleep(50_000)
        }
        XCTAssertEqual(started?.count, 32)
        XCTAssertNotEqual(started, trace)
        XCTAssertEqual(followed, started)
    }

    /// The `msg: ready` object a tier logs once it serves.
    private func waitForReadyObject(_ process: TierProcess) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let ready = objects(process).first(where: { $0["msg"] as? String == "ready" }) { return ready }
            usleep(20_000)
        }
        throw TestHTTPClient.Failure(description: "no JSON ready line:\n" + process.output.joined(separator: "\n"))
    }
}
