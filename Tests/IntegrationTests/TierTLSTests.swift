import Foundation
import StrataIO
import StrataTestSupport
import XCTest

/// TLS between the tiers (mutual, from STRATA_RPC_TLS_*) and to PostgreSQL
/// (libpq's sslmode), with the real executables and a real server.
final class TierTLSTests: XCTestCase {
    private var tiers: Tiers!
    private var folder: String { tiers.folder.path }

    override func setUpWithError() throws {
        tiers = try Tiers(secret: "tier-tls-test-secret-0123456789ab")
        for authority in ["ca", "other-ca"] {
            try TLSCertificate.create(
                certificate: "\(folder)/\(authority).crt", key: "\(folder)/\(authority).key", names: ["Strata \(authority)"], days: 2,
                isAuthority: true)
        }
        try issue("tier", names: ["localhost", "127.0.0.1"], by: "ca")
        try issue("stranger", names: ["localhost", "127.0.0.1"], by: "other-ca")
        try issue("elsewhere", names: ["elsewhere.test"], by: "ca")
    }

    override func tearDown() { tiers.stop() }

    private func issue(_ file: String, names: [String], by authority: String) throws {
        try TLSCertificate.create(
            certificate: "\(folder)/\(file).crt", key: "\(folder)/\(file).key", names: names, days: 2,
            signedBy: (certificate: "\(folder)/\(authority).crt", key: "\(folder)/\(authority).key"))
    }

    /// The environment giving a tier `file`'s pair and trust in `authority`.
    private func tls(_ file: String = "tier", authority: String = "ca") -> [String: String] {
        [
            "STRATA_RPC_TLS_CERT": "\(folder)/\(file).crt", "STRATA_RPC_TLS_KEY": "\(folder)/\(file).key",
            "STRATA_RPC_TLS_CA": "\(folder)/\(authority).crt",
        ]
    }

    private func startData(environment: [String: String]) throws -> String {
        let database = folder + "/tls.db"
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let migrate = try tiers.start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        return try tiers.start(
            "strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations], environment: environment
        ).waitForReady()
    }

    /// `strata rpc call ADDRESS health.check` with `environment`: exit status and output.
    private func call(_ address: String, environment: [String: String]) throws -> (Int32?, String) {
        let process = try tiers.start("strata", ["rpc", "call", address, "health.check", "--timeout", "5"], environment: environment)
        let status = process.waitForExit(seconds: 20)
        return (status, process.output.joined(separator: "\n"))
    }

    func testTiersTalkMutualTLSAndRefuseEveryOtherPeer() throws {
        let data = try startData(environment: tls())
        // The app tier dials the data tier over mutual TLS (it refuses to start if it cannot reach it).
        let app = try tiers.start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", data], environment: tls()).waitForReady()
        let web = try tiers.start("strata-web", ["serve", "--port", "0", "--app", app, "--rate-limit", "0"], environment: tls()).waitForReady()
        let webPort = try XCTUnwrap(Int(web.split(separator: ":").last ?? ""))
        // A page through all three tiers, every hop encrypted.
        let client = try TestHTTPClient(port: webPort)
        let page = try client.request("GET", "/")
        XCTAssertEqual(page.status, 200, page.text)

        let (good, output) = try call(data, environment: tls())
        XCTAssertEqual(good, 0, output)
        XCTAssertTrue(output.contains("\"status\""), output)
        // Dialling by name checks the name too: the certificate names localhost.
        let port = data.split(separator: ":").last!
        XCTAssertEqual(try call("localhost:\(port)", environment: tls()).0, 0)

        // Plaintext, a certificate from another CA, a server certificate for
        // another name, and a client that trusts another CA are all refused.
        let (plain, plainOutput) = try call(data, environment: [:])
        XCTAssertNotEqual(plain, 0, "plaintext RPC to a TLS tier: \(plainOutput)")
        let (stranger, strangerOutput) = try call(data, environment: tls("stranger", authority: "ca"))
        XCTAssertNotEqual(stranger, 0, "a client certificate the CA did not sign: \(strangerOutput)")
        let (distrust, distrustOutput) = try call(data, environment: tls("tier", authority: "other-ca"))
        XCTAssertNotEqual(distrust, 0, distrustOutput)
        XCTAssertTrue(distrustOutput.contains("certificate verify failed"), distrustOutput)

        let misnamed = try startData(environment: tls("elsewhere"))
        let (wrongName, wrongNameOutput) = try call(misnamed, environment: tls())
        XCTAssertNotEqual(wrongName, 0, wrongNameOutput)
        XCTAssertTrue(wrongNameOutput.contains("certificate verify failed"), wrongNameOutput)
    }

