/// What a write statement did.
public struct ExecuteResult: Codable, Sendable, Equatable {
    /// Rows inserted, updated or deleted.
    public var rowsAffected: Int64
    /// The row id of the last insert (SQLite), or 0.
    public var lastInsertID: Int64

    /// Creates a result.
    public init(rowsAffected: Int64, lastInsertID: Int64) {
        self.rowsAffected = rowsAffected
        self.lastInsertID = lastInsertID
    }
}
