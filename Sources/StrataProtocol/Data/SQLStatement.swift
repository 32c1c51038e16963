import StrataCore

/// A statement sent to the data tier: SQL with `$1, $2, ...` placeholders and their values.
/// Values never travel inside the SQL text.
public struct SQLStatement: Codable, Sendable, Equatable {
    /// The SQL, with positional placeholders.
    public var sql: String
    /// The values, in placeholder order.
    public var parameters: [SQLValue]
    /// The interactive transaction to run in (from `sql.begin`), or nil for its own.
    public var transaction: String?

    /// Creates a statement.
    public init(_ sql: String, _ parameters: [SQLValue] = [], transaction: String? = nil) {
        self.sql = sql
        self.parameters = parameters
        self.transaction = transaction
    }
}

/// Every call to the data tier carries one: written and read in one pass.
extension SQLStatement: TaggedValueEncodable, TaggedValueDecodable {
    public func write(to writer: inout some TaggedValueWriter) {
        writer.beginMap(count: transaction == nil ? 2 : 3)
        writer.writeKey("sql")
        writer.write(.string(sql))
        writer.writeKey("parameters")
        writer.beginArray(count: parameters.count)
        for value in parameters { writer.write(value.taggedScalar) }
        if let transaction {
            writer.writeKey("transaction")
            writer.write(.string(transaction))
        }
    }

    public init(reading reader: inout some TaggedValueReader) throws {
        var sql: String?
        var parameters: [SQLValue]?
        var transaction: String?
        var sawTransaction = false
        for _ in 0..<(try reader.readMap("a statement")) {
            switch try reader.readKey() {
            case "sql" where sql == nil:
                sql = try reader.readString("a statement's sql")
            case "parameters" where parameters == nil:
                let count = try reader.readArray("a statement's parameters")
                var values: [SQLValue] = []
                values.reserveCapacity(count)
                for _ in 0..<count { values.append(SQLValue(taggedScalar: try reader.readScalar("a parameter"))) }
                parameters = values
            case "transaction" where !sawTransaction:
                sawTransaction = true
                switch try reader.readScalar("a statement's transaction") {
                case .null: break
                case .string(let token): transaction = token
                default: throw reader.malformed("a statement's transaction")
                }
            default:
                try reader.skipValue()
            }
        }
        guard let sql else { throw reader.malformed("a statement's sql") }
        guard let parameters else { throw reader.malformed("a statement's parameters") }
        self.init(sql, parameters, transaction: transaction)
    }
}

extension SQLStatement {
    /// Whether `sql` is a plain read: it starts with SELECT (a `WITH` may
    /// hide a write, and `INSERT ... RETURNING` writes). Reads may go to a
    /// read-only connection and may be retried.
    public static func isPlainSelect(_ sql: String) -> Bool { startsWithKeyword(sql, "select") }

    /// Whether `sql` is one row-level write (INSERT, UPDATE, DELETE, REPLACE)
    /// that may share a transaction with other callers' writes: not a
    /// transaction control, schema or pragma statement, which must run alone.
    package static func isGroupableWrite(_ sql: String) -> Bool {
        startsWithKeyword(sql, "insert") || startsWithKeyword(sql, "update")
            || startsWithKeyword(sql, "delete") || startsWithKeyword(sql, "replace")
    }

    /// Whether `sql`'s first word is `keyword` (lowercase ASCII), ignoring case and leading space or parentheses.
    private static func startsWithKeyword(_ sql: String, _ keyword: StaticString) -> Bool {
        // Runs for every statement: compare bytes, no lowercased copy.
        var rest = sql.utf8.drop { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 || $0 == UInt8(ascii: "(") }.makeIterator()
        let expected = UnsafeBufferPointer(start: keyword.utf8Start, count: keyword.utf8CodeUnitCount)
        for byte in expected {
            guard let next = rest.next(), next | 0x20 == byte else { return false }
        }
        guard let next = rest.next() else { return true }
        let isWordByte = (next | 0x20 >= 97 && next | 0x20 <= 122) || (next >= 48 && next <= 57) || next == UInt8(ascii: "_")
        return !isWordByte
    }
}
