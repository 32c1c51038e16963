import StrataCore
import StrataProtocol
import Synchronization

/// Watches a primary's WAL position and how far each replica has replayed
/// it, and keeps `Replica.caughtUpTo` and `inRotation` current.
///
/// Each round samples the primary's `pg_current_wal_lsn()` at an instant T,
/// then asks each replica for `pg_last_wal_replay_lsn()`: a replica that has
/// replayed past the sample holds every write acknowledged before T, so it
/// is caught up to T. With the primary unreachable (failing over), a replica
/// that has replayed all the WAL it received holds every write a
/// synchronous primary acknowledged, and stays in rotation to serve reads.
final class ReplicaMonitor: Sendable {
    private let primary: PostgresDatabase
    private let replicas: [ReplicatedDatabase.Replica]
    private let maxLag: Duration
    private let interval: Duration
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Longest wait for one answer: a server that hangs is as good as gone.
    static let answerTimeout = Duration.seconds(1)

    init(primary: PostgresDatabase, replicas: [ReplicatedDatabase.Replica], maxLag: Duration, interval: Duration) {
        self.primary = primary
        self.replicas = replicas
        self.maxLag = maxLag
        self.interval = interval
    }

    func start() {
        guard !replicas.isEmpty else { return }
        let running = Task { [self] in
            while !Task.isCancelled {
                await look()
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = running }
    }

    func stop() { task.withLock { $0?.cancel() } }

    /// One round: the primary's position, then each replica's.
    func look() async {
        let sampled = ContinuousClock.now
        let primaryPosition = await Self.answer(primary, "SELECT pg_current_wal_lsn()::text").flatMap { Self.lsn($0.first?.textValue) }
        for replica in replicas {
            guard
                let row = await Self.answer(
                    replica.pool, "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_last_wal_receive_lsn()::text"),
                row.first == .bool(true), let replayed = Self.lsn(row[1].textValue)
            else {
                // Gone, or not a replica (promoted): no reads until it is one again.
                replica.inRotation.store(false, ordering: .relaxed)
                continue
            }
            let received = Self.lsn(row[2].textValue) ?? replayed
            if primaryPosition.map({ replayed >= $0 }) ?? (replayed >= received) {
                replica.caughtUpTo.withLock { $0 = sampled }
            }
            let caughtUp = replica.caughtUpTo.withLock { $0 }
            replica.inRotation.store(caughtUp.map { ContinuousClock.now - $0 <= maxLag } ?? false, ordering: .relaxed)
        }
    }

    /// The first row `sql` gives on `pool`, or nil when it fails or takes
    /// longer than `answerTimeout` (the query is left to end by itself).
    private static func answer(_ pool: PostgresDatabase, _ sql: String) async -> [SQLValue]? {
        try? await withTimeout(answerTimeout) { try await pool.query(sql, []).rows.first }
    }

    /// A WAL position `X/Y` (hex halves) as one number.
    static func lsn(_ text: String?) -> UInt64? {
        guard let text, let slash = text.firstIndex(of: "/"), let high = UInt64(text[..<slash], radix: 16),
            let low = UInt64(text[text.index(after: slash)...], radix: 16)
        else { return nil }
        return high << 32 | low
    }
}
