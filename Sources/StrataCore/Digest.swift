import CStrataShims

/// Cryptographic helpers backed by OpenSSL's libcrypto.
public enum Digest {
    /// SHA-256 of `bytes`.
    public static func sha256<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: 32)
        let ok = input.withUnsafeBytes { data in
            out.withUnsafeMutableBufferPointer { strata_sha256(data.baseAddress, data.count, $0.baseAddress) }
        }
        precondition(ok == 1, "libcrypto SHA-256 failed")
        return out
    }

    /// HMAC-SHA-256 of `message` with `key`.
    public static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBufferPointer { strata_hmac_sha256(k.baseAddress, k.count, m.baseAddress, m.count, $0.baseAddress) }
            }
        }
        precondition(ok == 1, "libcrypto HMAC-SHA-256 failed")
        return out
    }

    /// Compares two byte strings in time independent of where they differ.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// Lower-case hexadecimal of `bytes`.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in `digits` lower-case hexadecimal digits (the low ones), appended
    /// to `out` without making a String: ids on a per-request path.
    public static func appendHex(_ value: UInt64, digits: Int = 16, to out: inout [UInt8]) {
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            out.append(nibble < 10 ? 48 + nibble : 87 + nibble)
        }
    }

    /// `value` as 16 lower-case hexadecimal digits.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { out in
            for i in 0..<16 {
                let nibble = UInt8((value >> UInt64(60 - 4 * i)) & 0xF)
                out[i] = nibble < 10 ? 48 + nibble : 87 + nibble
            }
            return 16
        }
    }

    /// The bytes an even-length hexadecimal text spells (either case); nil
    /// for anything else.
    public static func bytes<C: Collection>(fromHex text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8?
        for character in text {
            let value: UInt8
            switch character {
            case 48...57: value = character - 48
            case 97...102: value = character - 87
            case 65...70: value = character - 55
            default: return nil
            }
            if let first = high {
                out.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return out
    }

    /// A cryptographically secure random 64-bit value.
    public static func randomUInt64() -> UInt64 {
        randomBytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// `count` cryptographically secure random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { strata_random_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "libcrypto could not produce random bytes")
        return out
    }
}
