import Foundation

/// Encodes call arguments and results as JSON, the body encoding of protocol version 1.
public enum RPCCodec {
    /// Encodes `value`.
    public static func encode<T: Encodable>(_ value: T) throws(RPCError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw RPCError(.internal, "could not encode \(T.self)")
        }
    }

    /// Decodes a `T`; a mismatch is the caller's fault, so it becomes `invalidArgument`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(RPCError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.isEmpty ? Array("{}".utf8) : bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw RPCError(.invalidArgument, "missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw RPCError(.invalidArgument, "wrong type for field '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.valueNotFound(_, context) {
            throw RPCError(.invalidArgument, "missing value for field '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw RPCError(.invalidArgument, "malformed \(T.self) argument")
        }
    }
}

/// An argument or result with no fields.
public struct Empty: Codable, Sendable, Equatable {
    /// Creates the empty value.
    public init() {}
}
