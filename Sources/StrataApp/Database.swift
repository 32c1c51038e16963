import StrataCore
import StrataProtocol
import StrataRPC

/// The application tier's handle on the data tier. Values always travel as
/// parameters (`$1, $2, ...`), never inside the SQL text.
public struct Database: Sendable {
    let client: RPCClient
    let requestID: String
    /// This tier's logger with the request's `request_id` and `trace_id` on every line.
    let logger: Logger
    let deadline: ContinuousClock.Instant?
    /// What every call to the data tier carries: the request id and `trace`'s `traceparent`.
    let metadata: [String: String]
    /// The credential of the call being served (API token, else session token)
    /// and its hash, computed once: it is the data tier's consistency key and
    /// what `Accounts.identify` looks the caller up by.
    let caller: (credential: String, hash: String)?

    /// A handle for one request: `requestID` and `trace` (this tier's span of
    /// the request's trace) tag the log lines here and in the data tier.
    /// `caller` is the metadata of the call being served: its session or API
    /// token (hashed) lets the data tier give this caller read-your-writes
    /// when reads go to replicas.
    package init(
        client: RPCClient, requestID: String, trace: TraceContext = .start(), logger: Logger, deadline: ContinuousClock.Instant?,
        caller: [String: String] = [:]
    ) {
        self.client = client
        self.requestID = requestID
        self.logger = logger.with(("request_id", requestID), ("trace_id", trace.traceID))
        self.deadline = deadline
        var metadata = [RPCMetadataKey.requestID: requestID, RPCMetadataKey.traceparent: trace.header]
        self.caller = (caller[WebMetadataKey.bearerToken] ?? caller[WebMetadataKey.session]).map { ($0, Accounts.hash($0)) }
        // The data tier sees these hashes as lookup parameters already; a prefix keeps frames small.
        if let hash = self.caller?.hash { metadata[RPCMetadataKey.consistencyKey] = String(hash.prefix(24)) }
        self.metadata = metadata
    }

    /// Runs a query and decodes each row into a `T` by column name.
    public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: SQLValue...) async throws -> [T] {
        try decodeRows(T.self, try await query(sql, parameters))
    }

    /// Runs a query that gives one row (a lookup by key, an INSERT, UPDATE
    /// or DELETE with `RETURNING`) and decodes it; no row fails the call
    /// with `notFound` and `missing` as its message.
    public func queryOne<T: Decodable>(
        _ type: T.Type, _ sql: String, _ parameters: SQLValue..., missing: String = "There is no such record."
    ) async throws -> T {
        guard let row = try decodeRows(T.self, try await query(sql, parameters)).first else { throw RPCError(.notFound, missing) }
        return row
    }

    /// Rows as `T`s; a mismatch is logged with the column and reported without it.
    func decodeRows<T: Decodable>(_ type: T.Type, _ result: QueryResult) throws(RPCError) -> [T] {
        do {
            return try RowDecoder().decode(T.self, from: result)
        } catch {
            logger.error("row decoding failed", ("type", "\(T.self)"), ("error", "\(error)"))
            throw RPCError(.internal, "the stored data does not match \(T.self)")
        }
    }

    /// Runs a query (a SELECT, or a write with `RETURNING`) and returns the raw rows.
    public func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        // Only a read may run twice without harm, so only a read may be retried elsewhere.
        try await call(DataMethod.query, SQLStatement(sql, parameters), idempotent: SQLStatement.isPlainSelect(sql))
    }

    /// Runs independent SELECTs in one call to the data tier (each its own
    /// statement, not one transaction) and decodes each one's rows.
    public func queryEach<T: Decodable>(_ type: T.Type, _ statements: [SQLStatement]) async throws -> [[T]] {
        let results = try await call(DataMethod.queryEach, SQLBatch(statements))
        return try results.map { try decodeRows(T.self, $0) }
    }

    /// Runs an INSERT, UPDATE or DELETE.
    @discardableResult
    public func execute(_ sql: String, _ parameters: SQLValue...) async throws -> ExecuteResult {
        try await call(DataMethod.execute, SQLStatement(sql, parameters))
    }

    /// Runs an INSERT, UPDATE or DELETE whose parameters are built up at run time.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        try await call(DataMethod.execute, SQLStatement(sql, parameters))
    }

    private func call<Input, Output>(_ method: RPCMethod<Input, Output>, _ input: Input, idempotent: Bool? = nil) async throws -> Output {
        let remaining = try remainingTime()
        do {
            return try await client.call(
                method, input, metadata: metadata, timeout: remaining, idempotent: idempotent)
        } catch {
            // Engine messages name tables and columns: log them, pass on only the code.
            throw failure(error)
        }
    }

    /// What is left of the caller's time: the data tier gets no more.
    func remainingTime() throws(RPCError) -> Duration {
        let remaining = deadline.map { $0 - .now } ?? .seconds(30)
        guard remaining > .zero else { throw RPCError(.deadlineExceeded, "the request ran out of time") }
        return remaining
    }

    static func publicMessage(_ code: RPCErrorCode) -> String {
        switch code {
        case .alreadyExists: "a record with these values already exists"
        case .failedPrecondition: "the change conflicts with existing data"
        case .aborted: "the change collided with another one; please try again"
        case .unavailable, .deadlineExceeded: "the database is not available right now"
        case .unknown: "the change may or may not have been saved; check before trying again"
        default: "the database could not complete the request"
        }
    }
}
