import Foundation
import StrataCore

/// Decodes `Decodable` values from Strata's binary body format (see ARCHITECTURE.md).
///
/// The whole input is checked once before decoding starts (tags known,
/// lengths inside the input, nesting at most 64 deep, nothing after the
/// value), so hostile bytes fail with one `DecodingError.dataCorrupted`
/// naming the byte offset, and decoding proper never reads out of bounds.
public struct BinaryDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes a `T` from `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let input = BinaryInput(bytes)
        let end = try input.skip(0, depth: 0)
        guard end == bytes.count else {
            throw input.corrupted("\(bytes.count - end) bytes after the value", at: end)
        }
        return try input.decode(T.self, at: 0, codingPath: [])
    }
}

/// The bytes being decoded, shared by every container of one decode.
private final class BinaryInput {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func corrupted(_ message: String, at offset: Int, codingPath: [any CodingKey] = []) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: "malformed binary body at byte \(offset): \(message)"))
    }

    // MARK: Structure

    func varint(_ position: inout Int) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < bytes.count else { throw corrupted("truncated number", at: start) }
            let byte = bytes[position]
            position += 1
            guard shift < 63 || (shift == 63 && byte <= 1) else { throw corrupted("number longer than 64 bits", at: start) }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A count or length that must fit in what is left, `unit` bytes per item at least.
    func length(_ position: inout Int, unit: Int = 1) throws -> Int {
        let start = position
        let value = try varint(&position)
        guard value <= UInt64((bytes.count - position) / unit) else {
            throw corrupted("length \(value) runs past the end of the body", at: start)
        }
        return Int(value)
    }

    /// The offset just past the value at `offset`, checking everything inside it.
    func skip(_ offset: Int, depth: Int) throws -> Int {
        guard offset < bytes.count else { throw corrupted("value expected", at: offset) }
        guard let tag = BinaryTag(rawValue: bytes[offset]) else {
            throw corrupted("unknown tag 0x\(String(bytes[offset], radix: 16))", at: offset)
        }
        var position = offset + 1
        switch tag {
        case .null, .false, .true:
            return position
        case .int, .uint, .timestamp:
            _ = try varint(&position)
            return position
        case .float:
            guard bytes.count - position >= 8 else { throw corrupted("truncated float", at: offset) }
            return position + 8
        case .string, .bytes:
            let count = try length(&position)
            return position + count
        case .array:
            guard depth < BinaryLimits.maxDepth else { throw corrupted("nested deeper than \(BinaryLimits.maxDepth)", at: offset) }
            let count = try length(&position)
            for _ in 0..<count { position = try skip(position, depth: depth + 1) }
            return position
        case .map:
            guard depth < BinaryLimits.maxDepth else { throw corrupted("nested deeper than \(BinaryLimits.maxDepth)", at: offset) }
            let count = try length(&position, unit: 2)
            for _ in 0..<count {
                let keyLength = try length(&position)
                position = try skip(position + keyLength, depth: depth + 1)
            }
            return position
        }
    }

    func tag(at offset: Int) -> BinaryTag { BinaryTag(rawValue: bytes[offset])! }

    // MARK: Values

    func mismatch(_ type: Any.Type, at offset: Int, _ codingPath: [any CodingKey]) -> DecodingError {
        let found = tag(at: offset)
        if found == .null {
            return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "expected \(type), found null"))
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(found)"))
    }

    func string(at offset: Int, _ codingPath: [any CodingKey]) throws -> String {
        guard tag(at: offset) == .string else { throw mismatch(String.self, at: offset, codingPath) }
        return try text(at: offset + 1, codingPath)
    }

    /// Length-prefixed UTF-8 at `offset` (a string's payload, or a map key).
    func text(at offset: Int, _ codingPath: [any CodingKey]) throws -> String {
        var position = offset
        return try text(&position, codingPath)
    }

    /// Length-prefixed UTF-8 at `position`, which moves past it.
    func text(_ position: inout Int, _ codingPath: [any CodingKey]) throws -> String {
        let start = position
        let count = try length(&position)
        guard let text = String(validating: bytes[position..<(position + count)], as: UTF8.self) else {
            throw corrupted("text is not valid UTF-8", at: start, codingPath: codingPath)
        }
        position += count
        return text
    }

    func bool(at offset: Int, _ codingPath: [any CodingKey]) throws -> Bool {
        switch tag(at: offset) {
        case .true: return true
        case .false: return false
        default: throw mismatch(Bool.self, at: offset, codingPath)
        }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, _ codingPath: [any CodingKey]) throws -> T {
        var position = offset + 1
        let result: T?
        switch tag(at: offset) {
        case .int: result = T(exactly: Varint.unzigzag(try varint(&position)))
        case .uint: result = T(exactly: try varint(&position))
        default: throw mismatch(T.self, at: offset, codingPath)
        }
        guard let result else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "number does not fit in \(T.self)"))
        }
        return result
    }

    func double(at offset: Int, _ codingPath: [any CodingKey]) throws -> Double {
        switch tag(at: offset) {
        case .float:
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(bytes[offset + 1 + i]) << (8 * UInt64(i)) }
            return Double(bitPattern: bits)
        case .int, .uint:
            // Whole numbers are accepted where a Double is expected, as JSON does.
            var position = offset + 1
            let raw = try varint(&position)
            return tag(at: offset) == .int ? Double(Varint.unzigzag(raw)) : Double(raw)
        default:
            throw mismatch(Double.self, at: offset, codingPath)
        }
    }

    func byteArray(at offset: Int) throws -> [UInt8] {
        var position = offset + 1
        let count = try length(&position)
        return Array(bytes[position..<(position + count)])
    }

    func decode<T: Decodable>(_ type: T.Type, at offset: Int, codingPath: [any CodingKey]) throws -> T {
        // Metatype comparisons, not `as?` casts: they cost nothing at run time.
        if T.self == String.self {
            return unsafeBitCast(try string(at: offset, codingPath), to: T.self)
        } else if T.self == Int.self {
            return unsafeBitCast(try integer(Int.self, at: offset, codingPath), to: T.self)
        } else if T.self == Int64.self {
            return unsafeBitCast(try integer(Int64.self, at: offset, codingPath), to: T.self)
        } else if T.self == Bool.self {
            return unsafeBitCast(try bool(at: offset, codingPath), to: T.self)
        } else if T.self == Double.self {
            return unsafeBitCast(try double(at: offset, codingPath), to: T.self)
        } else if T.self == [UInt8].self, tag(at: offset) == .bytes {
            return unsafeBitCast(try byteArray(at: offset), to: T.self)
        } else if T.self == Data.self {
            guard tag(at: offset) == .bytes else { throw mismatch(Data.self, at: offset, codingPath) }
            return unsafeBitCast(Data(try byteArray(at: offset)), to: T.self)
        } else if T.self == Date.self {
            guard tag(at: offset) == .timestamp else { throw mismatch(Date.self, at: offset, codingPath) }
            var position = offset + 1
            let micros = Varint.unzigzag(try varint(&position))
            return unsafeBitCast(Date(timeIntervalSince1970: Double(micros) / 1_000_000), to: T.self)
        }
        if let streamed = T.self as? any TaggedValueDecodable.Type {
            var reader = BinaryReader(input: self, position: offset, codingPath: codingPath)
            return try streamed.init(reading: &reader) as! T
        }
        return try T(from: ValueDecoder(input: self, offset: offset, codingPath: codingPath))
    }

    /// The tagged scalar at `offset`; a composite there is a type mismatch.
    func scalar(at offset: Int, _ codingPath: [any CodingKey]) throws -> TaggedScalar {
        switch tag(at: offset) {
        case .null: return .null
        case .false, .true: return .bool(try bool(at: offset, codingPath))
        case .int, .uint: return .int(try integer(Int64.self, at: offset, codingPath))
        case .float: return .double(try double(at: offset, codingPath))
        case .string: return .string(try string(at: offset, codingPath))
        case .bytes: return .bytes(try byteArray(at: offset))
        case .timestamp:
            var position = offset + 1
            return .timestamp(Varint.unzigzag(try varint(&position)))
        default:
            throw DecodingError.typeMismatch(
                TaggedScalar.self, .init(codingPath: codingPath, debugDescription: "expected a scalar, found an array or map"))
        }
    }
}

/// What a `TaggedValueDecodable` type reads from. The body was checked
/// before decoding began, but a type may still read more than the value
/// holds, or a key where a value is: every read is checked again.
private struct BinaryReader: TaggedValueReader {
    let input: BinaryInput
    var position: Int
    let codingPath: [any CodingKey]

    mutating func read() throws -> TaggedItem {
        guard position < input.bytes.count, let tag = BinaryTag(rawValue: input.bytes[position]) else {
            throw input.corrupted("value expected", at: position, codingPath: codingPath)
        }
        let start = position
        switch tag {
        case .array:
            position += 1
            return .array(count: try input.length(&position))
        case .map:
            position += 1
            return .map(count: try input.length(&position, unit: 2))
        default:
            position = try input.skip(start, depth: 0)
            return .scalar(try input.scalar(at: start, codingPath))
        }
    }

    mutating func readKey() throws -> String {
        guard position < input.bytes.count else { throw input.corrupted("map key expected", at: position, codingPath: codingPath) }
        return try input.text(&position, codingPath)
    }

    mutating func skipValue() throws {
        position = try input.skip(position, depth: 0)
    }
}

/// The `Decoder` handed to a value's `init(from:)`.
private struct ValueDecoder: Decoder {
    let input: BinaryInput
    let offset: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard input.tag(at: offset) == .map else { throw input.mismatch([String: Any].self, at: offset, codingPath) }
        return KeyedDecodingContainer(try KeyedContainer<Key>(input: input, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard input.tag(at: offset) == .array else { throw input.mismatch([Any].self, at: offset, codingPath) }
        return try UnkeyedContainer(input: input, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(input: input, offset: offset, codingPath: codingPath)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let input: BinaryInput
    let codingPath: [any CodingKey]
    /// Each entry's key (offset of its length prefix) and value offset, in wire order.
    private var entries: [(key: Int, value: Int)] = []
    /// Built for large maps only; small ones are searched in order.
    private var index: [String: Int]?

    init(input: BinaryInput, offset: Int, codingPath: [any CodingKey]) throws {
        self.input = input
        self.codingPath = codingPath
        var position = offset + 1
        let count = try input.length(&position, unit: 2)
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let key = position
            let keyLength = try input.length(&position)
            position += keyLength
            entries.append((key, position))
            position = try input.skip(position, depth: 0)
        }
        if count > 16 {
            var index: [String: Int] = [:]
            for entry in entries {
                let name = try input.text(at: entry.key, codingPath)
                if index[name] == nil { index[name] = entry.value }  // the first of duplicates wins, as below
            }
            self.index = index
        }
    }

    var allKeys: [Key] {
        entries.compactMap { entry in (try? input.text(at: entry.key, codingPath)).flatMap(Key.init(stringValue:)) }
    }

    private func find(_ key: Key) -> Int? { find(key.stringValue) }

    private func find(_ key: String) -> Int? {
        if let index { return index[key] }
        var name = key
        return name.withUTF8 { wanted -> Int? in
            for entry in entries {
                var position = entry.key
                guard let length = try? input.length(&position), length == wanted.count else { continue }
                if input.bytes.withUnsafeBufferPointer({ bytes in
                    memcmp(bytes.baseAddress! + position, wanted.baseAddress!, length) == 0
                }) {
                    return entry.value
                }
            }
            return nil
        }
    }

    private func value(_ key: Key) throws -> Int {
        guard let offset = find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for '\(key.stringValue)'"))
        }
        return offset
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { input.tag(at: try value(key)) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try input.decode(T.self, at: try value(key), codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(input: input, offset: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(input: input, offset: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard let offset = find("super") else {
            throw DecodingError.keyNotFound(IndexKey(0), .init(codingPath: codingPath, debugDescription: "no value for 'super'"))
        }
        return ValueDecoder(input: input, offset: offset, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(input: input, offset: try value(key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let input: BinaryInput
    let codingPath: [any CodingKey]
    let count: Int?
    private(set) var currentIndex = 0
    /// Offset of the next element.
    private var position: Int

    init(input: BinaryInput, offset: Int, codingPath: [any CodingKey]) throws {
        self.input = input
        self.codingPath = codingPath
        var position = offset + 1
        count = try input.length(&position)
        self.position = position
    }

    var isAtEnd: Bool { currentIndex >= count! }

    private mutating func next() throws -> (offset: Int, path: [any CodingKey]) {
        let path = codingPath + [IndexKey(currentIndex)]
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: path, debugDescription: "the array has only \(count!) elements"))
        }
        let offset = position
        position = try input.skip(position, depth: 0)
        currentIndex += 1
        return (offset, path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, input.tag(at: position) == .null else { return false }
        _ = try next()
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // Only a successfully decoded element is consumed, as Codable expects.
        var copy = self
        let (offset, path) = try copy.next()
        let value = try input.decode(T.self, at: offset, codingPath: path)
        self = copy
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (offset, path) = try next()
        return try ValueDecoder(input: input, offset: offset, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (offset, path) = try next()
        return try ValueDecoder(input: input, offset: offset, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (offset, path) = try next()
        return ValueDecoder(input: input, offset: offset, codingPath: path)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let input: BinaryInput
    let offset: Int
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { input.tag(at: offset) == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try input.bool(at: offset, codingPath) }
    func decode(_ type: String.Type) throws -> String { try input.string(at: offset, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try input.double(at: offset, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try input.double(at: offset, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try input.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try input.integer(type, at: offset, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try input.decode(T.self, at: offset, codingPath: codingPath) }
}
