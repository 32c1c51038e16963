import Foundation
import StrataIO
import StrataTestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// strata-web serving HTTPS, checked with the clients people use against it
/// (`openssl s_client`, curl) and with raw bytes for what they never send.
final class HTTPSTests: XCTestCase {
    private var tiers: Tiers!
    private var folder: String { tiers.folder.path }
    private var ca: String { folder + "/ca.crt" }

    override func setUpWithError() throws {
        tiers = try Tiers(secret: "https-test-secret-0123456789abcdef")
        try TLSCertificate.create(certificate: ca, key: folder + "/ca.key", names: ["Strata test CA"], days: 2, isAuthority: true)
        for name in ["a.test", "b.test"] { try issue(name, names: [name, "localhost", "127.0.0.1"]) }
    }

    override func tearDown() { tiers.stop() }

    /// A certificate for `names` signed by the test CA, as `<file>.crt` and `<file>.key`.
    private func issue(_ file: String, names: [String]) throws {
        try TLSCertificate.create(
            certificate: "\(folder)/\(file).crt", key: "\(folder)/\(file).key", names: names, days: 2,
            signedBy: (certificate: ca, key: folder + "/ca.key"))
    }

    /// strata-web on HTTPS with the given pairs (no app tier: static files and /healthz suffice here).
    private func startWeb(pairs: [String] = ["a.test"], _ extra: [String] = []) throws -> (port: Int, process: TierProcess) {
        let web = try tiers.start(
            "strata-web",
            [
                "serve", "--port", "0", "--app", "127.0.0.1:9", "--rate-limit", "0", "--head-timeout", "2",
                "--tls-cert", pairs.map { "\(folder)/\($0).crt" }.joined(separator: ","),
                "--tls-key", pairs.map { "\(folder)/\($0).key" }.joined(separator: ","),
            ] + extra)
        let address = try web.waitForReady()
        return (try XCTUnwrap(Int(address.split(separator: ":").last ?? "")), web)
    }

