import Foundation
import StrataCore

/// Encodes `Encodable` values in Strata's binary body format (see ARCHITECTURE.md).
///
/// Scalars are written straight into the enclosing container's bytes; each
/// nested struct, array or dictionary gets one buffer of its own, spliced into
/// its parent at the end, because a container's element count comes first on
/// the wire and Codable never says when a container is finished.
public struct BinaryEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The encoding of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let streamed = value as? any TaggedValueEncodable {
            // Written in one pass: no composite to splice.
            var out: [UInt8] = []
            BinaryWriter.write(streamed, into: &out)
            return out
        }
        let root = Composite(kind: .root)
        try root.encode(value, codingPath: [])
        if root.children.isEmpty && !root.bytes.isEmpty { return root.bytes }  // written in one pass: nothing to splice
        var out: [UInt8] = []
        out.reserveCapacity(root.bytes.count + 16)
        root.write(into: &out)
        return out
    }
}

/// The bytes of one array or map (or of the top-level value) being encoded.
private final class Composite {
    enum Kind { case root, array, map }

    let kind: Kind
    var count = 0
    var bytes: [UInt8] = []
    /// Nested containers, to be written at these offsets of `bytes`.
    var children: [(offset: Int, child: Composite)] = []

    init(kind: Kind) { self.kind = kind }

    func write(into out: inout [UInt8]) {
        switch kind {
        case .root:
            // A superclass encoder that was handed out but never used still owes its key a value.
            if bytes.isEmpty && children.isEmpty { out.append(BinaryTag.null.rawValue) }
        case .array:
            out.append(BinaryTag.array.rawValue)
            Varint.append(UInt64(count), to: &out)
        case .map:
            out.append(BinaryTag.map.rawValue)
            Varint.append(UInt64(count), to: &out)
        }
        var start = 0
        for (offset, child) in children {
            out.append(contentsOf: bytes[start..<offset])
            child.write(into: &out)
            start = offset
        }
        out.append(contentsOf: bytes[start...])
    }

    func nest(_ kind: Kind) -> Composite {
        let child = Composite(kind: kind)
        children.append((bytes.count, child))
        return child
    }

    func appendKey(_ key: String) { bytes.appendText(key) }

    // MARK: Scalars

    func appendNil() { bytes.appendTagged(.null) }

    func append(_ value: Bool) { bytes.appendTagged(.bool(value)) }

    func append(signed value: Int64) { bytes.appendTagged(.int(value)) }

    func append(unsigned value: UInt64) {
        bytes.append(BinaryTag.uint.rawValue)
        Varint.append(value, to: &bytes)
    }

    func append(_ value: Double) { bytes.appendTagged(.double(value)) }

    func append(_ value: String) { bytes.appendTagged(.string(value)) }

    func append(bytes value: some Collection<UInt8>) {
        bytes.append(BinaryTag.bytes.rawValue)
        Varint.append(UInt64(value.count), to: &bytes)
        bytes.append(contentsOf: value)
    }

    /// Encodes any value: the types the format knows natively are written
    /// directly, the rest through their own `encode(to:)`.
    func encode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        // Metatype comparisons, not `as?` casts: they cost nothing at run time.
        if T.self == String.self {
            append(unsafeBitCast(value, to: String.self))
        } else if T.self == Int.self {
            append(signed: Int64(unsafeBitCast(value, to: Int.self)))
        } else if T.self == Int64.self {
            append(signed: unsafeBitCast(value, to: Int64.self))
        } else if T.self == Bool.self {
            append(unsafeBitCast(value, to: Bool.self))
        } else if T.self == Double.self {
            append(unsafeBitCast(value, to: Double.self))
        } else if T.self == [UInt8].self {
            append(bytes: unsafeBitCast(value, to: [UInt8].self))
        } else if T.self == Data.self {
            append(bytes: unsafeBitCast(value, to: Data.self))
        } else if T.self == Date.self {
            let date = unsafeBitCast(value, to: Date.self)
            bytes.append(BinaryTag.timestamp.rawValue)
            let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
            guard micros.magnitude < 9.2e18 else {
                throw EncodingError.invalidValue(date, .init(codingPath: codingPath, debugDescription: "date out of range"))
            }
            Varint.append(Varint.zigzag(Int64(micros)), to: &bytes)
        } else if let streamed = value as? any TaggedValueEncodable {
            BinaryWriter.write(streamed, into: &bytes)
        } else {
            let encoder = ValueEncoder(target: self, codingPath: codingPath)
            try value.encode(to: encoder)
            if !encoder.wroteValue {
                // A type that encoded nothing is an empty map, as in JSON.
                _ = nest(.map)
            }
        }
    }
}

/// What a `TaggedValueEncodable` value writes itself to: the bytes of the container it sits in.
private struct BinaryWriter: TaggedValueWriter {
    var bytes: [UInt8]

    /// Appends `value` to `bytes` (moved into the writer and back: no copy).
    static func write(_ value: any TaggedValueEncodable, into bytes: inout [UInt8]) {
        var writer = BinaryWriter(bytes: [])
        swap(&writer.bytes, &bytes)
        // A fresh buffer: one allocation up front instead of one per doubling
        // (only then: reserving on a filled one would not grow geometrically).
        if writer.bytes.isEmpty { writer.bytes.reserveCapacity(128) }
        value.write(to: &writer)
        swap(&writer.bytes, &bytes)
    }

