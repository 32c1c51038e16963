/// Decodes `application/x-www-form-urlencoded` text and percent-encoded paths.
public enum FormDecoding {
    /// A malformed percent escape, invalid UTF-8 or a NUL character.
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let description: String
        /// The field whose value is at fault, when its name could be read.
        public var field: String?
        /// What is wrong with that field's value, for a message naming it.
        public var problem: String = "is malformed"
    }

    /// Splits `a=1&b=2` into decoded pairs, in order; `+` means space.
    public static func decode(_ text: String) throws(Error) -> [(String, String)] {
        try decode(Array(text.utf8))
    }

    /// Decodes a form body. A value that is not valid UTF-8 text or holds a
    /// NUL (which C libraries below would cut short or refuse) fails naming its
    /// field; `skippingMalformed` drops such pairs instead.
    public static func decode(_ body: [UInt8], skippingMalformed: Bool = false) throws(Error) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for part in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let nameBytes = equals.map { part[..<$0] } ?? part[...]
            let valueBytes = equals.map { part[part.index(after: $0)...] } ?? []
            let name: String
            do {
                name = try percentDecode(bytes: nameBytes, plusAsSpace: true)
            } catch {
                if skippingMalformed { continue }
                throw error
            }
            do {
                pairs.append((name, try percentDecode(bytes: valueBytes, plusAsSpace: true)))
            } catch {
                if skippingMalformed { continue }
                throw Error(description: "field '\(name)': \(error.problem)", field: name, problem: error.problem)
            }
        }
        return pairs
    }

    /// Decodes `%XX` escapes (and `+` as space when asked); fails on a bad escape, invalid UTF-8 or NUL.
    public static func percentDecode<S: StringProtocol>(_ text: S, plusAsSpace: Bool = false) throws(Error) -> String {
        try percentDecode(bytes: Array(text.utf8)[...], plusAsSpace: plusAsSpace)
    }

    static func percentDecode(bytes text: ArraySlice<UInt8>, plusAsSpace: Bool) throws(Error) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var iterator = text.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw Error(
                        description: "malformed percent escape in '\(String(decoding: text, as: UTF8.self))'",
                        problem: "has a malformed percent escape")
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusAsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        guard !bytes.contains(0) else {
            throw Error(description: "a NUL character in '\(String(decoding: text, as: UTF8.self))'", problem: "must not contain a NUL character")
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw Error(description: "'\(String(decoding: text, as: UTF8.self))' is not valid UTF-8", problem: "is not valid UTF-8 text")
        }
        return string
    }

    /// Encodes `text` for use in a query string or form body.
    public static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xF)])"
            }
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
