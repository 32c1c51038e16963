import Foundation

/// Describes a `Decodable` type as a JSON Schema by decoding one from
/// nothing: a decoder that answers every question with a placeholder and
/// notes what was asked (each key, its type, whether `decodeIfPresent`
/// made it optional). Arrays are decoded with one element, so their
/// element type is seen; string enums that are `CaseIterable` list their
/// cases. What this cannot see (dictionaries, a custom `init(from:)` that
/// rejects the placeholders) is reported as a `SchemaProblem`, never
/// guessed at. The placeholder value it decodes is kept: running the
/// type's validation rules on it gives their constraints.
enum SchemaRecorder {
    /// The schema of `type` and the placeholder instance decoded.
    static func describe<T: Decodable>(_ type: T.Type) throws(SchemaProblem) -> (schema: [String: Any], sample: T) {
        let root = SchemaNode()
        do {
            let sample = try root.decode(T.self, codingPath: [])
            return (root.json, sample)
        } catch let problem as SchemaProblem {
            throw problem
        } catch {
            throw SchemaProblem("\(T.self) cannot be described: decoding placeholders failed (\(error))")
        }
    }

    /// The properties of `type` that cannot come from a field's text (a
    /// form, a query, an XML body): nested values, lists, dates and the
    /// like, which `FieldDecoder` does not read. Empty when all can; nil
    /// when `type` cannot be described, so nobody can tell.
    static func fieldsNotReadAsText<T: Decodable>(_ type: T.Type) -> [String]? {
        let root = SchemaNode()
        guard (try? root.decode(T.self, codingPath: [])) != nil else { return nil }
        return root.properties.filter { !$0.node.readsAsText }.map(\.name)
    }
}

/// A type whose JSON shape cannot be derived.
struct SchemaProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What was learned of one value.
final class SchemaNode {
    enum Shape {
        case unknown
        case primitive([String: Any])
        case object
        case array(SchemaNode)
    }

    var shape = Shape.unknown
    /// Whether the value can come from a field's text (`FieldDecoder.reads` of its declared type).
    var readsAsText = false
    /// Object properties in the order first asked for, and which were required.
    var properties: [(name: String, node: SchemaNode, required: Bool)] = []

    var json: [String: Any] {
        switch shape {
        case .unknown: return [:]
        case .primitive(let schema): return schema
        case .array(let element): return ["type": "array", "items": element.json]
        case .object:
            // An optional property may also be sent as null (it decodes as absent).
            let described = properties.map { ($0.name, $0.required ? $0.node.json : Self.nullable($0.node.json)) }
            var schema: [String: Any] = ["type": "object", "properties": Dictionary(described, uniquingKeysWith: { a, _ in a })]
            let required = properties.filter(\.required).map(\.name)
            if !required.isEmpty { schema["required"] = required }
            return schema
        }
    }

    /// The types a schema admits (`type` is a name or a list of names).
    static func types(of schema: [String: Any]) -> [String] {
        (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
    }

    /// `schema` that also admits null.
    static func nullable(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if let type = schema["type"] as? String { schema["type"] = [type, "null"] }
        if let values = schema["enum"] as? [Any] { schema["enum"] = values + [NSNull()] }
        return schema
    }

    func property(_ name: String, required: Bool) -> SchemaNode {
        shape = .object
        if let index = properties.firstIndex(where: { $0.name == name }) {
            properties[index].required = properties[index].required || required
            return properties[index].node
        }
        let node = SchemaNode()
        properties.append((name, node, required))
        return node
    }

    /// Decodes a placeholder `T` into this node.
    func decode<T: Decodable>(_ type: T.Type, codingPath: [any CodingKey]) throws -> T {
        // As declared, set last: a wrapper whose inside decodes a String is not read from text.
        defer { readsAsText = FieldDecoder.reads(T.self) }
        if let known = Self.placeholder(T.self) {
            shape = .primitive(known.schema)
            return known.value as! T
        }
        if let cases = StringEnumCases.of(T.self) {
            shape = .primitive(["type": "string", "enum": cases.names])
            return cases.first as! T
        }
        if T.self is any DictionaryMarker.Type {
            throw SchemaProblem("\(T.self) cannot be described: dictionaries have no fixed keys; use a struct")
        }
        return try T(from: RecordingDecoder(node: self, codingPath: codingPath))
    }

    /// Types whose JSON form is a primitive that `Codable` gives no hint of,
    /// as `JSONEncoder` and `JSONDecoder` with default strategies write them.
    private static func placeholder(_ type: Any.Type) -> (schema: [String: Any], value: Any)? {
        switch type {
        case is String.Type: (["type": "string"], "")
        case is Bool.Type: (["type": "boolean"], false)
        case is Int64.Type: (["type": "integer", "format": "int64"], Int64(0))
        case is Int.Type: (["type": "integer", "format": "int64"], 0)
        case is Int32.Type: (["type": "integer", "format": "int32"], Int32(0))
        case is Int8.Type: (["type": "integer", "minimum": -128, "maximum": 127], Int8(0))
        case is Int16.Type: (["type": "integer", "minimum": -32768, "maximum": 32767], Int16(0))
        case is UInt8.Type: (["type": "integer", "minimum": 0, "maximum": 255], UInt8(0))
        case is UInt16.Type: (["type": "integer", "minimum": 0, "maximum": 65535], UInt16(0))
        case is UInt32.Type: (["type": "integer", "minimum": 0, "maximum": 4_294_967_295], UInt32(0))
        case is UInt.Type, is UInt64.Type: (["type": "integer", "minimum": 0], type == UInt.self ? UInt(0) as Any : UInt64(0))
        case is Double.Type: (["type": "number", "format": "double"], 0.0)
        case is Float.Type: (["type": "number", "format": "float"], Float(0))
        case is Date.Type: (["type": "number", "description": "seconds since 2001-01-01T00:00:00Z"], Date(timeIntervalSinceReferenceDate: 0))
        case is UUID.Type: (["type": "string", "format": "uuid"], UUID())
        case is URL.Type: (["type": "string", "format": "uri"], URL(string: "https://example.com/")!)
        case is Data.Type: (["type": "string", "contentEncoding": "base64"], Data())
        default: nil
        }
    }
}

/// Dictionaries, recognised to be refused (their keys are data, not a shape).
protocol DictionaryMarker {}
extension Dictionary: DictionaryMarker {}

/// The decoder handed to `init(from:)`; every container writes into `node`.
struct RecordingDecoder: Decoder {
    let node: SchemaNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        node.shape = .object
        return KeyedDecodingContainer(RecordingKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let element = SchemaNode()
        node.shape = .array(element)
        return RecordingUnkeyedContainer(element: element, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { RecordingSingleValue(node: node, codingPath: codingPath) }
}

struct RecordingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: SchemaNode
    let codingPath: [any CodingKey]
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try record(T.self, key, required: true) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try record(T.self, key, required: false) }

