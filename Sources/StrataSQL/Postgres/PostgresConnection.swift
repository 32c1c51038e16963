import CPostgres
import StrataCore
import StrataIO
import StrataProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One PostgreSQL connection driven by an event loop: libpq in non-blocking
/// mode, its socket in the loop's epoll set, so waiting for the server never
/// holds a thread. Statements run one at a time in arrival order; every call
/// may come from any thread.
///
/// Values always travel as parameters (`PQsendQueryParams`), never inside the SQL.
public final class PostgresConnection: @unchecked Sendable {
    /// The loop that owns the connection; all state below is touched only there.
    public let loop: EventLoop
    private let connection: OpaquePointer
    private var watcher: DescriptorWatcher!
    private var queue: [Operation] = []
    private var current: Operation?
    private var connecting: CheckedContinuation<Void, any Error>?
    private var broken: SQLError?
    /// Prepared statements by SQL text: parsed and planned once per connection.
    private var prepared: [String: String] = [:]
    private var preparedNames = 0
    static let maxPrepared = 256
    /// Off behind a transaction-pooling PgBouncer, where the next statement
    /// may reach another server connection that never saw the Prepare.
    private let prepares: Bool
    private let failed = Atomic<Bool>(false)

    private struct Operation {
        let sql: String
        let parameters: [SQLValue]
        /// Sent with the simple query protocol: several statements, no parameters.
        var script = false
        /// Set while the statement is being prepared (the first time this connection sees it).
        var preparing: String?
        /// Whether the statement already ran again after its cached plan went stale.
        var replanned = false
        /// Who waits for a single statement (nil for a pipeline, which answers
        /// through its own). Unsafe, not checked: one per statement, resumed
        /// once when the operation leaves the queue.
        let continuation: UnsafeContinuation<PostgresResult, any Error>?
        var flushed = false
        var result: PostgresResult?
        /// Set for a batch sent in pipeline mode (see `pipeline(_:isolation:)`).
        var pipeline: Pipeline?

        init(sql: String, parameters: [SQLValue], script: Bool = false, continuation: UnsafeContinuation<PostgresResult, any Error>) {
            self.sql = sql
            self.parameters = parameters
            self.script = script
            self.continuation = continuation
        }

        init(pipeline: Pipeline) {
            sql = ""
            parameters = []
            continuation = nil
            self.pipeline = pipeline
        }

        func resume(throwing error: any Error) {
            continuation?.resume(throwing: error)
            pipeline?.continuation.resume(throwing: error)
        }
    }

    /// A batch in flight in pipeline mode: BEGIN, the statements, COMMIT (or
    /// only the statements, for reads), then a sync.
    private struct Pipeline {
        let statements: [(sql: String, parameters: [SQLValue])]
        /// nil: no BEGIN and COMMIT; the statements up to the sync still run
        /// as one implicit transaction (reads see one snapshot).
        let isolation: SQLIsolation?
        let continuation: CheckedContinuation<[PostgresResult], any Error>
        /// What was sent, in order: each command's results end with a NULL.
        var commands: [PipelineCommand] = []
        /// The command whose results arrive now.
        var command = 0
        var results: [PostgresResult] = []
        /// The first failure and the statement it belongs to (-1: BEGIN or COMMIT).
        var failure: (index: Int, error: SQLError)?
        /// After a failure the transaction is left aborted: ROLLBACK is on its way.
        var rollingBack = false
    }

    /// One command of a pipeline.
    private enum PipelineCommand {
        /// BEGIN or COMMIT.
        case control
        /// Preparing the statement text `sql` under the name it was given.
        case prepare(sql: String)
        /// The statement at this index of the batch.
        case statement(Int)
    }

    /// Where the server's notices and warnings go; kept alive as long as libpq may call it.
    private let notices: NoticeSink?

    private init(connection: OpaquePointer, loop: EventLoop, notices: NoticeSink?, prepares: Bool) {
        self.connection = connection
        self.loop = loop
        self.notices = notices
        self.prepares = prepares
    }

    deinit { PQfinish(connection) }

