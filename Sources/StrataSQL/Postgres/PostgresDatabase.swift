import StrataIO
import Synchronization

/// A pool of event-loop-driven PostgreSQL connections with a size limit and a
/// wait queue. A connection found broken (the server restarted, say) is
/// dropped and a new one opened on demand, so the pool heals by itself.
public final class PostgresDatabase: Sendable {
    /// The connection URL as given (log it with `DatabaseURL.description`, which hides the password).
    let url: String
    /// Connections open at most.
    public let maxConnections: Int
    private let group: EventLoopGroup
    private let state = Mutex(State())

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Lease, any Error>)] = []
        var nextWaiter = 0
    }

    /// What a waiting caller is handed: a connection, or the right to open one.
    private enum Lease {
        case connection(PostgresConnection)
        case open
    }

    /// A pool for `url` whose connections live on `group`'s loops.
    public init(url: String, group: EventLoopGroup, maxConnections: Int = 10) {
        self.url = url
        self.group = group
        self.maxConnections = max(1, maxConnections)
    }

    /// Runs a query and returns its rows.
    public func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        try await withConnection { try await $0.execute(sql, parameters) }.queryResult
    }

    /// Runs a statement and returns the affected-row count (use `RETURNING` for generated ids).
    public func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        let result = try await withConnection { try await $0.execute(sql, parameters) }
        return ExecuteResult(rowsAffected: result.rowsAffected, lastInsertID: 0)
    }

    /// Runs `body` with a connection of its own, returned to the pool afterwards.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let value = try await body(connection)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Connections open now (idle or in use).
    public var openConnections: Int { state.withLock { $0.open } }

    /// Closes idle connections; those in use close when returned.
    public func close() {
        let idle = state.withLock { state in
            defer { state.idle.removeAll() }
            state.open -= state.idle.count
            return state.idle
        }
        for connection in idle { connection.close() }
    }

    func acquire() async throws -> PostgresConnection {
        enum Next { case use(PostgresConnection), open, wait }
        let next: Next = state.withLock { state in
            if let connection = Self.takeIdle(&state.idle) { return .use(connection) }
            if state.open < maxConnections {
                state.open += 1
                return .open
            }
            return .wait
        }
        switch next {
        case .use(let connection):
            return connection
        case .open:
            return try await openConnection()
        case .wait:
            // A caller that gives up (its RPC deadline passed, its task was
            // cancelled) leaves the queue instead of waiting on.
            let id = state.withLock { state in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            let lease = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                    // Checked again under the lock: a connection may have come back meanwhile.
                    let now: Lease? = state.withLock { state in
                        if let connection = Self.takeIdle(&state.idle) { return .connection(connection) }
                        if state.open < maxConnections {
                            state.open += 1
                            return .open
                        }
                        if Task.isCancelled { return nil }  // cancelled before it queued: do not queue
                        state.waiters.append((id, continuation))
                        return nil
                    }
                    if let now {
                        continuation.resume(returning: now)
                    } else if Task.isCancelled && !state.withLock({ $0.waiters.contains { $0.id == id } }) {
                        continuation.resume(throwing: SQLError(.busy, "gave up waiting for one of the \(maxConnections) PostgreSQL connections"))
                    }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Lease, any Error>? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index).continuation
                }
                waiter?.resume(throwing: SQLError(.busy, "gave up waiting for one of the \(maxConnections) PostgreSQL connections"))
            }
            switch lease {
            case .connection(let connection): return connection
            case .open: return try await openConnection()
            }
        }
    }

    /// An idle connection, preferably one on the caller's event loop: its
    /// statements then start without a hand-off to another thread.
    private static func takeIdle(_ idle: inout [PostgresConnection]) -> PostgresConnection? {
        if let index = idle.lastIndex(where: { $0.loop.inEventLoop }) { return idle.remove(at: index) }
        return idle.popLast()
    }

    /// Opens a connection for a slot already counted in `open`, on the caller's loop when it runs on one of the group's.
    private func openConnection() async throws -> PostgresConnection {
        do {
            let loop = group.loops.first(where: \.inEventLoop) ?? group.next()
            return try await PostgresConnection.connect(to: url, on: loop)
        } catch {
            giveUpSlot()
            throw error
        }
    }

    func release(_ connection: PostgresConnection) {
        if connection.isBroken {
            connection.close()
            giveUpSlot()
            return
        }
        let waiter: CheckedContinuation<Lease, any Error>? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.idle.append(connection)
            return nil
        }
        waiter?.resume(returning: .connection(connection))
    }

    /// A slot was freed without a connection to hand on: the next waiter may open one.
    private func giveUpSlot() {
        let waiter: CheckedContinuation<Lease, any Error>? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.open -= 1
            return nil
        }
        waiter?.resume(returning: .open)
    }
}