    mutating func beginArray(count: Int) {
        bytes.append(BinaryTag.array.rawValue)
        Varint.append(UInt64(count), to: &bytes)
    }

    mutating func beginMap(count: Int) {
        bytes.append(BinaryTag.map.rawValue)
        Varint.append(UInt64(count), to: &bytes)
    }

    mutating func writeKey(_ key: String) { bytes.appendText(key) }

    mutating func write(_ scalar: TaggedScalar) { bytes.appendTagged(scalar) }
}

/// The `Encoder` handed to a value's `encode(to:)`; writes into its parent's composite.
private final class ValueEncoder: Encoder {
    let target: Composite
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var wroteValue = false

    init(target: Composite, codingPath: [any CodingKey]) {
        self.target = target
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        wroteValue = true
        return KeyedEncodingContainer(KeyedContainer<Key>(composite: target.nest(.map), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        wroteValue = true
        return UnkeyedContainer(composite: target.nest(.array), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let composite: Composite
    let codingPath: [any CodingKey]

    private func key(_ key: Key) {
        composite.count += 1
        composite.appendKey(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws { self.key(key); composite.appendNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { self.key(key); composite.append(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { self.key(key); composite.append(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { self.key(key); composite.append(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { self.key(key); composite.append(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { self.key(key); composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { self.key(key); composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { self.key(key); composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { self.key(key); composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { self.key(key); composite.append(signed: value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { self.key(key); composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { self.key(key); composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { self.key(key); composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { self.key(key); composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { self.key(key); composite.append(unsigned: value) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        self.key(key)
        try composite.encode(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        self.key(key)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(composite: composite.nest(.map), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        self.key(key)
        return UnkeyedContainer(composite: composite.nest(.array), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        composite.count += 1
        composite.appendKey("super")
        return ValueEncoder(target: composite.nest(.root), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        self.key(key)
        return ValueEncoder(target: composite.nest(.root), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let composite: Composite
    let codingPath: [any CodingKey]
    var count: Int { composite.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(composite.count)] }

    mutating func encodeNil() throws { composite.count += 1; composite.appendNil() }
    mutating func encode(_ value: Bool) throws { composite.count += 1; composite.append(value) }
    mutating func encode(_ value: String) throws { composite.count += 1; composite.append(value) }
    mutating func encode(_ value: Double) throws { composite.count += 1; composite.append(value) }
    mutating func encode(_ value: Float) throws { composite.count += 1; composite.append(Double(value)) }
    mutating func encode(_ value: Int) throws { composite.count += 1; composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int8) throws { composite.count += 1; composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int16) throws { composite.count += 1; composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int32) throws { composite.count += 1; composite.append(signed: Int64(value)) }
    mutating func encode(_ value: Int64) throws { composite.count += 1; composite.append(signed: value) }
    mutating func encode(_ value: UInt) throws { composite.count += 1; composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { composite.count += 1; composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { composite.count += 1; composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { composite.count += 1; composite.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { composite.count += 1; composite.append(unsigned: value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        composite.count += 1
        try composite.encode(value, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        composite.count += 1
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(composite: composite.nest(.map), codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        composite.count += 1
        return UnkeyedContainer(composite: composite.nest(.array), codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        composite.count += 1
        return ValueEncoder(target: composite.nest(.root), codingPath: path)
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func claim() throws {
        guard !encoder.wroteValue else {
            throw EncodingError.invalidValue((), .init(codingPath: codingPath, debugDescription: "a single value container holds one value"))
        }
        encoder.wroteValue = true
    }

    mutating func encodeNil() throws { try claim(); encoder.target.appendNil() }
    mutating func encode(_ value: Bool) throws { try claim(); encoder.target.append(value) }
    mutating func encode(_ value: String) throws { try claim(); encoder.target.append(value) }
    mutating func encode(_ value: Double) throws { try claim(); encoder.target.append(value) }
    mutating func encode(_ value: Float) throws { try claim(); encoder.target.append(Double(value)) }
    mutating func encode(_ value: Int) throws { try claim(); encoder.target.append(signed: Int64(value)) }
    mutating func encode(_ value: Int8) throws { try claim(); encoder.target.append(signed: Int64(value)) }
    mutating func encode(_ value: Int16) throws { try claim(); encoder.target.append(signed: Int64(value)) }
    mutating func encode(_ value: Int32) throws { try claim(); encoder.target.append(signed: Int64(value)) }
    mutating func encode(_ value: Int64) throws { try claim(); encoder.target.append(signed: value) }
    mutating func encode(_ value: UInt) throws { try claim(); encoder.target.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { try claim(); encoder.target.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { try claim(); encoder.target.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { try claim(); encoder.target.append(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { try claim(); encoder.target.append(unsigned: value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try claim()
        try encoder.target.encode(value, codingPath: codingPath)
    }
}

/// The coding key of an array element.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { String(intValue ?? 0) }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}
