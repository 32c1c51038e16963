import StrataCore

/// A value bound to a statement parameter or read from a column.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
    case bool(Bool)
    /// A moment in UTC, as microseconds since 1970-01-01T00:00:00Z.
    case timestamp(Int64)

    /// The value as an integer, if it is one (booleans count as 0 and 1).
    public var intValue: Int64? {
        switch self {
        case .int(let v): v
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as text, if it is text.
    public var textValue: String? {
        if case .text(let v) = self { return v }
        return nil
    }
}

/// Wire form: `null`, or an object with one key naming the type:
/// `{"i":1}`, `{"d":1.5}`, `{"t":"text"}`, `{"x":"<hex>"}`, `{"b":true}`,
/// `{"ts":1700000000000000}` (microseconds since the epoch, UTC).
/// Tagging keeps 64-bit integers, doubles and blobs apart in JSON.
extension SQLValue: Codable {
    private enum Key: String, CodingKey {
        case i, d, t, x, b, ts
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), single.decodeNil() {
            self = .null
            return
        }
        let container = try decoder.container(keyedBy: Key.self)
        guard let key = container.allKeys.first, container.allKeys.count == 1 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an SQL value is null or an object with one of the keys i, d, t, x, b, ts"))
        }
        switch key {
        case .i: self = .int(try container.decode(Int64.self, forKey: key))
        case .d: self = .double(try container.decode(Double.self, forKey: key))
        case .t: self = .text(try container.decode(String.self, forKey: key))
        case .b: self = .bool(try container.decode(Bool.self, forKey: key))
        case .ts: self = .timestamp(try container.decode(Int64.self, forKey: key))
        case .x:
            let hex = try container.decode(String.self, forKey: key)
            guard let bytes = Digest.bytes(fromHex: hex.utf8) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "blob is not even-length hexadecimal")
            }
            self = .blob(bytes)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if case .null = self {
            var single = encoder.singleValueContainer()
            try single.encodeNil()
            return
        }
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .null: break
        case .int(let v): try container.encode(v, forKey: .i)
        case .double(let v): try container.encode(v, forKey: .d)
        case .text(let v): try container.encode(v, forKey: .t)
        case .bool(let v): try container.encode(v, forKey: .b)
        case .blob(let v): try container.encode(Digest.hex(v), forKey: .x)
        case .timestamp(let v): try container.encode(v, forKey: .ts)
        }
    }
}

/// In the binary RPC encoding a value is just the tagged scalar of its kind,
/// which keeps every kind apart without the keys JSON needs.
extension SQLValue: TaggedScalarCodable {
    public var taggedScalar: TaggedScalar {
        switch self {
        case .null: .null
        case .int(let v): .int(v)
        case .double(let v): .double(v)
        case .text(let v): .string(v)
        case .blob(let v): .bytes(v)
        case .bool(let v): .bool(v)
        case .timestamp(let v): .timestamp(v)
        }
    }

    public init(taggedScalar: TaggedScalar) {
        switch taggedScalar {
        case .null: self = .null
        case .int(let v): self = .int(v)
        case .double(let v): self = .double(v)
        case .string(let v): self = .text(v)
        case .bytes(let v): self = .blob(v)
        case .bool(let v): self = .bool(v)
        case .timestamp(let v): self = .timestamp(v)
        }
    }
}

/// The rows a query returned.
public struct QueryResult: Codable, Sendable, Equatable {
    /// Column names, in select order.
    public var columns: [String]
    /// Each row's values, in column order.
    public var rows: [[SQLValue]]

    /// Creates a result.
    public init(columns: [String], rows: [[SQLValue]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// Result rows arrive by the thousand: the binary encoding writes and reads
/// them in one pass, with nothing allocated but the result itself.
extension QueryResult: TaggedValueEncodable, TaggedValueDecodable {
    public func write(to writer: inout some TaggedValueWriter) {
        writer.beginMap(count: 2)
        writer.writeKey("columns")
        writer.beginArray(count: columns.count)
        for column in columns { writer.write(.string(column)) }
        writer.writeKey("rows")
        writer.beginArray(count: rows.count)
        for row in rows {
            writer.beginArray(count: row.count)
            for value in row { writer.write(value.taggedScalar) }
        }
    }

    public init(reading reader: inout some TaggedValueReader) throws {
        var columns: [String]?
        var rows: [[SQLValue]]?
        for _ in 0..<(try reader.readMap("a query result")) {
            switch try reader.readKey() {
            case "columns" where columns == nil:
                let count = try reader.readArray("a query result's columns")
                var names: [String] = []
                names.reserveCapacity(count)
                for _ in 0..<count { names.append(try reader.readString("a column name")) }
                columns = names
            case "rows" where rows == nil:
                let count = try reader.readArray("a query result's rows")
                var list: [[SQLValue]] = []
                list.reserveCapacity(count)
                for _ in 0..<count {
                    let width = try reader.readArray("a row")
                    var row: [SQLValue] = []
                    row.reserveCapacity(width)
                    for _ in 0..<width { row.append(SQLValue(taggedScalar: try reader.readScalar("a value"))) }
                    list.append(row)
                }
                rows = list
            default:
                try reader.skipValue()
            }
        }
        guard let columns else { throw reader.malformed("a query result's columns") }
        guard let rows else { throw reader.malformed("a query result's rows") }
        self.init(columns: columns, rows: rows)
    }
}

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

/// A database call failed. `kind` lets callers map it to an RPC code without parsing messages.
public struct SQLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of failure.
    public enum Kind: String, Sendable, Codable {
        case uniqueViolation, foreignKeyViolation, checkViolation, notNullViolation
        /// The transaction lost a conflict (serialization failure, deadlock); retrying may succeed.
        case serializationFailure
        /// The engine cannot be reached (connection lost, server shutting down).
        case unavailable
        case syntax, busy, cannotOpen, unsupported, other
    }

    /// The category.
    public let kind: Kind
    /// The engine's message.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
