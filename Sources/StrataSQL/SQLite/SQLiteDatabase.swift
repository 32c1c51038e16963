import StrataIO
import StrataProtocol
import Synchronization

/// An SQLite database used from async code: one writer connection and a
/// few read-only connections, each on a thread of its own, so blocking disk
/// I/O and busy waits never run on an I/O event loop or a cooperative-pool
/// thread. WAL mode lets the readers run while the writer writes.
///
/// The threads are `EventLoop`s with no sockets: a job queue that polls
/// briefly before it sleeps (see `BusyPoll`). Handing a query over costs far
/// less than waking a sleeping `DispatchQueue` thread each time.
public final class SQLiteDatabase: @unchecked Sendable {
    // Each thread is the only place its connection is touched.
    private let thread: EventLoop
    private let connection: SQLiteConnection
    private let readers: [(thread: EventLoop, connection: SQLiteConnection)]
    private let nextReader = Atomic<Int>(0)
    /// Writes queued for the writer or running on it.
    private let writesOutstanding = Atomic<Int>(0)
    /// Held by a transaction or a migration from its start to its end, so
    /// they run one at a time; writes outside them wait in `groupCommit`
    /// meanwhile, or they would run inside someone else's transaction.
    let transactionLock = AsyncLock()
    /// Single writes and batches, grouped into shared commits.
    let groupCommit: SQLiteGroupCommit

    /// Opens the database file at `path` with `readers` read-only connections
    /// besides the writer (default: one per core but one, at least one: each
    /// is a thread, and on two cores a second reader measured slower);
    /// `synchronous` is `FULL` (a committed write survives power loss) or
    /// `NORMAL` (faster; the last commits may be lost on power loss).
    public init(path: String, readers: Int = max(1, System.coreCount - 1), synchronous: String = "FULL") throws(SQLError) {
        connection = try SQLiteConnection(path: path, synchronous: synchronous)
        var opened: [(EventLoop, SQLiteConnection)] = []
        for index in 0..<max(0, readers) {
            opened.append((EventLoop.start(index: index, name: "sqlite-read-\(index)"), try SQLiteConnection(path: path, readOnly: true)))
        }
        thread = EventLoop.start(name: "sqlite-write")
        self.readers = opened
        groupCommit = SQLiteGroupCommit(loop: thread, connection: connection)
    }

    deinit {
        thread.shutdown()
        for reader in readers { reader.thread.shutdown() }
    }

    /// The writer and the readers; busy is the writer while writes are
    /// outstanding, and the writes behind the first are waiting for it.
    public var poolStatus: SQLPoolStatus {
        let writes = writesOutstanding.load(ordering: .relaxed)
        return SQLPoolStatus(open: 1 + readers.count, busy: min(1, writes), waiting: max(0, writes - 1), limit: 1 + readers.count)
    }

    /// Runs `body` with the writer connection on its queue.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        // Unsafe, not checked: one per statement, resumed right below.
        try await withUnsafeThrowingContinuation { continuation in
            thread.execute {
                continuation.resume(with: Result { try body(self.connection) })
            }
        }
    }

    /// Queues a write for the writer; it may share a commit with other
    /// callers' writes (see `SQLiteGroupCommit`). `body` learns whether it
    /// runs inside a group's transaction or as its own.
    func write<T: Sendable>(groupable: Bool, _ body: @escaping @Sendable (SQLiteConnection, _ inGroup: Bool) throws -> T) async throws -> T {
        writesOutstanding.wrappingAdd(1, ordering: .relaxed)
        defer { writesOutstanding.wrappingSubtract(1, ordering: .relaxed) }
        let write = PendingWrite(groupable: groupable, body: body)
        // A caller that gives up (its deadline passed) while a transaction
        // holds the writer leaves the queue; once its write runs, it is answered.
        return try await withTaskCancellationHandler {
            // Unsafe, not checked: one per statement, resumed once by the group commit.
            try await withUnsafeThrowingContinuation { continuation in
                write.continuation = continuation
                thread.execute { self.groupCommit.enqueue(write) }
            }
        } onCancel: {
            thread.execute { self.groupCommit.withdraw(write) }
        }
    }

    /// Runs a query: a plain SELECT on a reader (it sees the last committed
    /// state), anything else (`INSERT ... RETURNING`) on the writer.
    public func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        if !readers.isEmpty && SQLStatement.isPlainSelect(sql) {
            return try await withReader { try $0.query(sql, parameters) }
        }
        return try await write(groupable: SQLStatement.isGroupableWrite(sql)) { connection, _ in try connection.query(sql, parameters) }
    }

    /// Takes the writer for a transaction or a migration: queued writes run
    /// first, later ones wait until `endExclusive`.
    func beginExclusive(_ start: @escaping @Sendable (SQLiteConnection) throws -> Void) async throws {
        try await transactionLock.lock()
        do {
            try await withConnection { connection in
                self.groupCommit.hold()
                do {
                    try start(connection)
                } catch {
                    self.groupCommit.release()
                    throw error
                }
            }
        } catch {
            transactionLock.unlock()
            throw error
        }
    }

    /// Gives the writer back after `finish` (COMMIT or ROLLBACK), whether it succeeds or not.
    func endExclusive(_ finish: @escaping @Sendable (SQLiteConnection) throws -> Void) async throws {
        defer { transactionLock.unlock() }
        try await withConnection { connection in
            defer { self.groupCommit.release() }
            try finish(connection)
        }
    }

    /// Runs `body` with a read-only connection on its thread (the writer when there are no readers).
    func withReader<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        guard !readers.isEmpty else { return try await transactionLock.withLock { try await withConnection(body) } }
        let index = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue % readers.count
        return try await withUnsafeThrowingContinuation { continuation in
            readers[index].thread.execute {
                continuation.resume(with: Result { try body(self.readers[index].connection) })
            }
        }
    }

    /// Runs a write statement.
    public func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        try await write(groupable: SQLStatement.isGroupableWrite(sql)) { connection, _ in try connection.run(sql, parameters) }
    }
}
