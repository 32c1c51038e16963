import StrataCore

/// One migration file: `NNNN_name.sql` with an up part and an optional down part.
///
/// ```sql
/// -- migrate:up
/// CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
/// -- migrate:down
/// DROP TABLE notes;
/// ```
public struct Migration: Sendable, Equatable {
    /// The number before the first underscore; migrations apply in this order.
    public let version: Int64
    /// The rest of the file name, without `.sql`.
    public let name: String
    /// The file it came from, for messages.
    public let file: String
    /// SQL applied by `migrate up`.
    public let up: String
    /// SQL applied by `migrate down`.
    public let down: String
    /// SHA-256 of the file's bytes, hex; a changed applied file is refused.
    public let checksum: String

    /// Parses a migration file's name and contents; errors name the file and line.
    public init(file: String, contents: String) throws(MigrationError) {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        guard base.hasSuffix(".sql") else {
            throw MigrationError(file: file, line: nil, message: "migration files must end in .sql")
        }
        let stem = base.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int64(stem[..<underscore]), version > 0,
              stem[..<underscore].allSatisfy(\.isNumber)
        else {
            throw MigrationError(file: file, line: nil, message: "file name must be NNNN_name.sql with a positive version number, like 0001_create_notes.sql")
        }
        let name = String(stem[stem.index(after: underscore)...])
        guard !name.isEmpty else {
            throw MigrationError(file: file, line: nil, message: "file name needs a name after the version, like 0001_create_notes.sql")
        }
        var up: [Substring] = []
        var down: [Substring] = []
        var section: Int? = nil  // 0 = up, 1 = down
        var sawUp = false
        var sawDown = false
        for (index, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmed(" \t\r")
            if trimmed.hasPrefix("-- migrate:") {
                let directive = trimmed.dropFirst("-- migrate:".count)
                switch directive {
                case "up":
                    guard !sawUp else { throw MigrationError(file: file, line: index + 1, message: "second '-- migrate:up' marker") }
                    guard !sawDown else { throw MigrationError(file: file, line: index + 1, message: "'-- migrate:up' must come before '-- migrate:down'") }
                    sawUp = true
                    section = 0
                case "down":
                    guard sawUp else { throw MigrationError(file: file, line: index + 1, message: "'-- migrate:down' before any '-- migrate:up'") }
                    guard !sawDown else { throw MigrationError(file: file, line: index + 1, message: "second '-- migrate:down' marker") }
                    sawDown = true
                    section = 1
                default:
                    throw MigrationError(file: file, line: index + 1, message: "unknown directive '\(trimmed)' (expected '-- migrate:up' or '-- migrate:down')")
                }
                continue
            }
            switch section {
            case 0: up.append(line)
            case 1: down.append(line)
            default:
                if !trimmed.isEmpty && !trimmed.hasPrefix("--") {
                    throw MigrationError(file: file, line: index + 1, message: "SQL before the '-- migrate:up' marker")
                }
            }
        }
        guard sawUp else { throw MigrationError(file: file, line: nil, message: "missing '-- migrate:up' marker") }
        let upSQL = up.joined(separator: "\n").trimmed(" \t\r\n")
        guard !upSQL.isEmpty else { throw MigrationError(file: file, line: nil, message: "the up part is empty") }
        self.version = version
        self.name = name
        self.file = file
        self.up = upSQL
        self.down = down.joined(separator: "\n").trimmed(" \t\r\n")
        self.checksum = Digest.hex(Digest.sha256(Array(contents.utf8)))
    }
}

/// A migration file or the migrations table is not as it should be.
public struct MigrationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file concerned.
    public let file: String
    /// The 1-based line, when one line is at fault.
    public let line: Int?
    /// What is wrong and, where possible, what to do.
    public let message: String

    /// Creates an error.
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
