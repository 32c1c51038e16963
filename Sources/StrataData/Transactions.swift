import StrataCore
import StrataProtocol
import StrataRPC
import StrataSQL
import Synchronization

/// The interactive transactions open in the data tier. Each is bound to the
/// RPC connection that began it and holds a database connection until
/// commit or rollback; one whose caller went away, or that sat idle longer
/// than `lease`, is rolled back and its connection returned.
public final class Transactions: Sendable {
    /// How long a transaction may sit idle before it is rolled back.
    public let lease: Duration
    private let open = Mutex<[String: Entry]>([:])

    /// How an interactive transaction ended.
    enum Outcome: String, CaseIterable {
        case committed
        case rolledBack = "rolled_back"
        /// COMMIT refused (a conflict, a constraint checked at the end).
        case failed
        /// Idle past the lease.
        case expired
        /// Its caller's connection closed first.
        case abandoned
    }

    /// Transactions ended, by outcome.
    let outcomes: [Outcome: Counter] = Dictionary(uniqueKeysWithValues: Outcome.allCases.map { ($0, Counter()) })

    private struct Entry {
        let transaction: any SQLTransaction
        let connectionID: UInt64
        var lastUsed: ContinuousClock.Instant
    }

    /// An empty registry whose transactions expire after `lease` idle.
    public init(lease: Duration) { self.lease = lease }

    func begin(on database: any SQLDatabase, isolation: SQLIsolation, connectionID: UInt64) async throws -> TransactionID {
        let transaction = try await database.begin(isolation: isolation)
        let id = Digest.hex(Digest.randomBytes(16))
        open.withLock { $0[id] = Entry(transaction: transaction, connectionID: connectionID, lastUsed: .now) }
        return TransactionID(id)
    }

    /// The transaction `id`, if the caller's connection owns it; refreshes its lease.
    func use(_ id: String, connectionID: UInt64) throws(RPCError) -> any SQLTransaction {
        try open.withLock { (open) throws(RPCError) -> any SQLTransaction in
            guard var entry = open[id] else {
                throw RPCError(.failedPrecondition, "no open transaction \(id.prefix(8))…: it ended or its lease expired")
            }
            guard entry.connectionID == connectionID else {
                throw RPCError(.permissionDenied, "the transaction belongs to another connection")
            }
            entry.lastUsed = .now
            open[id] = entry
            return entry.transaction
        }
    }

    /// Ends `id`; commit when `commit`, else roll back.
    func end(_ id: String, connectionID: UInt64, commit: Bool) async throws {
        let transaction = try use(id, connectionID: connectionID)
        open.withLock { _ = $0.removeValue(forKey: id) }
        guard commit else {
            await transaction.rollback()
            outcomes[.rolledBack]!.increment()
            return
        }
        do {
            try await transaction.commit()
            outcomes[.committed]!.increment()
        } catch {
            outcomes[.failed]!.increment()
            throw error
        }
    }

    /// Rolls back the transactions of a closed connection.
    func connectionClosed(_ connectionID: UInt64) async {
        let count = await rollBack { $0.connectionID == connectionID }
        outcomes[.abandoned]!.increment(by: UInt64(count))
    }

    /// Rolls back transactions idle past the lease; returns how many.
    @discardableResult
    func expire(now: ContinuousClock.Instant = .now) async -> Int {
        let count = await rollBack { now - $0.lastUsed > lease }
        outcomes[.expired]!.increment(by: UInt64(count))
        return count
    }

    @discardableResult
    private func rollBack(where chosen: (Entry) -> Bool) async -> Int {
        let ended = open.withLock { open in
            let ids = open.filter { chosen($0.value) }.map(\.key)
            return ids.compactMap { open.removeValue(forKey: $0)?.transaction }
        }
        for transaction in ended { await transaction.rollback() }
        return ended.count
    }

    /// Transactions open now.
    var count: Int { open.withLock { $0.count } }
}
