import Foundation
import StrataRPC

/// Decodes a method's typed argument from text fields (a form, a query
/// string, path parameters), converting each to its property's type and
/// collecting a message per field that is missing or of the wrong type, so
/// the user sees every problem at once.
///
/// Optional properties may be absent or empty. Properties of other than the
/// plain types (strings, integers, floating point, booleans, and optionals
/// of them) are a programming error reported as `internal`.
struct FieldDecoder {
    /// `fields` decoded as a `T`; `invalidArgument` with the details by field when any is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from fields: [String: String]) throws(RPCError) -> T {
        let state = FieldDecodingState(fields: fields)
        let value: T
        do {
            value = try T(from: FieldValues(state: state))
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.internal, "the method's argument \(T.self) cannot be read from form fields: \(error)")
        }
        guard state.errors.isEmpty else { throw FieldErrors(state.errors).rpcError }
        return value
    }

    /// Whether a property of `type` can come from a field's text: the plain
    /// types `FieldContainer` converts, and string raw-value enums. Anything
    /// else there (a wrapper struct too, whatever it holds) is a programming
    /// error at the first call.
    static func reads(_ type: Any.Type) -> Bool {
        if [String.self, Bool.self, Int.self, Int64.self, Int32.self, UInt.self, Double.self, Float.self].contains(where: { $0 == type }) {
            return true
        }
        guard let raw = type as? any (RawRepresentable & Decodable).Type else { return false }
        func rawValueType<R: RawRepresentable>(_: R.Type) -> Any.Type { R.RawValue.self }
        return rawValueType(raw) == String.self
    }
}

/// Problems with a request's fields, by field name; becomes `invalidArgument`
/// with the messages as details (a 422 with field errors on the web tier).
public struct FieldErrors: Error, Sendable, Equatable {
    /// Message by field.
    public var messages: [String: String]

    /// Wraps messages by field.
    public init(_ messages: [String: String]) { self.messages = messages }

    /// The RPC error the caller sees: the first problem (by field name) as the message, all as details.
    public var rpcError: RPCError {
        let first = messages.sorted { $0.key < $1.key }.first.map { "\($0.key): \($0.value)" } ?? "invalid input"
        return RPCError(.invalidArgument, first, details: messages)
    }
}

final class FieldDecodingState {
    let fields: [String: String]
    var errors: [String: String] = [:]
    init(fields: [String: String]) { self.fields = fields }
}

private struct FieldValues: Decoder {
    let state: FieldDecodingState
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FieldContainer<Key>(state: state))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "form fields hold no lists"))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "form fields are named"))
    }
}

private struct FieldContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: FieldDecodingState
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { state.fields.keys.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { state.fields[key.stringValue] != nil }

    /// Empty counts as absent: a browser sends every field of a form, filled or not.
    func decodeNil(forKey key: Key) throws -> Bool { (state.fields[key.stringValue] ?? "").isEmpty }

    /// The field's text, or a "missing" note and nil.
    private func text(_ key: Key) -> String? {
        guard let value = state.fields[key.stringValue] else {
            state.errors[key.stringValue] = "is required"
            return nil
        }
        return acceptable(key, value)
    }

    /// `value`, unless it holds a NUL, which SQLite, libpq and libcrypt would
    /// cut short or refuse: then a note for the field and nil.
    private func acceptable(_ key: Key, _ value: String) -> String? {
        guard !value.utf8.contains(0) else {
            state.errors[key.stringValue] = InputSafety.nulProblem
            return nil
        }
        return value
    }

    private func convert<T>(_ key: Key, _ problem: String, _ placeholder: T, _ parse: (String) -> T?) -> T {
        guard let raw = text(key) else { return placeholder }
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty {
            state.errors[key.stringValue] = "is required"
            return placeholder
        }
        guard let value = parse(trimmed) else {
            state.errors[key.stringValue] = problem
            return placeholder
        }
        return value
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String { text(key) ?? "" }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        // An unticked checkbox sends nothing: absent means false.
        guard let raw = state.fields[key.stringValue] else { return false }
        switch raw.lowercased() {
        case "", "0", "false", "off", "no": return false
        case "1", "true", "on", "yes": return true
        default:
            state.errors[key.stringValue] = "must be true or false"
            return false
        }
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { convert(key, "must be a whole number", 0) { Int($0) } }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { convert(key, "must be a whole number", 0) { Int64($0) } }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { convert(key, "must be a whole number", 0) { Int32($0) } }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { convert(key, "must be a whole number, 0 or more", 0) { UInt($0) } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        convert(key, "must be a number", 0) { Double($0).flatMap { $0.isFinite ? $0 : nil } }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decode(Double.self, forKey: key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        // Raw-value enums (a <select>) arrive as their raw text.
        if let enumType = T.self as? any (RawRepresentable & Decodable).Type {
            if let value = Self.rawEnum(enumType, state.fields[key.stringValue]) as? T { return value }
            // A value the enum does not have is the caller's mistake, named with the values it has.
            let allowed = StringEnumCases.of(T.self)?.names ?? []
            let message = allowed.isEmpty ? "is not an allowed value" : "must be one of \(allowed.joined(separator: ", "))"
            throw FieldErrors([key.stringValue: message]).rpcError
        }
        throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "\(T.self) cannot come from a form field"))
    }

    private static func rawEnum<E: RawRepresentable & Decodable>(_ type: E.Type, _ text: String?) -> E? {
        guard let text, let raw = text as? E.RawValue else { return nil }
        return E(rawValue: raw)
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = state.fields[key.stringValue], !value.isEmpty else { return nil }
        return acceptable(key, value)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try decodeNil(forKey: key) ? nil : try decode(Int.self, forKey: key)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try decodeNil(forKey: key) ? nil : try decode(Int64.self, forKey: key)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try decodeNil(forKey: key) ? nil : try decode(Double.self, forKey: key)
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        state.fields[key.stringValue] == nil ? nil : try decode(Bool.self, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: [key], debugDescription: "form fields are flat"))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "form fields hold no lists"))
    }
    func superDecoder() throws -> any Decoder { FieldValues(state: state) }
    func superDecoder(forKey key: Key) throws -> any Decoder { FieldValues(state: state) }
}
