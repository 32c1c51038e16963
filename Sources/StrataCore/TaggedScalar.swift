/// One value of the scalar kinds Strata's binary RPC encoding tells apart by
/// its tag byte (see ARCHITECTURE.md, "Binary body encoding").
public enum TaggedScalar: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
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
    public var taggedValue: TaggedValue { .scalar(taggedScalar) }

    public init(taggedValue: TaggedValue) throws {
        guard case .scalar(let scalar) = taggedValue else {
            throw DecodingError.typeMismatch(Self.self, .init(codingPath: [], debugDescription: "expected a scalar, found an array or map"))
        }
        try self.init(taggedScalar: scalar)
    }
}

/// A whole value of the binary RPC encoding: a scalar, an array or a map
/// (entries in wire order).
public indirect enum TaggedValue: Sendable {
    case scalar(TaggedScalar)
    case array([TaggedValue])
    case map([(key: String, value: TaggedValue)])
}

/// A `Decodable` type that takes any shape (template data, say). The binary
/// RPC decoder hands it the value's tree in one pass instead of letting its
/// `init(from:)` try one shape after another, where every failed try builds
/// a `DecodingError` (measured: a third of the web tier's CPU on a page).
public protocol TaggedValueDecodable: Decodable {
    /// The value a tree of the binary encoding stands for; throws when the
    /// tree has a shape the type cannot take.
    init(taggedValue: TaggedValue) throws
}

/// An `Encodable` type that hands the binary RPC encoder its whole tree at
/// once (counts known up front), instead of one container per nested value.
/// For values sent by the thousand: query results and statements.
public protocol TaggedValueEncodable: Encodable {
    /// The value as a tree of the binary encoding.
    var taggedValue: TaggedValue { get }
}
