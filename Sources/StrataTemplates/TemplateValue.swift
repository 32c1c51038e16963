import Foundation
import StrataCore

/// A value a template can show: what JSON can express, plus Swift closures.
///
/// Falsey values (a section is skipped, an inverted section shown): missing
/// names, `null`, `false`, an empty list and an empty string. Everything
/// else, including `0`, is truthy.
public enum TemplateValue: Sendable, Equatable {
    /// A closure the template calls (see `TemplateLambda`).
    case lambda(TemplateLambda)
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    case object([String: TemplateValue])

    public static func == (a: TemplateValue, b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x == y
        default: false  // closures have no equality
        }
    }

    /// Whether a section over this value renders.
    public var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .array(let items): !items.isEmpty
        case .string(let text): !text.isEmpty
        default: true
        }
    }

    /// The text `{{name}}` shows for this value (before escaping).
    public var text: String {
        switch self {
        case .null: ""
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .double(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let text): text
        case .array, .object, .lambda: ""
        }
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> TemplateValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }
}

/// A Swift closure in template data (the specification's lambdas).
///
/// - `{{name}}` calls it with an empty string and renders what it returns as
///   a template (default delimiters), escaped unless `{{{name}}}`.
/// - `{{#name}}text{{/name}}` calls it with the section's raw, unrendered text
///   and renders what it returns with the delimiters in force there.
public struct TemplateLambda: Sendable {
    let body: @Sendable (String) -> String

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable (String) -> String) { self.body = body }
}

extension TemplateValue: Decodable {
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: TemplateValue] = [:]
            for key in container.allKeys {
                members[key.stringValue] = try container.decode(TemplateValue.self, forKey: key)
            }
            self = .object(members)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var items: [TemplateValue] = []
            while !container.isAtEnd { items.append(try container.decode(TemplateValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? single.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }
}

extension TemplateValue: TaggedValueDecodable {
    /// Template data straight from the binary RPC encoding (what the web tier
    /// receives from the app tier): blobs become hex text, timestamps their microseconds.
    public init(reading reader: inout some TaggedValueReader) throws {
        switch try reader.read() {
        case .scalar(.null): self = .null
        case .scalar(.bool(let value)): self = .bool(value)
        case .scalar(.int(let value)), .scalar(.timestamp(let value)): self = .int(value)
        case .scalar(.double(let value)): self = .double(value)
        case .scalar(.string(let value)): self = .string(value)
        case .scalar(.bytes(let value)): self = .string(Digest.hex(value))
        case .array(let count):
            var items: [TemplateValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try TemplateValue(reading: &reader)) }
            self = .array(items)
        case .map(let count):
            var members: [String: TemplateValue] = [:]
            members.reserveCapacity(count)
            for _ in 0..<count {
                let key = try reader.readKey()
                let value = try TemplateValue(reading: &reader)
                // The first of duplicate keys wins, as the encoding's readers agree.
                if members[key] == nil { members[key] = value }
            }
            self = .object(members)
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension TemplateValue {
    /// The template form of any `Encodable` value: structs and dictionaries
    /// become objects, arrays lists, optionals `null` when nil, and dates
    /// ISO 8601 text (`2026-01-31T12:00:00Z`).
    public init<T: Encodable>(encoding value: T) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        self = try JSONDecoder().decode(TemplateValue.self, from: encoder.encode(value))
    }
}
