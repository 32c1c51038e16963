import StrataIO
import StrataProtocol
import Synchronization

/// A PostgreSQL primary with streaming replicas: reads may go to a replica,
/// everything else goes to the primary.
///
/// As an `SQLDatabase` it is the primary (migrations, transactions, batches,
/// health). The data tier sends plain reads outside transactions through
/// `read`, which picks a replica when one is *current enough* for the
/// caller:
///
/// - A replica is in rotation while `ReplicaMonitor` sees it answer, in
///   recovery, and caught up with the primary no longer ago than `maxLag`.
/// - Read-your-writes: after a caller's write (`noteWrite`, keyed by the
///   caller's consistency key) its reads stay on the primary until the
///   monitor has seen a replica replay past a primary position sampled
///   after that write. Without a key, any replica in rotation will do.
///
/// A replica that fails a read is taken out until the monitor sees it again,
/// and the read runs on the primary.
public final class ReplicatedDatabase: Sendable {
    /// The primary: where writes, transactions and migrations go.
    public let primary: PostgresDatabase
    let replicas: [Replica]
    let maxLag: Duration
    private let writes = Mutex(RecentWrites())
    private let counts = Mutex(ReadCounts())
    private let monitor: ReplicaMonitor

    /// One replica's pool and what the monitor last saw of it.
    final class Replica: Sendable {
        let pool: PostgresDatabase
        /// The latest moment such that the replica had replayed everything the
        /// primary had written by then; nil until first seen.
        let caughtUpTo = Mutex<ContinuousClock.Instant?>(nil)
        let inRotation = Atomic<Bool>(false)

        init(pool: PostgresDatabase) { self.pool = pool }
    }

    /// When each caller last wrote, for read-your-writes; bounded.
    private struct RecentWrites {
        var at: [String: ContinuousClock.Instant] = [:]
        static let limit = 50_000
    }

    /// Reads served, by where they went, for metrics and tests.
    public struct ReadCounts: Sendable, Equatable {
        public var replica: UInt64 = 0
        public var primary: UInt64 = 0
    }

    /// A primary pool and replica pools; the monitor looks every `interval`
    /// and takes a replica out when it lags more than `maxLag`.
    public init(primary: PostgresDatabase, replicas: [PostgresDatabase], maxLag: Duration = .seconds(5), interval: Duration = .milliseconds(200)) {
        self.primary = primary
        self.replicas = replicas.map(Replica.init)
        self.maxLag = maxLag
        monitor = ReplicaMonitor(primary: primary, replicas: self.replicas, maxLag: maxLag, interval: interval)
        monitor.start()
    }

    /// Stops watching the replicas and closes every pool's idle connections.
    public func close() {
        monitor.stop()
        primary.close()
        for replica in replicas { replica.pool.close() }
    }

    /// Reads served so far on replicas and on the primary.
    public var readCounts: ReadCounts { counts.withLock { $0 } }

    /// Replicas in rotation now.
    public var replicasInRotation: Int { replicas.filter { $0.inRotation.load(ordering: .relaxed) }.count }

    /// Records that the caller with `key` wrote just now: its reads stay on
    /// the primary until a replica is known to have that write.
    public func noteWrite(key: String?) {
        guard let key, !replicas.isEmpty else { return }
        let now = ContinuousClock.now
        writes.withLock { writes in
            if writes.at.count >= RecentWrites.limit {
                // Writes older than the lag limit no longer pin anything a replica in rotation lacks.
                writes.at = writes.at.filter { now - $0.value < maxLag }
                if writes.at.count >= RecentWrites.limit { writes.at.removeAll() }
            }
            writes.at[key] = now
        }
    }

    /// Runs a plain read on a replica current enough for the caller with
    /// `key`, else on the primary.
    public func read(_ sql: String, _ parameters: [SQLValue], key: String?) async throws -> QueryResult {
        try await route(key: key) { try await $0.query(sql, parameters) }
    }

    /// `queryEach` on a replica current enough for the caller with `key`, else on the primary.
    public func readEach(_ statements: [SQLStatement], key: String?) async throws -> [QueryResult] {
        try await route(key: key) { try await $0.queryEach(statements) }
    }

    private func route<T: Sendable>(key: String?, _ body: (PostgresDatabase) async throws -> T) async throws -> T {
        if let replica = choose(key: key) {
            do {
                let value = try await body(replica.pool)
                counts.withLock { $0.replica += 1 }
                return value
            } catch let error as SQLError where error.kind == .unavailable {
                // Out until the monitor sees it answer again; the read goes to the primary.
                replica.inRotation.store(false, ordering: .relaxed)
            }
        }
        let value = try await body(primary)
        counts.withLock { $0.primary += 1 }
        return value
    }

    /// A replica in rotation that has replayed past the caller's last write;
    /// among several, the one with the fewest connections busy.
    private func choose(key: String?) -> Replica? {
        let wrote = key.flatMap { key in writes.withLock { $0.at[key] } }
        var best: (replica: Replica, busy: Int)?
        for replica in replicas where replica.inRotation.load(ordering: .relaxed) {
            if let wrote {
                guard let caughtUp = replica.caughtUpTo.withLock({ $0 }), caughtUp > wrote else { continue }
            }
            let busy = replica.pool.poolStatus.busy
            if best == nil || busy < best!.busy { best = (replica, busy) }
        }
        return best?.replica
    }
}

extension ReplicatedDatabase: SQLDatabase {
    public var engine: SQLEngine { .postgres }
    public func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult { try await primary.query(sql, parameters) }
    public func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult { try await primary.run(sql, parameters) }
    public func withMigrationSession<T: Sendable>(_ body: (any MigrationSession) async throws -> T) async throws -> T {
        try await primary.withMigrationSession(body)
    }
    public func begin(isolation: SQLIsolation) async throws -> any SQLTransaction { try await primary.begin(isolation: isolation) }
    public func batch(_ statements: [SQLStatement], isolation: SQLIsolation) async throws -> [ExecuteResult] {
        try await primary.batch(statements, isolation: isolation)
    }
    public func queryEach(_ statements: [SQLStatement]) async throws -> [QueryResult] { try await primary.queryEach(statements) }
    public var poolStatus: SQLPoolStatus { primary.poolStatus }
}
