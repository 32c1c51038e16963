import Foundation

/// Decodes query rows into `Decodable` types, matching properties to column names.
///
/// A type mismatch names the column: "column 'created_at' holds text, expected Int".
public struct RowDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes every row of `result` as a `T`.
    public func decode<T: Decodable>(_ type: T.Type, from result: QueryResult) throws -> [T] {
        var index: [String: Int] = [:]
        for (position, name) in result.columns.enumerated() where index[name] == nil { index[name] = position }
        return try result.rows.map { row in
            try T(from: SingleRowDecoder(columns: index, row: row))
        }
    }
}

/// A decoding failure tied to one column.
public struct RowDecodingError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the column.
    public let description: String
}

private struct SingleRowDecoder: Decoder {
    let columns: [String: Int]
    let row: [SQLValue]
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(columns: columns, row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw RowDecodingError(description: "a row decodes into a struct with one property per column, not an array")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw RowDecodingError(description: "a row decodes into a struct with one property per column, not a single value")
    }
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let columns: [String: Int]
    let row: [SQLValue]
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { columns.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { columns[key.stringValue] != nil }

    private func value(_ key: Key) throws -> SQLValue {
        guard let position = columns[key.stringValue] else {
            throw RowDecodingError(description: "the query returned no column '\(key.stringValue)'")
        }
        return row[position]
    }

    private func mismatch(_ key: Key, _ value: SQLValue, _ expected: Any.Type) -> RowDecodingError {
        let held: String =
            switch value {
            case .null: "NULL"
            case .int: "an integer"
            case .double: "a real number"
            case .text: "text"
            case .blob: "a blob"
            case .bool: "a boolean"
            case .timestamp: "a timestamp"
            }
        return RowDecodingError(description: "column '\(key.stringValue)' holds \(held), expected \(expected)")
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try value(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let v = try value(key)
        switch v {
        case .bool(let b): return b
        case .int(let i) where i == 0 || i == 1: return i == 1
        default: throw mismatch(key, v, type)
        }
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let v = try value(key)
        guard case .text(let s) = v else { throw mismatch(key, v, type) }
        return s
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        let v = try value(key)
        switch v {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: throw mismatch(key, v, type)
        }
    }

    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decode(Double.self, forKey: key)) }

    func decode<T: BinaryInteger & Decodable>(integer type: T.Type, forKey key: Key) throws -> T {
        let v = try value(key)
        guard case .int(let i) = v else { throw mismatch(key, v, type) }
        guard let exact = T(exactly: i) else {
            throw RowDecodingError(description: "column '\(key.stringValue)' value \(i) does not fit in \(type)")
        }
        return exact
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(integer: type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(integer: type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(integer: type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(integer: type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(integer: type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(integer: type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(integer: type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(integer: type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(integer: type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(integer: type, forKey: key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let v = try value(key)
        if type == [UInt8].self, case .blob(let bytes) = v { return bytes as! T }
        if type == SQLValue.self { return v as! T }
        if type == Date.self {
            // Timestamps come as such from PostgreSQL and as ISO 8601 text from SQLite.
            switch v {
            case .timestamp(let micros): return Date(timeIntervalSince1970: Double(micros) / 1_000_000) as! T
            case .text(let text):
                if let micros = SQLTimestamp.parse(text) { return Date(timeIntervalSince1970: Double(micros) / 1_000_000) as! T }
                throw RowDecodingError(
                    description: "column '\(key.stringValue)' holds text that is not a timestamp ('\(text.prefix(40))'), expected Date")
            default: throw mismatch(key, v, type)
            }
        }
        throw RowDecodingError(
            description: "column '\(key.stringValue)' cannot be decoded as \(type); use a String, number, Bool, Date, [UInt8] or SQLValue property")
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw RowDecodingError(description: "column '\(key.stringValue)' cannot hold a nested value")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw RowDecodingError(description: "column '\(key.stringValue)' cannot hold a nested list")
    }

    func superDecoder() throws -> any Decoder { SingleRowDecoder(columns: columns, row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { SingleRowDecoder(columns: columns, row: row) }
}
