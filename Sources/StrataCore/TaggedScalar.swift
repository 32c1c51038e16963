/// One value of the scalar kinds Strata's binary RPC encoding tells apart by
/// its tag byte (see ARCHITECTURE.md, "Binary body encoding").
public enum TaggedScalar: Sendable, Equatable {
    /// No value.
    case null
    /// True or false.
    case bool(Bool)
    /// A signed 64-bit integer.
    case int(Int64)
    /// An IEEE 754 double.
    case double(Double)
    /// UTF-8 text.
    case string(String)
    /// Raw bytes.
    case bytes([UInt8])
    /// Microseconds since 1970-01-01T00:00:00Z.
    case timestamp(Int64)
}

/// A `Codable` type whose values are each one tagged scalar.
///
/// The binary RPC encoding writes such a value as that scalar alone (its tag
/// says which kind it is) instead of calling `encode(to:)`, and reads it back
/// the same way; other encoders (JSON) use the type's own `Codable` form,
/// which has to spell out the kind. `SQLValue` is the case in point: a
/// result row is a list of them, and the tagged form decodes several times
/// faster than a keyed container per value.
public protocol TaggedScalarCodable: TaggedValueEncodable, TaggedValueDecodable {
    /// The value as a tagged scalar.
    var taggedScalar: TaggedScalar { get }
    /// The value a tagged scalar stands for.
    init(taggedScalar: TaggedScalar) throws
}

extension TaggedScalarCodable {
    public func write(to writer: inout some TaggedValueWriter) {
        writer.write(taggedScalar)
    }

    public init(reading reader: inout some TaggedValueReader) throws {
        guard case .scalar(let scalar) = try reader.read() else {
            throw DecodingError.typeMismatch(Self.self, .init(codingPath: [], debugDescription: "expected a scalar, found an array or map"))
        }
        try self.init(taggedScalar: scalar)
    }
}
