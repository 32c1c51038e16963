import Foundation
import StrataTestSupport
import XCTest

/// `deploy/bench/run.sh` end to end with the debug binaries and one-second
/// runs: it starts both stacks and nginx, measures every test type and
/// writes its report. (The numbers mean nothing here; that it works does.)
final class BenchCommandTests: XCTestCase {
    func testTheBenchmarkCommandRunsEveryTestAndWritesItsReport() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let binaries = TierProcess.buildFolder.path
        let script = repositoryRoot.appendingPathComponent("deploy/bench/run.sh").path
        var environment = ProcessInfo.processInfo.environment
        environment["STRATA_BENCH_BIN"] = binaries
        environment["DURATION"] = "1"
        environment["WARMUP"] = "0"
        environment["BENCH_LAYERS"] = "0"
        environment["BENCH_REPORT_DIR"] = folder.path
        // Three ports found free: the ones next to a free port are often taken by outgoing connections meanwhile.
        var ports: Set<Int> = []
        while ports.count < 3 { ports.insert(Loopback.freePort()) }
        for (name, port) in zip(["PORT", "NGINX_PORT", "PG_PORT"], ports.sorted()) { environment[name] = String(port) }
        if PostgresServer.isRequired { environment["BENCH_POSTGRES"] = "1" }
        let run = try TierProcess("/bin/bash", [script, "--quick"], environment: environment, directory: repositoryRoot)
        let status = run.waitForExit(seconds: 240)
        let output = run.output
        XCTAssertEqual(status, 0, output.suffix(30).joined(separator: "\n"))
        var rows = output.filter { $0.hasPrefix("| ") && !$0.hasPrefix("| test ") }
        rows.removeAll { $0.contains("not run") }
        for (test, engine) in [
            ("plaintext", "-"), ("plaintext (pipelined 16)", "-"), ("json", "-"), ("static 1 KiB", "strata"), ("static 1 KiB", "nginx"),
            ("/db", "sqlite"), ("/queries?queries=20", "sqlite"), ("/fortunes", "sqlite"), ("/updates?queries=20", "sqlite"),
        ] {
            let row = rows.first { $0.hasPrefix("| \(test) | \(engine) |") }
            XCTAssertNotNil(row, "no row for \(test) on \(engine) in:\n\(rows.joined(separator: "\n"))")
            if let row {
                let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                XCTAssertGreaterThan(Int(cells[3]) ?? 0, 0, row)
                XCTAssertGreaterThan(Double(cells[6]) ?? 0, 0, "CPU µs per request in \(row)")
                XCTAssertEqual(cells[7], "0", "errors in \(row)")
            }
        }
        if PostgresServer.isRequired {
            XCTAssertTrue(rows.contains { $0.hasPrefix("| /fortunes | postgres |") }, rows.joined(separator: "\n"))
        }
        XCTAssertTrue(output.contains { $0.hasPrefix("Memory after the runs (RSS): SQLite stack: strata-") }, output.joined(separator: "\n"))
        let reports = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("strata-bench-") && $0.hasSuffix(".md") }
        XCTAssertEqual(reports.count, 1)
        let report = try String(contentsOfFile: folder.path + "/" + reports[0], encoding: .utf8)
        XCTAssertTrue(report.contains("| /fortunes | sqlite | 64 |"), report)
    }
}
