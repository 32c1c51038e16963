import StrataRPC

/// The data tier's RPC methods, as `strata-app` calls them and `strata-data` answers them.
public enum DataMethod {
    /// Runs a statement and answers its rows. The caller retries only plain SELECTs.
    public static let query = RPCMethod<SQLStatement, QueryResult>("sql.query", idempotent: true)
    /// Runs an INSERT, UPDATE or DELETE.
    public static let execute = RPCMethod<SQLStatement, ExecuteResult>("sql.execute")
    /// Answers when the engine is reachable.
    public static let health = RPCMethod<Empty, DataHealth>("data.health", idempotent: true)
    /// Opens an interactive transaction bound to the calling connection,
    /// rolled back when idle for longer than its lease.
    public static let begin = RPCMethod<BeginTransaction, TransactionID>("sql.begin")
    /// Commits an open transaction.
    public static let commit = RPCMethod<TransactionID, Empty>("sql.commit")
    /// Rolls an open transaction back.
    public static let rollback = RPCMethod<TransactionID, Empty>("sql.rollback")
    /// Runs every statement or none.
    public static let batch = RPCMethod<SQLBatch, [ExecuteResult]>("sql.batch")
    /// Independent plain SELECTs in one call, each its own statement (not one transaction).
    public static let queryEach = RPCMethod<SQLBatch, [QueryResult]>("sql.queryEach", idempotent: true)
}