    private func record<T: Decodable>(_ type: T.Type, _ key: Key, required: Bool) throws -> T {
        try node.property(key.stringValue, required: required).decode(T.self, codingPath: codingPath + [key])
    }

    // Every primitive is a requirement of its own; `decodeIfPresent` too, as
    // its default would hide that the key is optional.
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try record(Bool.self, key, required: true) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try record(String.self, key, required: true) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try record(Double.self, key, required: true) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try record(Float.self, key, required: true) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try record(Int.self, key, required: true) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try record(Int8.self, key, required: true) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try record(Int16.self, key, required: true) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try record(Int32.self, key, required: true) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try record(Int64.self, key, required: true) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try record(UInt.self, key, required: true) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try record(UInt8.self, key, required: true) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try record(UInt16.self, key, required: true) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try record(UInt32.self, key, required: true) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try record(UInt64.self, key, required: true) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try record(Bool.self, key, required: false) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try record(String.self, key, required: false) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try record(Double.self, key, required: false) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try record(Float.self, key, required: false) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try record(Int.self, key, required: false) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try record(Int8.self, key, required: false) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try record(Int16.self, key, required: false) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try record(Int32.self, key, required: false) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try record(Int64.self, key, required: false) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try record(UInt.self, key, required: false) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try record(UInt8.self, key, required: false) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try record(UInt16.self, key, required: false) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try record(UInt32.self, key, required: false) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try record(UInt64.self, key, required: false) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try RecordingDecoder(node: node.property(key.stringValue, required: true), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try RecordingDecoder(node: node.property(key.stringValue, required: true), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { RecordingDecoder(node: node, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        RecordingDecoder(node: node.property(key.stringValue, required: true), codingPath: codingPath + [key])
    }
}

/// An array of one placeholder element.
struct RecordingUnkeyedContainer: UnkeyedDecodingContainer {
    let element: SchemaNode
    let codingPath: [any CodingKey]
    var count: Int? { 1 }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex >= 1 }

    init(element: SchemaNode, codingPath: [any CodingKey]) {
        self.element = element
        self.codingPath = codingPath
    }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(T.self) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(Bool.self) }
    mutating func decode(_ type: String.Type) throws -> String { try next(String.self) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(Double.self) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(Float.self) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(Int.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(Int64.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(UInt64.self) }

    private mutating func next<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        return try element.decode(T.self, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        return try RecordingDecoder(node: element, codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        return try RecordingDecoder(node: element, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        currentIndex += 1
        return RecordingDecoder(node: element, codingPath: codingPath)
    }
}

struct RecordingSingleValue: SingleValueDecodingContainer {
    let node: SchemaNode
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try node.decode(T.self, codingPath: codingPath) }
    func decode(_ type: Bool.Type) throws -> Bool { try node.decode(Bool.self, codingPath: codingPath) }
    func decode(_ type: String.Type) throws -> String { try node.decode(String.self, codingPath: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try node.decode(Double.self, codingPath: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try node.decode(Float.self, codingPath: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try node.decode(Int.self, codingPath: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try node.decode(Int8.self, codingPath: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try node.decode(Int16.self, codingPath: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try node.decode(Int32.self, codingPath: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try node.decode(Int64.self, codingPath: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try node.decode(UInt.self, codingPath: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try node.decode(UInt8.self, codingPath: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try node.decode(UInt16.self, codingPath: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try node.decode(UInt32.self, codingPath: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try node.decode(UInt64.self, codingPath: codingPath) }
}