    func testTLSInitMakesCertificatesTheTiersAccept() throws {
        let made = try tiers.start("strata", ["tls", "init", "certs", "--names", "data,app"])
        XCTAssertEqual(made.waitForExit(), 0, made.output.joined(separator: "\n"))
        let certs = folder + "/certs"
        let key = try FileManager.default.attributesOfItem(atPath: certs + "/data.key")[.posixPermissions] as? Int
        XCTAssertEqual(key, 0o600, "private keys are readable by their owner only")
        func environment(_ name: String) -> [String: String] {
            ["STRATA_RPC_TLS_CERT": "\(certs)/\(name).crt", "STRATA_RPC_TLS_KEY": "\(certs)/\(name).key", "STRATA_RPC_TLS_CA": certs + "/ca.crt"]
        }
        let data = try startData(environment: environment("data"))
        let (status, output) = try call(data, environment: environment("app"))
        XCTAssertEqual(status, 0, output)
        // Run again, it keeps what is there: the tiers' trust does not change under them.
        let before = TLSCertificate.fingerprint(of: certs + "/ca.crt")
        XCTAssertEqual(try tiers.start("strata", ["tls", "init", "certs", "--names", "data,app"]).waitForExit(), 0)
        XCTAssertEqual(TLSCertificate.fingerprint(of: certs + "/ca.crt"), before)
    }

    func testPlaintextClientToATLSTierAndTLSClientToAPlaintextTierFail() throws {
        let plaintextData = try startData(environment: [:])
        let (status, output) = try call(plaintextData, environment: tls())
        XCTAssertNotEqual(status, 0, "TLS configured: no falling back to plaintext: \(output)")
    }

    func testAPartialTLSSettingIsAClearStartupError() throws {
        let process = try tiers.start(
            "strata-data",
            [
                "serve", "--listen", "127.0.0.1:0", "--database", folder + "/x.db", "--migrations",
                repositoryRoot.appendingPathComponent("Migrations").path,
            ],
            environment: ["STRATA_RPC_TLS_CERT": "\(folder)/tier.crt"])
        XCTAssertEqual(process.waitForExit(), 1)
        XCTAssertTrue(process.output.joined().contains("STRATA_RPC_TLS_KEY"), process.output.joined(separator: "\n"))
    }

    func testPostgresVerifyFullWorksAndAWrongCAIsRefused() throws {
        try issue("postgres", names: ["localhost", "127.0.0.1"], by: "ca")
        guard
            let server = try PostgresServer.startIfAvailable(
                tls: (certificate: "\(folder)/postgres.crt", key: "\(folder)/postgres.key"))
        else { throw XCTSkip("PostgreSQL is not installed") }
        defer { server.stop() }
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let verified = "postgres://strata@localhost:\(server.port)/postgres?sslmode=verify-full&sslrootcert=\(folder)/ca.crt"
        let migrate = try tiers.start("strata-data", ["migrate", "up", "--database", verified, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        let data = try tiers.start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", verified, "--migrations", migrations])
            .waitForReady()
        XCTAssertEqual(try call(data, environment: [:]).0, 0)

        let wrongCA = "postgres://strata@localhost:\(server.port)/postgres?sslmode=verify-full&sslrootcert=\(folder)/other-ca.crt"
        let refused = try tiers.start("strata-data", ["migrate", "status", "--database", wrongCA, "--migrations", migrations])
        XCTAssertEqual(refused.waitForExit(), 1)
        let output = refused.output.joined(separator: "\n")
        XCTAssertTrue(output.contains("certificate verify failed"), output)
    }
}
