/// Names of the data tier's RPC methods.
public enum DataMethod {
    /// `SQLStatement` → `QueryResult`.
    public static let query = "sql.query"
    /// `SQLStatement` → `ExecuteResult`.
    public static let execute = "sql.execute"
    /// `Empty` → `DataHealth`: answers when the engine is reachable.
    public static let health = "data.health"
    /// `BeginTransaction` → `TransactionID`: opens an interactive transaction
    /// bound to the calling connection, rolled back when idle for longer than its lease.
    public static let begin = "sql.begin"
    /// `TransactionID` → `Empty`.
    public static let commit = "sql.commit"
    /// `TransactionID` → `Empty`.
    public static let rollback = "sql.rollback"
    /// `SQLBatch` → `[ExecuteResult]`: every statement or none.
    public static let batch = "sql.batch"
    /// `SQLBatch` of plain SELECTs → `[QueryResult]`: independent reads in one
    /// call, each its own statement (not one transaction).
    public static let queryEach = "sql.queryEach"
}
