import Foundation
import StrataIO
import StrataProtocol
import StrataRPC
import StrataSQL
import StrataTestSupport
import Synchronization
import XCTest

/// What the data tier answered as written is on disk, whatever happens to
/// the process after the answer.
final class DurabilityTests: XCTestCase {
    private static let secret = "durability-test-secret-0123456789"

    /// 32 writers stream inserts through RPC, so they queue on the writer and
    /// commit in groups; the data tier is killed with SIGKILL mid-stream. Every
    /// insert it answered must be in the file when it is opened again.
    func testKillNineDuringGroupCommitsLosesNoAnsweredWrite() async throws {
        let tiers = try Tiers(secret: Self.secret)
        defer { tiers.stop() }
        let file = tiers.folder.path + "/durable.sqlite"
        let migrations = repositoryRoot.appendingPathComponent("Migrations").path
        let migrate = try tiers.start("strata-data", ["migrate", "up", "--database", file, "--migrations", migrations])
        XCTAssertEqual(migrate.waitForExit(), 0, migrate.output.joined(separator: "\n"))
        let data = try tiers.start("strata-data", ["serve", "--listen", "127.0.0.1:0", "--database", file, "--migrations", migrations])
        let address = try SocketAddress(parsing: try data.waitForReady())

        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let client = RPCClient(addresses: [address], group: group, callerName: "app", secret: Array(Self.secret.utf8))
        let answered = Answered()
        let writers = Task {
            await withTaskGroup(of: Void.self) { writers in
                for writer in 0..<32 {
                    writers.addTask {
                        for sequence in 0..<5_000 {
                            let name = "w\(writer)-\(sequence)"
                            let insert = SQLStatement(
                                "INSERT INTO guestbook_entries (name, message, created_at) VALUES ($1, 'durable', '2026-12-02')",
                                [.text(name)])
                            do {
                                _ = try await client.call(DataMethod.execute, insert, timeout: .seconds(5))
                            } catch {
                                return  // the tier is gone: this write was never answered
                            }
                            answered.names.withLock { $0.append(name) }
                        }
                    }
                }
            }
        }

        // Kill once a good stream is under way, well before the writers run out.
        let started = ContinuousClock.now
        while answered.names.withLock({ $0.count }) < 2_000 && ContinuousClock.now - started < .seconds(30) {
            try await Task.sleep(for: .milliseconds(5))
        }
        data.send(SIGKILL)
        XCTAssertNotNil(data.waitForExit(), "the data tier should be gone after SIGKILL")
        await writers.value
        let acknowledged = answered.names.withLock { $0 }
        XCTAssertGreaterThanOrEqual(acknowledged.count, 2_000, "the stream should have been running when the tier was killed")
        XCTAssertLessThan(acknowledged.count, 32 * 5_000, "the kill should have come mid-stream")

        let reopened = try SQLiteDatabase(path: file, readers: 0)
        let rows = try await reopened.query("SELECT name FROM guestbook_entries", []).rows
        let stored = Set(rows.compactMap { if case .text(let name) = $0.first { name } else { nil } })
        let lost = acknowledged.filter { !stored.contains($0) }
        XCTAssertEqual(lost.count, 0, "answered but not on disk: \(lost.prefix(10))")
        XCTAssertGreaterThanOrEqual(stored.count, acknowledged.count)
    }
}

/// The names of the inserts the data tier answered, from every writer.
private final class Answered: Sendable {
    let names = Mutex<[String]>([])
}
