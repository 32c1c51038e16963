import StrataCore
import StrataRPC
import StrataSQL

/// The data tier's RPC methods over one database.
enum DataService {
    static func make(database: any SQLDatabase, logger: Logger) -> RPCService {
        var service = RPCService()
        service.register(DataMethod.query, options: RPCMethodOptions(idempotent: true), logger: logger) { (statement: SQLStatement, context) -> QueryResult in
            do {
                return try await database.query(statement.sql, statement.parameters)
            } catch let error as SQLError {
                throw rpcError(error, statement: statement, context: context, logger: logger)
            }
        }
        service.register(DataMethod.execute, logger: logger) { (statement: SQLStatement, context) -> ExecuteResult in
            do {
                return try await database.run(statement.sql, statement.parameters)
            } catch let error as SQLError {
                throw rpcError(error, statement: statement, context: context, logger: logger)
            }
        }
        service.healthCheck = {
            do {
                _ = try await database.query("SELECT 1", [])
                return RPCHealth(serving: true)
            } catch {
                return RPCHealth(serving: false, detail: "the database does not answer")
            }
        }
        service.register(DataMethod.health, options: RPCMethodOptions(idempotent: true), logger: logger) { (_: Empty, _) -> DataHealth in
            _ = try await database.query("SELECT 1", [])
            return DataHealth(engine: database.engine.rawValue, pendingMigrations: 0)
        }
        return service
    }

    /// Maps an engine error to the RPC code the caller can act on. The engine's
    /// message goes to the caller (another tier), never to a browser.
    static func rpcError(_ error: SQLError, statement: SQLStatement, context: RPCContext, logger: Logger) -> RPCError {
        let code: RPCErrorCode = switch error.kind {
        case .uniqueViolation: .alreadyExists
        case .foreignKeyViolation, .checkViolation, .notNullViolation: .failedPrecondition
        case .syntax: .invalidArgument
        case .serializationFailure: .aborted
        case .busy, .cannotOpen, .unavailable: .unavailable
        case .unsupported: .unimplemented
        case .other: .internal
        }
        if code == .internal || code == .invalidArgument {
            logger.warning("statement failed", ("error", error.message), ("request_id", context.requestID ?? "-"))
        }
        return RPCError(code, error.message)
    }
}
