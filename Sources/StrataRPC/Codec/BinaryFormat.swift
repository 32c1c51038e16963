import StrataCore

/// The tags and integer encodings of Strata's binary body format.
///
/// Every value is one tag byte followed by its payload; the full grammar is
/// in ARCHITECTURE.md ("Binary body encoding"), written so another language
/// can implement it.
enum BinaryTag: UInt8 {
    case null = 0x00
    case `false` = 0x01
    case `true` = 0x02
    /// Signed integer: zigzag varint.
    case int = 0x03
    /// Unsigned integer: varint.
    case uint = 0x04
    /// IEEE 754 binary64, 8 bytes little-endian.
    case float = 0x05
    /// varint byte count, then UTF-8.
    case string = 0x06
    /// varint byte count, then the bytes.
    case bytes = 0x07
    /// varint element count, then the elements.
    case array = 0x08
    /// varint entry count, then per entry: varint key length, UTF-8 key, value.
    case map = 0x09
    /// Microseconds since 1970-01-01T00:00:00Z as a zigzag varint.
    case timestamp = 0x0A
}

/// Limits a decoder enforces so hostile input cannot exhaust the stack or memory.
enum BinaryLimits {
    /// Deepest nesting of arrays and maps.
    static let maxDepth = 64
}

extension [UInt8] {
    /// Appends a length-prefixed UTF-8 text: a string's payload, or a map key.
    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            Varint.append(UInt64(utf8.count), to: &self)
            append(contentsOf: utf8)
        }
    }

    /// Appends a scalar with its tag.
    mutating func appendTagged(_ scalar: TaggedScalar) {
        switch scalar {
        case .null: append(BinaryTag.null.rawValue)
        case .bool(let value): append(value ? BinaryTag.true.rawValue : BinaryTag.false.rawValue)
        case .int(let value):
            append(BinaryTag.int.rawValue)
            Varint.append(Varint.zigzag(value), to: &self)
        case .double(let value):
            append(BinaryTag.float.rawValue)
            Swift.withUnsafeBytes(of: value.bitPattern.littleEndian) { append(contentsOf: $0) }
        case .string(let value):
            append(BinaryTag.string.rawValue)
            appendText(value)
        case .bytes(let value):
            append(BinaryTag.bytes.rawValue)
            Varint.append(UInt64(value.count), to: &self)
            append(contentsOf: value)
        case .timestamp(let micros):
            append(BinaryTag.timestamp.rawValue)
            Varint.append(Varint.zigzag(micros), to: &self)
        }
    }
}

enum Varint {
    /// Appends `value` as unsigned LEB128: 7 bits per byte, low bits first,
    /// high bit set on every byte but the last.
    @inline(__always)
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    /// Zigzag mapping: small magnitudes of either sign become small unsigned numbers.
    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}
