import StrataCore
import StrataProtocol
import StrataRPC
import StrataSQL

/// The data tier's RPC methods over one database (what `strata-data serve`
/// answers; embed it to serve a database from another process).
public enum DataService {
    /// The service answering `sql.*` and `data.health` over `database`; its
    /// statement, transaction and pool metrics go to `metrics`, and statements
    /// at least `slowQuery` long get a warning line.
    public static func make(
        database: any SQLDatabase, logger: Logger, transactions: Transactions = Transactions(lease: .seconds(10)), metrics: MetricsRegistry? = nil,
        slowQuery: Duration? = nil
    ) -> RPCService {
        var service = RPCService()
        // Kept alive by the handlers below; the registry holds it weakly.
        let sql = SQLMetrics(database: database, transactions: transactions)
        metrics?.add(sql)
        // The SQL text (never its parameters, which may be personal), cut short.
        @Sendable func reportIfSlow(_ text: @autoclosure () -> String, _ context: RPCContext, took elapsed: Duration) {
            guard let slowQuery, elapsed >= slowQuery else { return }
            logger.warning(
                "slow query", ("ms", String(elapsed.wholeMilliseconds)), ("sql", String(text().prefix(200))),
                ("request_id", context.requestID ?? "-"), ("trace_id", context.trace?.traceID ?? "-"))
        }
        // A statement runs in the transaction it names (bound to the caller's connection), else on its own.
        @Sendable func perform<T: Sendable>(
            _ statement: SQLStatement, _ context: RPCContext,
            alone: @Sendable () async throws -> T, inside: @Sendable (any SQLTransaction) async throws -> T
        ) async throws -> T {
            do {
                return try await sql.measure(SQLMetrics.Kind(sql: statement.sql), then: { reportIfSlow(statement.sql, context, took: $0) }) {
                    if let id = statement.transaction {
                        return try await inside(try transactions.use(id, connectionID: context.connectionID))
                    }
                    return try await alone()
                }
            } catch let error as SQLError {
                throw rpcError(error, statement: statement, context: context, logger: logger)
            }
        }
        // With replicas, plain reads may go to one; every write is noted so
        // the writer's next reads see it (see `ReplicatedDatabase`).
        let replicated = database as? ReplicatedDatabase
        // (Without replicas the optional chain skips the metadata lookup too.)
        @Sendable func noteWrite(_ context: RPCContext) { replicated?.noteWrite(key: context.metadata[RPCMetadataKey.consistencyKey]) }
        service.register(DataMethod.query, logger: logger) {
            (statement: SQLStatement, context) -> QueryResult in
            if let replicated, statement.transaction == nil, SQLStatement.isPlainSelect(statement.sql) {
                return try await perform(
                    statement, context,
                    alone: { try await replicated.read(statement.sql, statement.parameters, key: context.metadata[RPCMetadataKey.consistencyKey]) },
                    inside: { try await $0.query(statement.sql, statement.parameters) })
            }
            let result = try await perform(
                statement, context, alone: { try await database.query(statement.sql, statement.parameters) },
                inside: { try await $0.query(statement.sql, statement.parameters) })
            if statement.transaction == nil { noteWrite(context) }
            return result
        }
        service.register(DataMethod.execute, logger: logger) { (statement: SQLStatement, context) -> ExecuteResult in
            let result = try await perform(
                statement, context, alone: { try await database.run(statement.sql, statement.parameters) },
                inside: { try await $0.run(statement.sql, statement.parameters) })
            if statement.transaction == nil { noteWrite(context) }
            return result
        }
        service.register(DataMethod.begin, logger: logger) { (begin: BeginTransaction, context) -> TransactionID in
            do {
                return try await transactions.begin(on: database, isolation: begin.isolation, connectionID: context.connectionID)
            } catch let error as SQLError {
                throw rpcError(error, statement: SQLStatement("BEGIN"), context: context, logger: logger)
            }
        }
        service.register(DataMethod.commit, logger: logger) { (id: TransactionID, context) -> Empty in
            do {
                try await transactions.end(id.transaction, connectionID: context.connectionID, commit: true)
                noteWrite(context)
            } catch let error as SQLError {
                throw rpcError(error, statement: SQLStatement("COMMIT"), context: context, logger: logger)
            }
            return Empty()
        }
        service.register(DataMethod.rollback, logger: logger) { (id: TransactionID, context) -> Empty in
            try await transactions.end(id.transaction, connectionID: context.connectionID, commit: false)
            return Empty()
        }
        service.register(DataMethod.batch, logger: logger) { (batch: SQLBatch, context) -> [ExecuteResult] in
            do {
                let results = try await sql.measure(
                    .batch, then: { reportIfSlow("\(batch.statements.first?.sql ?? "") (batch of \(batch.statements.count))", context, took: $0) }
                ) { try await database.batch(batch.statements, isolation: .serializable) }
                noteWrite(context)
                sql.batchesCommitted.increment()
                return results
            } catch let failure as BatchFailure {
                sql.batchesFailed.increment()
                let statement = batch.statements.indices.contains(failure.index) ? batch.statements[failure.index] : SQLStatement("BEGIN/COMMIT")
                throw rpcError(failure.error, statement: statement, context: context, logger: logger)
            }
        }
        service.register(DataMethod.queryEach, logger: logger) {
            (batch: SQLBatch, context) -> [QueryResult] in
            guard batch.statements.allSatisfy({ SQLStatement.isPlainSelect($0.sql) && $0.transaction == nil }) else {
                throw RPCError(.invalidArgument, "\(DataMethod.queryEach.name) takes plain SELECTs outside transactions only")
            }
            do {
                return try await sql.measure(.selectMany) {
                    guard let replicated else { return try await database.queryEach(batch.statements) }
                    return try await replicated.readEach(batch.statements, key: context.metadata[RPCMetadataKey.consistencyKey])
                }
            } catch let error as SQLError {
                throw rpcError(error, statement: batch.statements.first ?? SQLStatement(""), context: context, logger: logger)
            }
        }
        service.connectionClosed = { id in Task { await transactions.connectionClosed(id) } }
        service.healthCheck = {
            do {
                _ = try await database.query("SELECT 1", [])
                return RPCHealth(serving: true)
            } catch {
                return RPCHealth(serving: false, detail: "the database does not answer")
            }
        }
        service.register(DataMethod.health, logger: logger) { (_: Empty, _) -> DataHealth in
            _ = try await database.query("SELECT 1", [])
            return DataHealth(engine: database.engine.rawValue, pendingMigrations: 0)
        }
        return service
    }

    /// Maps an engine error to the RPC code the caller can act on. The engine's
    /// message goes to the caller (another tier), never to a browser.
    static func rpcError(_ error: SQLError, statement: SQLStatement, context: RPCContext, logger: Logger) -> RPCError {
        let code: RPCErrorCode =
            switch error.kind {
            case .uniqueViolation: .alreadyExists
            case .foreignKeyViolation, .checkViolation, .notNullViolation: .failedPrecondition
            case .syntax: .invalidArgument
            case .serializationFailure: .aborted
            case .busy, .cannotOpen, .unavailable: .unavailable
            case .outcomeUnknown: .unknown
            case .unsupported: .unimplemented
            case .other: .internal
            }
        if code == .internal || code == .invalidArgument {
            logger.warning(
                "statement failed", ("error", error.message), ("request_id", context.requestID ?? "-"), ("trace_id", context.trace?.traceID ?? "-"))
        }
        return RPCError(code, error.message)
    }
}
