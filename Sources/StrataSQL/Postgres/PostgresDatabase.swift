import StrataIO
import StrataProtocol
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
    private let state = Mutex(State(openPerLoop: []))

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections open (idle or in use) or being opened, per loop of the group.
        var openPerLoop: [Int]
        var open: Int { openPerLoop.reduce(0, +) }
        var waiters: [Waiter] = []
        var nextWaiter = 0
        /// Hand-overs that passed over the longest waiter for one on the connection's loop.
        var headSkipped = 0
    }

    private struct Waiter {
        let id: Int
        /// The position in the group of the loop the caller runs on, if any.
        let loop: Int?
        let continuation: CheckedContinuation<Lease, any Error>
    }

    /// What a waiting caller is handed: a connection, or the right to open one on a loop.
    private enum Lease {
        case connection(PostgresConnection)
        case open(EventLoop)
    }

    /// How many times the longest waiter may be passed over for a caller on the returned connection's loop.
    private static let maxHeadSkips = 4

    /// Where the server's notices go (see `PostgresConnection.connect`); nil drops them.
    private let notices: (@Sendable (String) -> Void)?
    /// Whether connections prepare repeated statements (off behind a transaction-pooling PgBouncer).
    private let preparedStatements: Bool
    /// For a multi-host URL asking for a primary or a standby: the host is
    /// chosen by asking each server, not by libpq (see `HostChoice`).
    private let hostChoice: HostChoice?

    /// A pool for `url` whose connections live on `group`'s loops; the
    /// server's notices and warnings go to `notices`, or nowhere. Turn
    /// `preparedStatements` off behind PgBouncer in transaction mode.
    public init(
        url: String, group: EventLoopGroup, maxConnections: Int = 10, notices: (@Sendable (String) -> Void)? = nil,
        preparedStatements: Bool = true
    ) {
        self.url = url
        self.notices = notices
        self.preparedStatements = preparedStatements
        self.hostChoice = HostChoice(url: url)
        self.group = group
        self.maxConnections = max(1, maxConnections)
        state.withLock { $0.openPerLoop = Array(repeating: 0, count: group.loops.count) }
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

    /// Open, busy and waiting, for metrics.
    public var poolStatus: SQLPoolStatus {
        state.withLock { SQLPoolStatus(open: $0.open, busy: $0.open - $0.idle.count, waiting: $0.waiters.count, limit: maxConnections) }
    }

    /// Connections open now on each of the group's loops, in loop order.
    var openConnectionsPerLoop: [Int] { state.withLock { $0.openPerLoop } }

    /// Closes idle connections; those in use close when returned.
    public func close() {
        let idle = state.withLock { state in
            defer { state.idle.removeAll() }
            for connection in state.idle { state.openPerLoop[position(of: connection.loop)] -= 1 }
            return state.idle
        }
        for connection in idle { connection.close() }
    }

    func acquire() async throws -> PostgresConnection {
        enum Next { case use(PostgresConnection), open(EventLoop), wait }
        let caller = group.loops.firstIndex(where: \.inEventLoop)
        let next: Next = state.withLock { state in
            if let connection = Self.takeIdle(&state.idle) { return .use(connection) }
            if let loop = reserveSlot(&state, caller: caller) { return .open(loop) }
            return .wait
        }
        switch next {
        case .use(let connection):
            return connection
        case .open(let loop):
            return try await openConnection(on: loop)
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
                        if let loop = reserveSlot(&state, caller: caller) { return .open(loop) }
                        if Task.isCancelled { return nil }  // cancelled before it queued: do not queue
                        state.waiters.append(Waiter(id: id, loop: caller, continuation: continuation))
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
                    if index == 0 { state.headSkipped = 0 }
                    return state.waiters.remove(at: index).continuation
                }
                waiter?.resume(throwing: SQLError(.busy, "gave up waiting for one of the \(maxConnections) PostgreSQL connections"))
            }
            switch lease {
            case .connection(let connection): return connection
            case .open(let loop): return try await openConnection(on: loop)
            }
        }
    }

    /// Counts a new connection against the limit and picks its loop: the
    /// caller's while that loop has less than its share of the pool, else the
    /// loop with the fewest. Balanced, both cores drive connections; on the
    /// caller's loop, its statements start without a hand-off.
    private func reserveSlot(_ state: inout State, caller: Int?) -> EventLoop? {
        guard state.open < maxConnections else { return nil }
        let share = (maxConnections + group.loops.count - 1) / group.loops.count
        let target: Int
        if let caller, state.openPerLoop[caller] < share {
            target = caller
        } else {
            target = state.openPerLoop.indices.min { state.openPerLoop[$0] < state.openPerLoop[$1] }!
        }
        state.openPerLoop[target] += 1
        return group.loops[target]
    }

    private func position(of loop: EventLoop) -> Int {
        group.loops.firstIndex { $0 === loop } ?? 0
    }

    /// An idle connection, preferably one on the caller's event loop: its
    /// statements then start without a hand-off to another thread.
    private static func takeIdle(_ idle: inout [PostgresConnection]) -> PostgresConnection? {
        if let index = idle.lastIndex(where: { $0.loop.inEventLoop }) { return idle.remove(at: index) }
        return idle.popLast()
    }

    /// Opens a connection on `loop` for a slot already counted by `reserveSlot`.
    private func openConnection(on loop: EventLoop) async throws -> PostgresConnection {
        do {
            guard let hostChoice else {
                return try await PostgresConnection.connect(to: url, on: loop, notices: notices, prepares: preparedStatements)
            }
            return try await hostChoice.connect(on: loop) { host in
                try await PostgresConnection.connect(to: host, on: loop, notices: notices, prepares: preparedStatements)
            }
        } catch {
            giveUpSlot(on: loop)
            throw error
        }
    }

    func release(_ connection: PostgresConnection) {
        if connection.isBroken {
            connection.close()
            giveUpSlot(on: connection.loop)
            return
        }
        let loop = position(of: connection.loop)
        let waiter: CheckedContinuation<Lease, any Error>? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.idle.append(connection)
                return nil
            }
            // A waiter on the connection's own loop goes first (no hand-off
            // per statement), unless the longest waiter was passed over enough.
            var chosen = 0
            if state.waiters[0].loop != loop && state.headSkipped < Self.maxHeadSkips,
                let sameLoop = state.waiters.prefix(16).firstIndex(where: { $0.loop == loop })
            {
                chosen = sameLoop
                state.headSkipped += 1
            }
            if chosen == 0 { state.headSkipped = 0 }
            return state.waiters.remove(at: chosen).continuation
        }
        waiter?.resume(returning: .connection(connection))
    }

    /// A connection on `loop` closed or failed to open: the next waiter may open one (on a loop of its own choosing).
    private func giveUpSlot(on loop: EventLoop) {
        let position = position(of: loop)
        let waiter: (CheckedContinuation<Lease, any Error>, EventLoop)? = state.withLock { state in
            state.openPerLoop[position] -= 1
            guard let first = state.waiters.first, let loop = reserveSlot(&state, caller: first.loop) else { return nil }
            state.waiters.removeFirst()
            state.headSkipped = 0
            return (first.continuation, loop)
        }
        if let (continuation, loop) = waiter { continuation.resume(returning: .open(loop)) }
    }
}
