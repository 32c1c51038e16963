import Foundation
import StrataTestSupport
import XCTest

/// The real executables a test starts, on ephemeral loopback ports with a
/// shared secret, in a temporary folder; `stop()` ends them by PID.
final class Tiers {
    let folder: TemporaryFolder
    private var processes: [TierProcess] = []
    private let secret: [String: String]

    init(secret: String) throws {
        folder = try TemporaryFolder()
        self.secret = ["STRATA_RPC_SECRET": secret]
    }

    /// Starts `executable` with the secret (and `environment`) in the folder.
    func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> TierProcess {
        let process = try TierProcess(executable, arguments, environment: secret.merging(environment) { $1 }, directory: folder.url)
        processes.append(process)
        return process
    }

    /// Migrates `database` with the repository's migrations, then starts the
    /// data, app and web tiers (with the extra arguments); returns the web
    /// tier's port and the data tier's RPC address.
    func startStack(database: String, app appArguments: [String] = [], web webArguments: [String] = []) throws -> (webPort: Int, dataAddress: String)
    {
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let migrate = try start("strata-data", ["migrate", "up", "--database", database, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        let dataAddress = try start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", database, "--migrations", migrations])
            .waitForReady()
        let appAddress = try start("strata-app", ["serve", "--listen", "127.0.0.1:0", "--data", dataAddress] + appArguments).waitForReady()
        let webAddress = try start("strata-web", ["serve", "--port", "0", "--app", appAddress, "--rate-limit", "0"] + webArguments).waitForReady()
        return (try XCTUnwrap(Int(webAddress.split(separator: ":").last ?? "")), dataAddress)
    }

    /// Ends every process started here, newest first, and removes the folder.
    func stop() {
        for process in processes.reversed() { process.stop() }
        processes.removeAll()
        folder.remove()
    }
}
