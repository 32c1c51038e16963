import StrataCore
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
        let found: (any SQLTransaction)?? = open.withLock { open in
            guard var entry = open[id] else { return .none }
            guard entry.connectionID == connectionID else { return .some(nil) }
            entry.lastUsed = .now
            open[id] = entry
            return .some(entry.transaction)
        }
        switch found {
        case .none: throw RPCError(.failedPrecondition, "no open transaction \(id.prefix(8))…: it ended or its lease expired")
        case .some(.none): throw RPCError(.permissionDenied, "the transaction belongs to another connection")
        case .some(.some(let transaction)): return transaction
        }
    }

    /// Ends `id`; commit when `commit`, else roll back.
    func end(_ id: String, connectionID: UInt64, commit: Bool) async throws {
        let transaction = try use(id, connectionID: connectionID)
        open.withLock { _ = $0.removeValue(forKey: id) }
        if commit { try await transaction.commit() } else { await transaction.rollback() }
    }

    /// Rolls back the transactions of a closed connection.
    func connectionClosed(_ connectionID: UInt64) async {
        let orphans = open.withLock { open in
            let ids = open.filter { $0.value.connectionID == connectionID }.map(\.key)
            return ids.compactMap { open.removeValue(forKey: $0)?.transaction }
        }
        for transaction in orphans { await transaction.rollback() }
    }

    /// Rolls back transactions idle past the lease; returns how many.
    @discardableResult
    func expire(now: ContinuousClock.Instant = .now) async -> Int {
        let expired = open.withLock { open in
            let ids = open.filter { now - $0.value.lastUsed > lease }.map(\.key)
            return ids.compactMap { open.removeValue(forKey: $0)?.transaction }
        }
        for transaction in expired { await transaction.rollback() }
        return expired.count
    }

    /// Transactions open now.
    var count: Int { open.withLock { $0.count } }
}
