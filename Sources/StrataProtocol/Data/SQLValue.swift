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
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "an SQL value is null or an object with one of the keys i, d, t, x, b, ts"))
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
