/// Rewrites the application tier's `$1, $2, ...` placeholders for each engine,
/// leaving string literals, quoted identifiers and comments untouched.
enum PlaceholderRewriter {
    /// SQLite numbers parameters as `?1, ?2, ...`.
    static func sqlite(_ sql: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(sql.utf8)
        out.reserveCapacity(bytes.count)
        var i = 0
        var quote: UInt8?
        while i < bytes.count {
            let byte = bytes[i]
            if let q = quote {
                out.append(byte)
                if byte == q { quote = nil }
                i += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                quote = byte
                out.append(byte)
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                while i < bytes.count && bytes[i] != 10 {
                    out.append(bytes[i])
                    i += 1
                }
                continue
            case UInt8(ascii: "$") where i + 1 < bytes.count && (48...57).contains(bytes[i + 1]):
                out.append(UInt8(ascii: "?"))
            default:
                out.append(byte)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
