/// What comes next in a value of the binary RPC encoding: a whole scalar,
/// or the head of an array or map whose items follow it.
public enum TaggedItem: Sendable, Equatable {
    /// A scalar, read whole.
    case scalar(TaggedScalar)
    /// An array: `count` values follow.
    case array(count: Int)
    /// A map: `count` entries follow, each a key (`readKey`) then a value.
    case map(count: Int)
}

/// Reads a value of the binary encoding front to back, without building it
/// up as a tree first. Every read is checked: reading past the value, or a
/// key where a value is, throws `DecodingError.dataCorrupted`.
public protocol TaggedValueReader {
    /// The next value: a scalar (consumed whole), or an array's or map's head.
    mutating func read() throws -> TaggedItem
    /// The key of the next map entry (read before the entry's value).
    mutating func readKey() throws -> String
    /// Skips the next value, however deeply nested.
    mutating func skipValue() throws
}

/// Writes a value of the binary encoding front to back. Counts come first
/// on the wire, so an array or map states how many items follow.
public protocol TaggedValueWriter {
    /// Starts an array; write its `count` values next.
    mutating func beginArray(count: Int)
    /// Starts a map; write its `count` entries next, each a key then a value.
    mutating func beginMap(count: Int)
    /// Writes the key of the next map entry.
    mutating func writeKey(_ key: String)
    /// Writes a scalar.
    mutating func write(_ scalar: TaggedScalar)
}

/// A `Decodable` type the binary RPC decoder hands a reader instead of a
/// `Decoder`. For values sent by the thousand (query results, statements):
/// no container per nested value, nothing built but the value itself. And
/// for types that take any shape (template data), whose `init(from:)` would
/// try one shape after another, each failed try building a `DecodingError`
/// (measured: a third of the web tier's CPU on a page).
public protocol TaggedValueDecodable: Decodable {
    /// Reads the value; throws when what the reader holds has a shape the type cannot take.
    init(reading reader: inout some TaggedValueReader) throws
}

/// An `Encodable` type the binary RPC encoder hands a writer instead of an
/// `Encoder`: its counts are known up front, so it is written in one pass
/// with no buffer per nested container.
public protocol TaggedValueEncodable: Encodable {
    /// Writes the value.
    func write(to writer: inout some TaggedValueWriter)
}

extension TaggedValueReader {
    /// Reads a scalar, throwing a type mismatch naming `what` when an array or map is there.
    public mutating func readScalar(_ what: @autoclosure () -> String) throws -> TaggedScalar {
        guard case .scalar(let scalar) = try read() else { throw malformed(what()) }
        return scalar
    }

    /// Reads a string scalar, throwing when something else is there.
    public mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        guard case .scalar(.string(let text)) = try read() else { throw malformed(what()) }
        return text
    }

    /// Reads an array's head, throwing when something else is there.
    public mutating func readArray(_ what: @autoclosure () -> String) throws -> Int {
        guard case .array(let count) = try read() else { throw malformed(what()) }
        return count
    }

    /// Reads a map's head, throwing when something else is there.
    public mutating func readMap(_ what: @autoclosure () -> String) throws -> Int {
        guard case .map(let count) = try read() else { throw malformed(what()) }
        return count
    }

    /// The error for a value of the wrong shape, naming it.
    public func malformed(_ what: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: [], debugDescription: "\(what) is malformed or missing"))
    }
}
