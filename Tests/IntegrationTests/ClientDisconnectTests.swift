import Foundation
import StrataTestSupport
import XCTest

/// Clients that vanish in the middle of an answer: the web tier must see a
/// broken pipe as one closed connection, never as a signal that ends it.
final class ClientDisconnectTests: XCTestCase {
    func testClientsResettingMidAnswerLeaveTheServerRunning() throws {
        let tiers = try Tiers(secret: "disconnect-test-secret-0123456789")
        defer { tiers.stop() }
        let public_ = tiers.folder.url.appendingPathComponent("public")
        try FileManager.default.createDirectory(at: public_, withIntermediateDirectories: true)
        // Larger than the socket buffers, so the server is still writing (sendfile, writev) when the reset comes.
        try Data(repeating: 0x61, count: 8 << 20).write(to: public_.appendingPathComponent("big.txt"))
        let web = try tiers.start(
            "strata-web", ["serve", "--port", "0", "--app", "127.0.0.1:9", "--rate-limit", "0", "--public", public_.path])
        let port = try XCTUnwrap(Int(try web.waitForReady().split(separator: ":").last ?? ""))
        for round in 0..<40 {
            let client = try TestHTTPClient(port: port, timeout: 5)
            // Identity for the file itself (sendfile); gzip for a streamed body (writev).
            let coding = round % 2 == 0 ? "identity" : "gzip"
            try client.send("GET /static/big.txt HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: \(coding)\r\n\r\n")
            _ = try client.readRaw(through: "\r\n\r\n")
            client.abort()
        }
        let health = try TestHTTPClient(port: port, timeout: 5).request("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertNil(web.waitForExit(seconds: 0.5), "strata-web is still running: \(web.output.suffix(5))")
    }
}
