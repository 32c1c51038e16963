import CSQLite
import StrataProtocol

/// The same transient destructor SQLite's C macro `SQLITE_TRANSIENT` names:
/// SQLite copies bound bytes before the call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Not thread-safe: `SQLiteDatabase` confines it to one queue.
///
/// Opens in WAL mode with foreign keys on, a busy timeout and `synchronous=FULL`
/// (a committed write survives power loss). Statements are prepared once and cached.
public final class SQLiteConnection {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (creating if needed) the database file at `path`.
    public init(path: String, synchronous: String = "FULL", readOnly: Bool = false) throws(SQLError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLError(.cannotOpen, "cannot open SQLite database '\(path)': \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
        // A reader inherits WAL mode from the file (set by the writer, which opens first).
        try execute(
            readOnly
                ? "PRAGMA foreign_keys=ON;"
                : "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=\(synchronous == "NORMAL" ? "NORMAL" : "FULL");")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Whether a transaction is open (SQLite rolls one back by itself after some errors: disk full, I/O).
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs one or more statements with no parameters (migrations, pragmas).
    public func execute(_ sql: String) throws(SQLError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_free(message)
            throw Self.error(status, text)
        }
    }

    /// Runs a query with positional parameters `$1, $2, ...` and returns all rows.
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws(SQLError) -> QueryResult {
        let statement = try prepare(sql, parameters)
        defer { sqlite3_reset(statement) }
        let columnCount = sqlite3_column_count(statement)
        let columns = (0..<columnCount).map { String(cString: sqlite3_column_name(statement, $0)) }
        var rows: [[SQLValue]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw Self.error(status, String(cString: sqlite3_errmsg(handle))) }
            rows.append((0..<columnCount).map { column(statement, $0) })
        }
        return QueryResult(columns: columns, rows: rows)
    }

    /// Runs a write statement with positional parameters.
    public func run(_ sql: String, _ parameters: [SQLValue] = []) throws(SQLError) -> ExecuteResult {
        let statement = try prepare(sql, parameters)
        defer { sqlite3_reset(statement) }
        var status = sqlite3_step(statement)
        while status == SQLITE_ROW { status = sqlite3_step(statement) }
        guard status == SQLITE_DONE else { throw Self.error(status, String(cString: sqlite3_errmsg(handle))) }
        return ExecuteResult(rowsAffected: Int64(sqlite3_changes64(handle)), lastInsertID: sqlite3_last_insert_rowid(handle))
    }

    private func prepare(_ sql: String, _ parameters: [SQLValue]) throws(SQLError) -> OpaquePointer {
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
            sqlite3_clear_bindings(statement)
        } else {
            var prepared: OpaquePointer?
            let status = sqlite3_prepare_v2(handle, PlaceholderRewriter.sqlite(sql), -1, &prepared, nil)
            guard status == SQLITE_OK, let prepared else {
                throw Self.error(status, String(cString: sqlite3_errmsg(handle)))
            }
            statement = prepared
            if statements.count >= 256, let (key, old) = statements.first {
                sqlite3_finalize(old)
                statements[key] = nil
            }
            statements[sql] = statement
        }
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == parameters.count else {
            throw SQLError(.syntax, "statement expects \(expected) parameters, got \(parameters.count)")
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, index)
            case .int(let v): status = sqlite3_bind_int64(statement, index, v)
            case .bool(let v): status = sqlite3_bind_int64(statement, index, v ? 1 : 0)
            case .double(let v): status = sqlite3_bind_double(statement, index, v)
            case .text(let v): status = sqlite3_bind_text(statement, index, v, -1, transient)
            case .timestamp(let v): status = sqlite3_bind_text(statement, index, SQLTimestamp.format(v), -1, transient)
            case .blob(let v): status = v.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), transient) }
            }
            guard status == SQLITE_OK else { throw Self.error(status, String(cString: sqlite3_errmsg(handle))) }
        }
        return statement
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let pointer = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let pointer = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default: return .null
        }
    }

    private static func error(_ status: Int32, _ message: String) -> SQLError {
        // Extended result codes are `primary | (detail << 8)`; Swift cannot import the C macros.
        let primary = status & 0xFF
        let detail = status >> 8
        switch (primary, detail) {
        case (SQLITE_CONSTRAINT, 8), (SQLITE_CONSTRAINT, 6): return SQLError(.uniqueViolation, message)
        case (SQLITE_CONSTRAINT, 3): return SQLError(.foreignKeyViolation, message)
        case (SQLITE_CONSTRAINT, 1): return SQLError(.checkViolation, message)
        case (SQLITE_CONSTRAINT, 5): return SQLError(.notNullViolation, message)
        case (SQLITE_BUSY, _), (SQLITE_LOCKED, _): return SQLError(.busy, message)
        case (SQLITE_ERROR, _): return SQLError(.syntax, message)
        default: return SQLError(.other, message)
        }
    }
}