    /// Connects to `url` (any libpq connection string or `postgres://` URL;
    /// `sslmode` and the rest pass through to libpq).
    ///
    /// The server's notices and warnings ("relation ... already exists,
    /// skipping", "there is no transaction in progress") go to `notices`,
    /// or nowhere: libpq's default prints them to stderr, past the log
    /// format and into an operator's terminal.
    ///
    /// With `prepares` off every statement is sent unnamed (parsed each
    /// time), as a transaction-pooling PgBouncer needs.
    public static func connect(
        to url: String, on loop: EventLoop, notices: (@Sendable (String) -> Void)? = nil, prepares: Bool = true
    ) async throws -> PostgresConnection {
        guard let raw = PQconnectStart(url) else { throw SQLError(.unavailable, "out of memory starting a PostgreSQL connection") }
        let sink = notices.map(NoticeSink.init)
        PQsetNoticeProcessor(raw, noticeProcessor, sink.map { Unmanaged.passUnretained($0).toOpaque() })
        guard PQstatus(raw) != CONNECTION_BAD else {
            let message = Self.message(raw)
            PQfinish(raw)
            throw SQLError(.unavailable, "cannot connect to PostgreSQL: \(message)")
        }
        PQsetnonblocking(raw, 1)
        let timeout = Self.connectTimeout(raw)
        let connection = PostgresConnection(connection: raw, loop: loop, notices: sink, prepares: prepares)
        // libpq keeps connect_timeout only in its blocking calls; driven by
        // PQconnectPoll, a host that never answers would be waited for forever.
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            connection.loop.execute { connection.giveUpConnecting(after: timeout) }
        }
        defer { watchdog.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { connection.beginConnecting(continuation) }
        }
        // Timestamps come back in UTC whatever the server's default zone.
        _ = try await connection.execute("SET TIME ZONE 'UTC'", [])
        return connection
    }

    /// Runs one statement with `$1, $2, ...` parameters and returns its rows (or affected count).
    public func execute(_ sql: String, _ parameters: [SQLValue]) async throws -> PostgresResult {
        try await withUnsafeThrowingContinuation { continuation in
            let operation = Operation(sql: sql, parameters: parameters, continuation: continuation)
            // A caller on this connection's loop (the pool prefers those) queues it without a hand-off.
            if loop.inEventLoop { enqueue(operation) } else { loop.execute { self.enqueue(operation) } }
        }
    }

    /// Runs SQL holding several statements and no parameters (a migration).
    public func executeScript(_ sql: String) async throws -> PostgresResult {
        try await withUnsafeThrowingContinuation { continuation in
            loop.execute { self.enqueue(Operation(sql: sql, parameters: [], script: true, continuation: continuation)) }
        }
    }

    /// Runs `statements` as one transaction at `isolation` in libpq's pipeline
    /// mode: BEGIN, every statement and COMMIT leave together and the server
    /// answers them in one round trip instead of one per statement. On a
    /// failure the rest are skipped, the transaction is rolled back, and
    /// `BatchFailure` names the statement.
    ///
    /// With `isolation` nil there is no BEGIN and COMMIT, for independent
    /// reads: they still run as one implicit transaction up to the sync.
    public func pipeline(_ statements: [(sql: String, parameters: [SQLValue])], isolation: SQLIsolation?) async throws -> [PostgresResult] {
        try await withCheckedThrowingContinuation { (batch: CheckedContinuation<[PostgresResult], any Error>) in
            loop.execute {
                self.enqueue(Operation(pipeline: Pipeline(statements: statements, isolation: isolation, continuation: batch)))
            }
        }
    }

    /// Whether the connection failed (the server went away); a pool replaces such connections.
    public var isBroken: Bool { failed.load(ordering: .acquiring) }

    /// Closes the connection; statements still queued fail.
    public func close() {
        loop.execute { self.fail(SQLError(.unavailable, "the PostgreSQL connection was closed")) }
    }

    // MARK: Connecting (on the loop)

    private func beginConnecting(_ continuation: CheckedContinuation<Void, any Error>) {
        connecting = continuation
        watcher = DescriptorWatcher(
            fd: PQsocket(connection), loop: loop,
            onReady: { [weak self] _, _ in self?.ready() },
            onLoopStopped: { [weak self] in self?.fail(SQLError(.unavailable, "the event loop stopped")) })
        // libpq's rule: start as if PQconnectPoll had said "writing".
        watchOrFail(readable: false, writable: true)
    }

    /// `connect_timeout` from the connection's options (libpq's default is none: 10 s here).
    private static func connectTimeout(_ connection: OpaquePointer) -> Duration {
        guard let options = PQconninfo(connection) else { return .seconds(10) }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "connect_timeout", let value = option.pointee.val, let seconds = Int(String(cString: value)), seconds > 0 {
                return .seconds(max(2, seconds))
            }
            option += 1
        }
        return .seconds(10)
    }

    private func giveUpConnecting(after timeout: Duration) {
        guard connecting != nil else { return }
        fail(SQLError(.unavailable, "cannot connect to PostgreSQL: no answer within \(timeout) (connect_timeout)"))
    }

    private func continueConnecting() {
        switch PQconnectPoll(connection) {
        case PGRES_POLLING_OK:
            let continuation = connecting
            connecting = nil
            watchOrFail(readable: true, writable: false)
            continuation?.resume()
        case PGRES_POLLING_READING:
            watcher.move(to: PQsocket(connection))
            watchOrFail(readable: true, writable: false)
        case PGRES_POLLING_WRITING:
            watcher.move(to: PQsocket(connection))
            watchOrFail(readable: false, writable: true)
        default:
            fail(SQLError(.unavailable, "cannot connect to PostgreSQL: \(Self.message(connection))"))
        }
    }

    private func watchOrFail(readable: Bool, writable: Bool) {
        do {
            try watcher.watch(readable: readable, writable: writable)
        } catch {
            fail(SQLError(.unavailable, "cannot watch the PostgreSQL socket: \(error)"))
        }
    }

    // MARK: Statements (on the loop)

    private func enqueue(_ operation: Operation) {
        if let broken {
            operation.resume(throwing: broken)
            return
        }
        queue.append(operation)
        if current == nil && connecting == nil { startNext() }
    }

    private func startNext() {
        guard current == nil, !queue.isEmpty else { return }
        var operation = queue.removeFirst()
        let sent: Int32
        if operation.pipeline != nil {
            sent = sendPipeline(&operation.pipeline!)
        } else if operation.script {
            sent = PQsendQuery(connection, operation.sql)
        } else if let name = prepared[operation.sql] {
            sent = sendPrepared(name, operation.parameters)
        } else if let name = newPreparedName(for: operation.parameters) {
            // Outside pipeline mode the Prepare is answered before the statement runs (`finishCurrent`).
            operation.preparing = name
            sent = PQsendPrepare(connection, name, operation.sql, Int32(operation.parameters.count), nil)
        } else {
            sent = sendUnprepared(operation.sql, operation.parameters)
        }
        guard sent == 1 else {
            if operation.pipeline != nil, PQpipelineStatus(connection) != PQ_PIPELINE_OFF {
                // Whatever part of the batch libpq took is discarded with the pipeline.
                fail(SQLError(.unavailable, "PostgreSQL did not take the batch: \(Self.message(connection))"))
                operation.resume(throwing: broken!)
                return
            }
            operation.resume(throwing: SQLError(.unavailable, "PostgreSQL did not take the statement: \(Self.message(connection))"))
            if PQstatus(connection) == CONNECTION_BAD {
                fail(SQLError(.unavailable, "the PostgreSQL connection is broken: \(Self.message(connection))"))
            } else {
                startNext()
            }
            return
        }
        current = operation
        flush()
    }

    /// Sends what libpq has buffered; waits for writability when the socket is full.
    private func flush() {
        switch PQflush(connection) {
        case 0:
            current?.flushed = true
            watchOrFail(readable: true, writable: false)
        case 1:
            watchOrFail(readable: true, writable: true)
        default:
            fail(SQLError(.unavailable, "lost the PostgreSQL connection: \(Self.message(connection))"))
        }
    }

    private func ready() {
        if connecting != nil {
            continueConnecting()
            return
        }
        if let operation = current, !operation.flushed { flush() }
        guard PQconsumeInput(connection) == 1 else {
            fail(SQLError(.unavailable, "lost the PostgreSQL connection: \(Self.message(connection))"))
            return
        }
        // Notices and notifications may arrive with nothing in flight; libpq keeps them.
        guard current != nil else { return }
        if current?.pipeline != nil { return readPipelineResults() }
        while PQisBusy(connection) == 0 {
            guard let result = PQgetResult(connection) else {
                finishCurrent()
                return
            }
            defer { PQclear(result) }
            let outcome = PostgresResult.make(from: result)
            if current?.result == nil || outcome.error != nil { current?.result = outcome }
        }
    }

    private func finishCurrent() {
        guard var operation = current else { return }
        current = nil
        if let name = operation.preparing, operation.result?.error == nil {
            // Prepared: now run it.
            prepared[operation.sql] = name
            operation.preparing = nil
            return runAgain(operation)
        }
        if operation.preparing == nil, let error = operation.result?.error, !operation.replanned, prepared[operation.sql] != nil,
            error.message.contains("cached plan must not change result type")
        {
            // The table changed under the prepared statement (ALTER TABLE): prepare it afresh, once.
            prepared[operation.sql] = nil
            operation.replanned = true
            return runAgain(operation)
        }
        let result = operation.result ?? PostgresResult(columns: [], rows: [], rowsAffected: 0, error: nil)
        retireIfUnavailable(result.error)
        if let error = result.error {
            operation.continuation?.resume(throwing: error)
        } else {
            operation.continuation?.resume(returning: result)
        }
        startNext()
    }

    /// Sends `operation` again ahead of everything queued (its second step).
    private func runAgain(_ operation: Operation) {
        var operation = operation
        operation.result = nil
        operation.flushed = false
        queue.insert(operation, at: 0)
        startNext()
    }

    // MARK: Pipelines (on the loop)

    /// Queues the whole batch in libpq: BEGIN, the statements, COMMIT and a
    /// sync point. A statement with parameters runs prepared, like a single
    /// one: the first time this connection sees it, its Prepare goes into the
    /// same pipeline just before it.
    private func sendPipeline(_ pipeline: inout Pipeline) -> Int32 {
        guard PQenterPipelineMode(connection) == 1 else { return 0 }
        func send(_ sql: String, _ parameters: [SQLValue]) -> Bool { sendUnprepared(sql, parameters) == 1 }
        if let isolation = pipeline.isolation {
            guard send("BEGIN ISOLATION LEVEL \(isolation.postgres)", []) else { return 0 }
            pipeline.commands.append(.control)
        }
        for (index, statement) in pipeline.statements.enumerated() {
            var name = prepared[statement.sql]
            if name == nil, let fresh = newPreparedName(for: statement.parameters) {
                guard PQsendPrepare(connection, fresh, statement.sql, Int32(statement.parameters.count), nil) == 1 else { return 0 }
                // Taken as prepared from here on (later statements of this batch
                // use it); forgotten again if the Prepare does not succeed.
                prepared[statement.sql] = fresh
                pipeline.commands.append(.prepare(sql: statement.sql))
                name = fresh
            }
            guard (name.map { sendPrepared($0, statement.parameters) } ?? sendUnprepared(statement.sql, statement.parameters)) == 1 else {
                return 0
            }
            pipeline.commands.append(.statement(index))
        }
        if pipeline.isolation != nil {
            guard send("COMMIT", []) else { return 0 }
            pipeline.commands.append(.control)
        }
        return PQpipelineSync(connection)
    }

    /// A name to prepare a statement with `parameters` under, or nil when it
    /// should run unprepared: statements with parameters are the ones that
    /// repeat, and each connection keeps at most `maxPrepared`.
    private func newPreparedName(for parameters: [SQLValue]) -> String? {
        guard prepares, !parameters.isEmpty, prepared.count < Self.maxPrepared else { return nil }
        preparedNames += 1
        return "s\(preparedNames)"
    }

    private func sendPrepared(_ name: String, _ parameters: [SQLValue]) -> Int32 {
        PostgresParameters.withEncoded(parameters) { values, lengths, formats in
            PQsendQueryPrepared(connection, name, Int32(parameters.count), values, lengths, formats, 0)
        }
    }

    private func sendUnprepared(_ sql: String, _ parameters: [SQLValue]) -> Int32 {
        PostgresParameters.withEncoded(parameters) { values, lengths, formats in
            PQsendQueryParams(connection, sql, Int32(parameters.count), nil, values, lengths, formats, 0)
        }
    }

    /// Collects a pipeline's results as they arrive. Each command's results end
    /// with a NULL from `PQgetResult`; after a failure the remaining commands
    /// come back `PGRES_PIPELINE_ABORTED`; the sync point ends the batch.
    private func readPipelineResults() {
        guard var pipeline = current?.pipeline else { return }
        var nullsInARow = 0
        while PQisBusy(connection) == 0 {
            if pipeline.rollingBack {
                // Normal mode again: ROLLBACK's result, then the end.
                guard let result = PQgetResult(connection) else { return finishPipeline(pipeline) }
                PQclear(result)
                continue
            }
            guard let result = PQgetResult(connection) else {
                // One NULL ends a command's results; a second in a row means
                // nothing more has arrived yet: wait for the socket.
                nullsInARow += 1
                if nullsInARow > 1 { break }
                pipeline.command += 1
                continue
            }
            nullsInARow = 0
            let status = PQresultStatus(result)
            let outcome = status == PGRES_PIPELINE_SYNC || status == PGRES_PIPELINE_ABORTED ? nil : PostgresResult.make(from: result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC {
                _ = PQexitPipelineMode(connection)
                guard pipeline.failure != nil, PQtransactionStatus(connection) == PQTRANS_INERROR else {
                    return finishPipeline(pipeline)
                }
                // The failed statement left the transaction open and aborted.
                pipeline.rollingBack = true
                guard PQsendQueryParams(connection, "ROLLBACK", 0, nil, nil, nil, nil, 0) == 1 else {
                    return fail(SQLError(.unavailable, "lost the PostgreSQL connection: \(Self.message(connection))"))
                }
                current?.pipeline = pipeline
                current?.flushed = false
                return flush()
            }
            let command = pipeline.commands.indices.contains(pipeline.command) ? pipeline.commands[pipeline.command] : .control
            if case .prepare(let sql) = command, outcome?.error != nil || status == PGRES_PIPELINE_ABORTED {
                // Not prepared after all (it failed, or an earlier failure skipped it).
                prepared[sql] = nil
            }
            guard let outcome else { continue }
            if let error = outcome.error {
                if case .statement(let index) = command, error.message.contains("cached plan must not change result type") {
                    // The table changed under the prepared statement: prepared afresh next time.
                    prepared[pipeline.statements[index].sql] = nil
                }
                if pipeline.failure == nil {
                    switch command {
                    case .statement(let index): pipeline.failure = (index, error)
                    case .prepare(let sql): pipeline.failure = (pipeline.statements.firstIndex { $0.sql == sql } ?? -1, error)
                    case .control: pipeline.failure = (-1, error)
                    }
                }
            } else if case .statement = command {
                pipeline.results.append(outcome)
            }
        }
        current?.pipeline = pipeline
    }

    private func finishPipeline(_ pipeline: Pipeline) {
        current = nil
        retireIfUnavailable(pipeline.failure?.error)
        if let failure = pipeline.failure {
            pipeline.continuation.resume(throwing: BatchFailure(index: failure.index, error: failure.error))
        } else {
            pipeline.continuation.resume(returning: pipeline.results)
        }
        startNext()
    }

    /// A server shutting down, or one that is a standby now (a failover
    /// demoted it), answers but will not serve this connection's writes
    /// again: the pool replaces the connection when it comes back.
    private func retireIfUnavailable(_ error: SQLError?) {
        if error?.kind == .unavailable { failed.store(true, ordering: .releasing) }
    }

    /// Fails everything in flight and queued; the connection is unusable afterwards.
    private func fail(_ error: SQLError) {
        broken = broken ?? error
        failed.store(true, ordering: .releasing)
        watcher?.stop()
        if let connecting {
            self.connecting = nil
            connecting.resume(throwing: error)
        }
        if let operation = current {
            current = nil
            operation.resume(throwing: error)
        }
        for operation in queue { operation.resume(throwing: error) }
        queue.removeAll()
    }

    static func message(_ connection: OpaquePointer?) -> String {
        guard let connection, let text = PQerrorMessage(connection) else { return "unknown error" }
        return String(cString: text).trimmed()
    }
}

/// Holds the handler libpq's notice processor calls (through its `arg`).
private final class NoticeSink: Sendable {
    let handler: @Sendable (String) -> Void
    init(_ handler: @escaping @Sendable (String) -> Void) { self.handler = handler }
}

/// Hands a notice to the connection's sink; with none (`arg` nil), drops it.
private let noticeProcessor: PQnoticeProcessor = { arg, message in
    guard let arg, let message else { return }
    Unmanaged<NoticeSink>.fromOpaque(arg).takeUnretainedValue().handler(String(cString: message).trimmed())
}