    /// `openssl s_client` against the port, sending `request`; its whole output.
    private func sClient(_ port: Int, _ options: [String] = [], request: String = "") throws -> ExternalTool.Result {
        try ExternalTool.run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", ca, "-verify_return_error", "-ign_eof"] + options,
            input: request)
    }

    private func healthRequest(host: String = "a.test") -> String {
        "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
    }

    func testHandshakeProtocolsCiphersAndALPN() throws {
        let (port, _) = try startWeb()
        let modern = try sClient(port, ["-servername", "a.test", "-alpn", "http/1.1"], request: healthRequest())
        XCTAssertTrue(modern.output.contains("Protocol  : TLSv1.3"), modern.output)
        XCTAssertTrue(modern.output.contains("ALPN protocol: http/1.1"), modern.output)
        XCTAssertTrue(modern.output.contains("Verify return code: 0 (ok)"), modern.output)
        XCTAssertTrue(modern.output.contains("HTTP/1.1 200 OK"), modern.output)

        let tls12 = try sClient(port, ["-servername", "a.test", "-tls1_2"], request: healthRequest())
        XCTAssertTrue(tls12.output.contains("Protocol  : TLSv1.2"), tls12.output)
        XCTAssertTrue(tls12.output.contains("Cipher    : ECDHE-"), "forward secrecy only: \(tls12.output)")

        for old in ["-tls1_1", "-tls1"] {
            let refused = try sClient(port, [old, "-cipher", "DEFAULT@SECLEVEL=0"], request: healthRequest())
            XCTAssertNotEqual(refused.status, 0, "\(old) must be refused: \(refused.output)")
        }
        let rsaKeyExchange = try sClient(port, ["-tls1_2", "-cipher", "AES128-SHA"], request: healthRequest())
        XCTAssertNotEqual(rsaKeyExchange.status, 0, "static RSA key exchange must be refused: \(rsaKeyExchange.output)")
        // RFC 7301: a client that offers only protocols the server does not speak is refused.
        let h2Only = try sClient(port, ["-alpn", "h2"], request: healthRequest())
        XCTAssertNotEqual(h2Only.status, 0, h2Only.output)
        XCTAssertTrue(h2Only.output.contains("no application protocol"), h2Only.output)

        let curl = try ExternalTool.run(
            "curl", ["-sS", "--http1.1", "--cacert", ca, "--resolve", "a.test:\(port):127.0.0.1", "https://a.test:\(port)/healthz"])
        XCTAssertEqual(curl.output, "ok\n")
    }

    func testSessionsAreResumedAcrossConnections() throws {
        let (port, _) = try startWeb()
        for version in ["-tls1_3", "-tls1_2"] {
            let session = "\(folder)/session\(version)"
            let first = try sClient(port, [version, "-servername", "a.test", "-sess_out", session], request: healthRequest())
            XCTAssertTrue(first.output.contains("New, TLSv1."), first.output)
            // The server runs one loop per core: resumption must work whichever loop the next connection lands on.
            for _ in 0..<4 {
                let again = try sClient(port, [version, "-servername", "a.test", "-sess_in", session], request: healthRequest())
                XCTAssertTrue(again.output.contains("Reused, TLSv1."), "\(version): \(again.output)")
                XCTAssertTrue(again.output.contains("HTTP/1.1 200 OK"), again.output)
            }
        }
    }

    func testServerNameChoosesTheCertificate() throws {
        let (port, _) = try startWeb(pairs: ["a.test", "b.test"])
        let b = try sClient(port, ["-servername", "b.test"], request: healthRequest(host: "b.test"))
        XCTAssertTrue(b.output.contains("CN = b.test"), b.output)
        let a = try sClient(port, ["-servername", "a.test"], request: healthRequest())
        XCTAssertTrue(a.output.contains("CN = a.test"), a.output)
        XCTAssertFalse(a.output.contains("CN = b.test"), a.output)
        // An unknown name, or none, gets the default (first) pair; verifying it against that name then fails in the client.
        let unknown = try ExternalTool.run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "c.test", "-CAfile", ca], input: healthRequest())
        XCTAssertTrue(unknown.output.contains("CN = a.test"), unknown.output)
        let strict = try sClient(port, ["-servername", "c.test", "-verify_hostname", "c.test"], request: healthRequest())
        XCTAssertNotEqual(strict.status, 0, strict.output)
    }

    func testReloadServesTheNewPairKeepsConnectionsAndRefusesABadOne() throws {
        let (port, web) = try startWeb(["--tls-reload-interval", "0"])
        let before = try XCTUnwrap(TLSCertificate.fingerprint(of: "\(folder)/a.test.crt"))
        // A keep-alive connection opened before the reload.
        let open = try TierProcess(
            "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "a.test", "-CAfile", ca, "-quiet", "-ign_eof"])
        open.write("GET /healthz HTTP/1.1\r\nHost: a.test\r\n\r\n")
        _ = try open.waitForLine(containing: "HTTP/1.1 200", seconds: 10)

        try issue("a.test", names: ["a.test", "localhost"])
        let after = try XCTUnwrap(TLSCertificate.fingerprint(of: "\(folder)/a.test.crt"))
        XCTAssertNotEqual(before, after)
        web.send(SIGHUP)
        _ = try web.waitForLine(containing: "TLS certificates reloaded")
        let fresh = try sClient(port, ["-servername", "a.test"], request: healthRequest())
        XCTAssertTrue(fresh.output.contains("HTTP/1.1 200 OK"), fresh.output)
        XCTAssertTrue(try served(port).contains(after.replacingOccurrences(of: ":", with: "")), "the new certificate is served")

        // The connection from before still answers, with the old certificate.
        open.write("GET /healthz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        let deadline = Date().addingTimeInterval(10)
        while open.output.filter({ $0.contains("HTTP/1.1 200") }).count < 2 && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(open.output.filter { $0.contains("HTTP/1.1 200") }.count, 2, open.output.joined(separator: "\n"))
        open.stop()

        // A key that does not match is refused; the pair in use stays.
        try FileManager.default.copyItem(atPath: "\(folder)/b.test.key", toPath: "\(folder)/b-copy.key")
        try FileManager.default.removeItem(atPath: "\(folder)/a.test.key")
        try FileManager.default.copyItem(atPath: "\(folder)/b-copy.key", toPath: "\(folder)/a.test.key")
        web.send(SIGHUP)
        let refusal = try web.waitForLine(containing: "TLS certificates not reloaded")
        XCTAssertTrue(refusal.contains("a.test.key"), "the log line names the file: \(refusal)")
        XCTAssertTrue(try served(port).contains(after.replacingOccurrences(of: ":", with: "")), "the previous pair still serves")
    }

    /// The SHA-256 fingerprint of the certificate the server presents, as hex without colons.
    private func served(_ port: Int) throws -> String {
        let pem = try ExternalTool.run("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "a.test", "-showcerts"])
        let start = try XCTUnwrap(pem.output.range(of: "-----BEGIN CERTIFICATE-----"))
        let end = try XCTUnwrap(pem.output.range(of: "-----END CERTIFICATE-----", range: start.upperBound..<pem.output.endIndex))
        let certificate = String(pem.output[start.lowerBound..<end.upperBound]) + "\n"
        let digest = try ExternalTool.run("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], input: certificate)
        return digest.output.replacingOccurrences(of: ":", with: "")
    }

    func testTheFilesChangingIsNoticedWithoutASignal() throws {
        let (port, web) = try startWeb(["--tls-reload-interval", "1"])
        try issue("a.test", names: ["a.test", "localhost"])
        _ = try web.waitForLine(containing: "TLS certificates reloaded", seconds: 10)
        let fingerprint = try XCTUnwrap(TLSCertificate.fingerprint(of: "\(folder)/a.test.crt"))
        XCTAssertTrue(try served(port).contains(fingerprint.replacingOccurrences(of: ":", with: "")))
    }

    func testPlainHTTPPortRedirectsAndHSTSIsSentOverTLSOnly() throws {
        let redirectPort = Loopback.freePort()
        let (port, _) = try startWeb(["--redirect-port", String(redirectPort)])
        let client = try TestHTTPClient(port: redirectPort, timeout: 5)
        try client.send("POST /signin?next=%2Fx HTTP/1.1\r\nHost: a.test:\(redirectPort)\r\nContent-Length: 0\r\n\r\n")
        let redirect = try client.readResponse()
        XCTAssertEqual(redirect.status, 308)
        XCTAssertEqual(redirect.header("Location"), "https://a.test:\(port)/signin?next=%2Fx")

        let headers = try ExternalTool.run(
            "curl", ["-sS", "-D", "-", "-o", "/dev/null", "--cacert", ca, "--resolve", "a.test:\(port):127.0.0.1", "https://a.test:\(port)/healthz"])
        XCTAssertTrue(
            headers.output.contains("strict-transport-security: max-age=63072000")
                || headers.output.contains("Strict-Transport-Security: max-age=63072000"), headers.output)
        let local = try ExternalTool.run(
            "curl", ["-sS", "-D", "-", "-o", "/dev/null", "--cacert", ca, "https://localhost:\(port)/healthz"])
        XCTAssertTrue(local.output.contains("200"), local.output)
        XCTAssertFalse(local.output.lowercased().contains("strict-transport-security"), "never for localhost: \(local.output)")
    }

    func testBadInputOnTheTLSPortIsRefusedAndNoLoopStalls() throws {
        let (port, _) = try startWeb()
        // Plain HTTP to the HTTPS port: a readable 400, then the connection closes.
        let plain = try TestHTTPClient(port: port, timeout: 5)
        try plain.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        let answer = String(decoding: try plain.readToEnd(), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 Bad Request"), answer)
        XCTAssertTrue(answer.contains("this port speaks HTTPS"), answer)

        // Garbage, and a record header announcing more than a record may carry.
        for bytes: [UInt8] in [Array("\u{0}\u{1}\u{2}garbage\r\n\r\n".utf8), [0x16, 0x03, 0x01, 0xff, 0xff] + [UInt8](repeating: 0x41, count: 64)] {
            let client = try TestHTTPClient(port: port, timeout: 5)
            try client.send(bytes)
            XCTAssertTrue(client.isClosedByPeer(), "closed after \(bytes.prefix(5))")
        }
        // A handshake cut off mid-record, then one that stalls there: the first
        // ends at the client's close, the second at the 2 s handshake deadline.
        let partialHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + [UInt8](repeating: 7, count: 20)
        let truncated = try TestHTTPClient(port: port, timeout: 5)
        try truncated.send(partialHello)
        truncated.shutdownWrite()
        XCTAssertTrue(truncated.isClosedByPeer())
        let stalled = try TestHTTPClient(port: port, timeout: 8)
        try stalled.send(partialHello)
        // A slow-loris crowd: many handshakes begun and left hanging.
        let crowd = try (0..<200).map { _ in try TestHTTPClient(port: port, timeout: 8) }
        for client in crowd { try client.send(Array(partialHello.prefix(6))) }
        let started = Date()
        // Meanwhile other clients are served: the stalled handshake holds no loop.
        for _ in 0..<4 {
            let ok = try sClient(port, ["-servername", "a.test"], request: healthRequest())
            XCTAssertTrue(ok.output.contains("HTTP/1.1 200 OK"), ok.output)
        }
        XCTAssertTrue(stalled.isClosedByPeer(), "a stalled handshake is cut off")
        XCTAssertTrue(crowd.allSatisfy { $0.isClosedByPeer() }, "every stalled handshake is cut off")
        XCTAssertLessThan(Date().timeIntervalSince(started), 7)
        // A client that connects and sends nothing at all is cut off the same way.
        let silent = try TestHTTPClient(port: port, timeout: 8)
        XCTAssertTrue(silent.isClosedByPeer())
    }

    func testAnOCSPResponseIsStapled() throws {
        // A response for a.test's certificate, signed by the CA, made with openssl's own OCSP responder code.
        let serial = try ExternalTool.run("openssl", ["x509", "-in", "\(folder)/a.test.crt", "-noout", "-serial"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        try "V\t301231235959Z\t\t\(serial)\tunknown\t/O=Strata/CN=a.test\n".write(toFile: "\(folder)/index.txt", atomically: true, encoding: .utf8)
        let request = try ExternalTool.run(
            "openssl", ["ocsp", "-issuer", ca, "-cert", "\(folder)/a.test.crt", "-no_nonce", "-reqout", "\(folder)/ocsp-request.der"])
        XCTAssertEqual(request.status, 0, request.output)
        let response = try ExternalTool.run(
            "openssl",
            [
                "ocsp", "-index", "\(folder)/index.txt", "-rsigner", ca, "-rkey", "\(folder)/ca.key", "-CA", ca,
                "-reqin", "\(folder)/ocsp-request.der", "-respout", "\(folder)/ocsp.der", "-ndays", "1",
            ])
        XCTAssertEqual(response.status, 0, response.output)
        let (port, _) = try startWeb(["--tls-ocsp", "\(folder)/ocsp.der"])
        let stapled = try sClient(port, ["-servername", "a.test", "-status"], request: healthRequest())
        XCTAssertTrue(stapled.output.contains("OCSP Response Status: successful"), stapled.output)
        XCTAssertTrue(stapled.output.contains("Cert Status: good"), stapled.output)
    }

    func testStrataUpHTTPSMakesAndKeepsADevelopmentCertificate() throws {
        func up() throws -> (url: String, fingerprint: String, process: TierProcess) {
            let process = try tiers.start(
                "strata",
                ["up", "--https", "--port", "0", "--database", "dev.db", "--migrations", repositoryRoot.appendingPathComponent("Migrations").path])
            let line = try process.waitForLine(containing: "Strata is running at ")
            let url = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("https://") }.map(String.init), line)
            let printed = try process.waitForLine(containing: "SHA-256 ")
            return (url, String(printed.split(separator: " ").last ?? ""), process)
        }
        let first = try up()
        let certificate = folder + "/.strata/tls/localhost.crt"
        XCTAssertEqual(first.fingerprint, TLSCertificate.fingerprint(of: certificate))
        let key = try FileManager.default.attributesOfItem(atPath: folder + "/.strata/tls/localhost.key")[.posixPermissions] as? Int
        XCTAssertEqual(key, 0o600)
        let health = try ExternalTool.run("curl", ["-sS", "--http1.1", "--cacert", certificate, first.url + "healthz"])
        XCTAssertEqual(health.output, "ok\n", "verified against the printed certificate")
        let viaName = try ExternalTool.run(
            "curl", ["-sS", "--cacert", certificate, first.url.replacingOccurrences(of: "127.0.0.1", with: "localhost") + "healthz"])
        XCTAssertEqual(viaName.output, "ok\n")
        first.process.stop()
        // The next run serves the same certificate, so a browser told to trust it keeps trusting it.
        let second = try up()
        XCTAssertEqual(second.fingerprint, first.fingerprint)
    }

    func testSessionCookiesAreSecureOverHTTPS() throws {
        let port = try tiers.startStack(
            database: folder + "/https.db",
            web: ["--tls-cert", "\(folder)/a.test.crt", "--tls-key", "\(folder)/a.test.key"]
        ).webPort
        let page = try ExternalTool.run(
            "curl", ["-sS", "-D", "-", "-o", "/dev/null", "--cacert", ca, "--resolve", "a.test:\(port):127.0.0.1", "https://a.test:\(port)/login"])
        let cookies = page.output.split(whereSeparator: \.isNewline).filter { $0.lowercased().hasPrefix("set-cookie:") }
        XCTAssertFalse(cookies.isEmpty, page.output)
        for cookie in cookies { XCTAssertTrue(cookie.contains("; Secure"), String(cookie)) }
    }
}
