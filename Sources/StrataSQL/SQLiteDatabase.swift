import Dispatch

/// An SQLite database used from async code: the connection lives on its own
/// serial queue, so blocking disk I/O and busy waits never run on an event
/// loop or a cooperative-pool thread.
public final class SQLiteDatabase: @unchecked Sendable {
    // The queue is the only place `connection` is touched.
    private let queue: DispatchQueue
    private let connection: SQLiteConnection
    /// Held by a transaction from BEGIN to its end; statements outside it wait,
    /// or they would run inside someone else's transaction on the one connection.
    let transactionLock = AsyncLock()

    /// Opens the database file at `path`.
    public init(path: String) throws(SQLError) {
        connection = try SQLiteConnection(path: path)
        queue = DispatchQueue(label: "strata.sqlite")
    }

    /// Runs `body` with the connection on the database's queue.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(self.connection) })
            }
        }
    }

    /// Runs a query.
    public func query(_ sql: String, _ parameters: [SQLValue]) async throws -> QueryResult {
        try await transactionLock.withLock { try await withConnection { try $0.query(sql, parameters) } }
    }

    /// Runs a write statement.
    public func run(_ sql: String, _ parameters: [SQLValue]) async throws -> ExecuteResult {
        try await transactionLock.withLock { try await withConnection { try $0.run(sql, parameters) } }
    }
}

/// Where the data lives, parsed from `--database` / `STRATA_DATABASE_URL`.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// An SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL connection URL (kept whole, passed to libpq).
    case postgres(url: String)

    /// Parses `sqlite:PATH`, `sqlite://PATH`, `postgres://...`, `postgresql://...` or a bare file path.
    public init(parsing text: String) throws(SQLError) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite://") {
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else if text.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if text.contains("://") {
            throw SQLError(.unsupported, "database URL '\(text)' has an unknown scheme (use sqlite:PATH or postgres://...)")
        } else {
            self = .sqlite(path: text)
        }
        if case .sqlite(let path) = self, path.isEmpty {
            throw SQLError(.unsupported, "database URL '\(text)' names no file")
        }
    }

    /// The URL with any password replaced, safe for logs.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url):
            guard let at = url.lastIndex(of: "@"), let schemeEnd = url.range(of: "://")?.upperBound,
                  let colon = url[schemeEnd..<at].firstIndex(of: ":") else { return url }
            return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
        }
    }
}
