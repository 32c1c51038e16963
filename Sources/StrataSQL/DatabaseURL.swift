import StrataCore

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
                let colon = url[schemeEnd..<at].firstIndex(of: ":")
            else { return url }
            return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
        }
    }
}

extension DatabaseURL {
    /// Replica URLs from `--replicas`: PostgreSQL URLs separated by commas
    /// (a comma inside one, between hosts, stays: a new URL starts only
    /// with its scheme).
    public static func replicas(parsing text: String) throws(SQLError) -> [String] {
        var urls: [String] = []
        for piece in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmed() }) {
            if piece.hasPrefix("postgres://") || piece.hasPrefix("postgresql://") || urls.isEmpty {
                urls.append(piece)
            } else {
                urls[urls.count - 1] += "," + piece
            }
        }
        for url in urls where !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw SQLError(.unsupported, "replica '\(url)' is not a postgres:// URL (replicas are PostgreSQL streaming replicas)")
        }
        return urls.filter { !$0.isEmpty }
    }
}
