import Foundation

/// How a call's argument and result are encoded. A REQUEST frame's flag bit 0
/// says which; the answer uses the same one.
public enum RPCBodyEncoding: Sendable {
    /// Strata's binary format (`BinaryEncoder`), the default between tiers.
    case binary
    /// JSON, for people and debugging tools (`strata rpc call`).
    case json
}

/// Encodes call arguments and results in either body encoding, with errors
/// a caller can act on.
public enum RPCCodec {
    /// Encodes `value`.
    public static func encode<T: Encodable>(_ value: T, as encoding: RPCBodyEncoding = .binary) throws(RPCError) -> [UInt8] {
        do {
            switch encoding {
            case .binary: return try BinaryEncoder().encode(value)
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys  // stable output for people and diffs
                return Array(try encoder.encode(value))
            }
        } catch {
            throw RPCError(.internal, "could not encode \(T.self)")
        }
    }

    /// Decodes a `T`; a mismatch is the caller's fault, so it becomes
    /// `invalidArgument`. An empty body reads as an empty map (no fields).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], as encoding: RPCBodyEncoding = .binary) throws(RPCError) -> T {
        do {
            switch encoding {
            case .binary:
                return try BinaryDecoder().decode(T.self, from: bytes.isEmpty ? [BinaryTag.map.rawValue, 0] : bytes)
            case .json:
                return try JSONDecoder().decode(T.self, from: Data(bytes.isEmpty ? Array("{}".utf8) : bytes))
            }
        } catch let DecodingError.keyNotFound(key, _) {
            throw RPCError(.invalidArgument, "missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw RPCError(.invalidArgument, "wrong type for field '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.valueNotFound(_, context) {
            throw RPCError(.invalidArgument, "missing value for field '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.dataCorrupted(context) {
            throw RPCError(.invalidArgument, "malformed \(T.self): \(context.debugDescription)")
        } catch {
            throw RPCError(.invalidArgument, "malformed \(T.self) argument")
        }
    }
}

extension RPCCodec {
    /// A binary-encoded map with one more entry, `key: value`, spliced in
    /// without decoding the rest; nil when `map` is not a map (an array or
    /// scalar result is left alone).
    public static func addingEntry<T: Encodable>(_ key: String, _ value: T, toMap map: [UInt8]) throws(RPCError) -> [UInt8]? {
        var count: UInt64 = 0
        var start = 0
        if !map.isEmpty {
            guard map[0] == BinaryTag.map.rawValue else { return nil }
            var shift: UInt64 = 0
            var index = 1
            while true {
                guard index < map.count, shift < 64 else { return nil }
                let byte = map[index]
                count |= UInt64(byte & 0x7F) << shift
                index += 1
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            start = index
        }
        var out: [UInt8] = [BinaryTag.map.rawValue]
        Varint.append(count + 1, to: &out)
        out.append(contentsOf: map[start...])
        Varint.append(UInt64(key.utf8.count), to: &out)
        out.append(contentsOf: key.utf8)
        out.append(contentsOf: try encode(value))
        return out
    }
}

/// An argument or result with no fields.
public struct Empty: Codable, Sendable, Equatable {
    /// Creates the empty value.
    public init() {}
}
