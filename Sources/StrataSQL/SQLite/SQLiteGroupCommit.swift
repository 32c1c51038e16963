import StrataIO

/// Group commit on SQLite's one writer connection.
///
/// With `synchronous=FULL` every commit waits for an fsync (100–300 µs on the
/// reference VM), so one caller's write after another's is bound by the disk,
/// not by SQLite. Writes from different callers that are waiting for the
/// writer at the same time therefore share one transaction: each runs inside
/// a savepoint of its own (a failing one rolls back only itself and answers
/// its own error), and every caller is answered after the shared COMMIT, so
/// an answered write is as durable as one committed alone.
///
/// Nothing waits for a group to fill: the writers that arrived during one
/// loop iteration (and so during the previous group's fsync) form the next
/// group, at most `maxGroup` of them. A write that finds the queue empty runs
/// alone, as before, with no added latency.
///
/// Confined to the writer's loop: every method runs on that thread.
final class SQLiteGroupCommit: IterationEndFlushable, @unchecked Sendable {
    /// Writes in one transaction at most: bounds what one failure of the
    /// group's COMMIT takes down and how long the first caller waits.
    static let maxGroup = 64

    private let loop: EventLoop
    private let connection: SQLiteConnection
    private var pending: [any GroupedWrite] = []
    private var drainScheduled = false
    /// Set while an interactive transaction or a migration holds the writer:
    /// a group started then would run inside it.
    private(set) var held = false
    /// Counters for tests and logs.
    private(set) var statistics = Statistics()

    struct Statistics: Sendable, Equatable {
        /// Transactions that carried two writes or more.
        var groups = 0
        /// Writes committed as part of a group.
        var groupedWrites = 0
        /// Writes run alone (an empty queue, or a statement that must be alone).
        var soloWrites = 0
    }

    init(loop: EventLoop, connection: SQLiteConnection) {
        self.loop = loop
        self.connection = connection
    }

    /// Queues `write`; it runs at the end of this loop iteration with the others queued in it.
    func enqueue(_ write: any GroupedWrite) {
        pending.append(write)
        scheduleDrain()
    }

    /// Takes `write` out of the queue if it is still waiting, answering it
    /// `SQLError(.busy)`; one that already ran keeps its answer.
    func withdraw(_ write: any GroupedWrite) {
        guard let index = pending.firstIndex(where: { $0 === write }) else { return }
        pending.remove(at: index)
        write.complete(commitError: Self.gaveUp)
    }

    private static let gaveUp = SQLError(.busy, "gave up waiting for the SQLite writer (a transaction or migration holds it)")

    /// Runs what is queued, then keeps groups out until `release`.
    func hold() {
        drain()
        held = true
    }

    /// Lets groups run again, starting with what queued up meanwhile.
    func release() {
        held = false
        scheduleDrain()
    }

    func flushAtIterationEnd() {
        drainScheduled = false
        drain()
    }

    private func scheduleDrain() {
        guard !drainScheduled, !pending.isEmpty else { return }
        drainScheduled = true
        loop.flushAtIterationEnd(self)
    }

    private func drain() {
        while !held, let first = pending.first {
            // A statement that must run alone (schema, pragma) runs alone and ends the group before it.
            let end = first.groupable ? pending.prefix(Self.maxGroup).firstIndex { !$0.groupable } ?? min(Self.maxGroup, pending.count) : 1
            if end == 1 {
                pending.removeFirst()
                statistics.soloWrites += 1
                first.runAlone(connection)
                first.complete(commitError: nil)
            } else {
                let group = Array(pending[..<end])
                pending.removeFirst(end)
                commit(group)
            }
        }
    }

    /// One transaction for `group`, a savepoint per write.
    private func commit(_ group: [any GroupedWrite]) {
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            for write in group { write.complete(commitError: error) }
            return
        }
        for (index, write) in group.enumerated() {
            guard write.runInGroup(connection) else {
                // Disk full, I/O error, interrupted: SQLite rolled the whole
                // transaction back. This write has its answer; the others
                // lost nothing durable and go round again.
                write.complete(commitError: nil)
                pending.insert(contentsOf: group[..<index] + group[(index + 1)...], at: 0)
                return
            }
        }
        do {
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            for write in group { write.complete(commitError: error) }
            return
        }
        statistics.groups += 1
        statistics.groupedWrites += group.count
        for write in group { write.complete(commitError: nil) }
    }
}

/// One caller's write waiting for the writer.
protocol GroupedWrite: AnyObject {
    /// Whether it may share a transaction with other writes.
    var groupable: Bool { get }
    /// Runs as its own transaction.
    func runAlone(_ connection: SQLiteConnection)
    /// Runs inside the group's transaction in a savepoint of its own, rolled
    /// back if it fails. Returns false when the failure ended the whole
    /// transaction (the write has its error; the group must start again).
    func runInGroup(_ connection: SQLiteConnection) -> Bool
    /// Answers the caller: its own result, or `commitError` if the shared COMMIT failed.
    func complete(commitError: (any Error)?)
}

/// A write whose body returns `T` to an async caller. Made on the caller's
/// thread, handed to the writer's once, and touched only there after that.
final class PendingWrite<T: Sendable>: GroupedWrite, @unchecked Sendable {
    let groupable: Bool
    private let body: @Sendable (SQLiteConnection, _ inGroup: Bool) throws -> T
    /// Set by the caller before the write is handed over.
    var continuation: UnsafeContinuation<T, any Error>?
    private var result: Result<T, any Error>?

    init(groupable: Bool, body: @escaping @Sendable (SQLiteConnection, _ inGroup: Bool) throws -> T) {
        self.groupable = groupable
        self.body = body
    }

    func runAlone(_ connection: SQLiteConnection) {
        result = Result { try body(connection, false) }
    }

    func runInGroup(_ connection: SQLiteConnection) -> Bool {
        do {
            _ = try connection.run("SAVEPOINT strata_write")
        } catch {
            result = .failure(error)
            return connection.inTransaction
        }
        result = Result { try body(connection, true) }
        if case .success = result {
            do {
                _ = try connection.run("RELEASE strata_write")
                return true
            } catch {
                result = .failure(error)
            }
        }
        guard connection.inTransaction else { return false }
        _ = try? connection.run("ROLLBACK TO strata_write")
        _ = try? connection.run("RELEASE strata_write")
        return true
    }

    func complete(commitError: (any Error)?) {
        switch (result, commitError) {
        case (.success?, let error?), (nil, let error?): continuation?.resume(throwing: error)
        case (let result?, _): continuation?.resume(with: result)
        case (nil, nil): continuation?.resume(throwing: SQLError(.other, "the write did not run"))
        }
    }
}
