import StrataCore
import StrataSQL

/// What the data tier did with its database: statements by kind with their
/// latency and errors, transactions by outcome, and the connection pool.
final class SQLMetrics: MetricsSource {
    /// Statement kinds, by first keyword; a batch and a `queryEach` call count as one each.
    enum Kind: String, CaseIterable {
        case select, insert, update, delete, other, batch
        case selectMany = "select_many"

        /// The kind of `sql` by its first word (`WITH` counts as a select), read without allocating.
        init(sql: String) {
            var word: [UInt8] = []
            for byte in sql.utf8 {
                if byte == 32 || byte == 10 || byte == 13 || byte == 9 || byte == 40 {
                    if word.isEmpty { continue } else { break }
                }
                guard word.count < 6 else { break }
                word.append(byte | 0x20)
            }
            switch word {
            case Array("select".utf8), Array("with".utf8): self = .select
            case Array("insert".utf8): self = .insert
            case Array("update".utf8): self = .update
            case Array("delete".utf8): self = .delete
            default: self = .other
            }
        }
    }

    private final class Statements: Sendable {
        let latency = LatencyHistogram()
        let errors = Counter()
    }

    private let statements: [Kind: Statements] = Dictionary(uniqueKeysWithValues: Kind.allCases.map { ($0, Statements()) })
    /// Batches (one transaction each) that committed, and that failed.
    let batchesCommitted = Counter()
    let batchesFailed = Counter()
    private let database: any SQLDatabase
    private let transactions: Transactions

    init(database: any SQLDatabase, transactions: Transactions) {
        self.database = database
        self.transactions = transactions
    }

    /// Times `work` as a statement of `kind`, and hands the time to `then`
    /// (the slow-query log) too, so one statement reads the clock twice, not four times.
    func measure<T>(_ kind: Kind, then: (Duration) -> Void = { _ in }, _ work: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let counts = statements[kind]!
        do {
            let value = try await work()
            let elapsed = ContinuousClock.now - started
            counts.latency.record(elapsed)
            then(elapsed)
            return value
        } catch {
            let elapsed = ContinuousClock.now - started
            counts.latency.record(elapsed)
            counts.errors.increment()
            then(elapsed)
            throw error
        }
    }

    func collect(into writer: inout MetricsWriter) {
        for kind in Kind.allCases {
            let counts = statements[kind]!
            counts.latency.write(
                "strata_sql_statement_duration_seconds", help: "Time statements took, by kind, in seconds (a batch counts once).",
                labels: [("kind", kind.rawValue)], into: &writer)
            writer.add(
                "strata_sql_statement_errors_total", .counter, help: "Statements the database refused, by kind.", labels: [("kind", kind.rawValue)],
                value: Double(counts.errors.value))
        }
        let help = "Transactions ended, by kind (interactive: begun over RPC; batch: one call's statements) and outcome."
        for (outcome, counter) in transactions.outcomes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            writer.add(
                "strata_sql_transactions_total", .counter, help: help, labels: [("kind", "interactive"), ("outcome", outcome.rawValue)],
                value: Double(counter.value))
        }
        writer.add(
            "strata_sql_transactions_total", .counter, help: help, labels: [("kind", "batch"), ("outcome", "committed")],
            value: Double(batchesCommitted.value))
        writer.add(
            "strata_sql_transactions_total", .counter, help: help, labels: [("kind", "batch"), ("outcome", "failed")],
            value: Double(batchesFailed.value))
        writer.add("strata_sql_transactions_open", .gauge, help: "Interactive transactions open now.", value: transactions.count)
        let pool = database.poolStatus
        writer.add("strata_sql_pool_connections_open", .gauge, help: "Database connections open.", value: pool.open)
        writer.add(
            "strata_sql_pool_connections_busy", .gauge, help: "Database connections running a statement or holding a transaction.", value: pool.busy)
        writer.add("strata_sql_pool_waiting", .gauge, help: "Callers waiting for a database connection.", value: pool.waiting)
        writer.add("strata_sql_pool_connections_max", .gauge, help: "Database connections the pool may open.", value: pool.limit)
        if let replicated = database as? ReplicatedDatabase {
            let reads = replicated.readCounts
            let help = "Plain reads outside transactions, by the server that answered (replica, or primary when none was current enough)."
            writer.add("strata_sql_reads_total", .counter, help: help, labels: [("served_by", "replica")], value: Double(reads.replica))
            writer.add("strata_sql_reads_total", .counter, help: help, labels: [("served_by", "primary")], value: Double(reads.primary))
            writer.add(
                "strata_sql_replicas_in_rotation", .gauge, help: "Replicas answering and caught up within the lag limit.",
                value: replicated.replicasInRotation)
        }
    }
}
