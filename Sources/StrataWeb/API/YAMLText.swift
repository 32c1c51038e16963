import Foundation

/// A JSON value, as `JSONSerialization` reads it, written as block-style
/// YAML (for `/api/openapi.yaml`). Every scalar is written as its JSON text,
/// which YAML reads as the same value since JSON is a subset of YAML 1.2:
/// strings stay double-quoted, so none turns into another type the way plain
/// YAML scalars do (`no`, `1.0`, `null`, `200`). Keys are plain only when
/// they cannot be read as anything but the same string.
enum YAMLText {
    /// The YAML text of `value`; nil when a scalar in it is not a JSON value.
    static func text(of value: Any) -> String? {
        var out = ""
        guard write(value, indent: "", to: &out) else { return nil }
        return out
    }

    /// `value`'s lines, each starting with `indent`.
    private static func write(_ value: Any, indent: String, to out: inout String) -> Bool {
        if let object = value as? [String: Any], !object.isEmpty {
            for key in object.keys.sorted() {
                out += indent + self.key(key) + ":"
                guard entry(object[key]!, indent: indent, to: &out) else { return false }
            }
            return true
        }
        if let array = value as? [Any], !array.isEmpty {
            for item in array {
                if isBlock(item) {
                    // The item's block one level in, its first line's indentation turned into the dash.
                    var block = ""
                    guard write(item, indent: indent + "  ", to: &block) else { return false }
                    out += indent + "- " + block.dropFirst(indent.count + 2)
                } else {
                    guard let text = scalar(item) else { return false }
                    out += indent + "- " + text + "\n"
                }
            }
            return true
        }
        guard let text = scalar(value) else { return false }
        out += indent + text + "\n"
        return true
    }

    /// What follows `key:`: a block on the lines below, or a scalar on the same line.
    private static func entry(_ value: Any, indent: String, to out: inout String) -> Bool {
        if isBlock(value) {
            out += "\n"
            return write(value, indent: indent + "  ", to: &out)
        }
        guard let text = scalar(value) else { return false }
        out += " " + text + "\n"
        return true
    }

    /// A non-empty object or array: written as a block (empty ones are `{}` and `[]`).
    private static func isBlock(_ value: Any) -> Bool {
        if let object = value as? [String: Any] { return !object.isEmpty }
        if let array = value as? [Any] { return !array.isEmpty }
        return false
    }

    /// A scalar (or an empty object or array) as JSON writes it.
    private static func scalar(_ value: Any) -> String? {
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])
        else { return nil }
        // `[x]` without its brackets.
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    /// Words YAML 1.1 readers take for booleans or null when plain.
    private static let reserved: Set = ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"]

    private static func key(_ key: String) -> String {
        let plain =
            key.utf8.first.map { isLetter($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "$") } == true
            && key.utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) || "_$.-".utf8.contains($0) }
            && !reserved.contains(key.lowercased())
        return plain ? key : scalar(key) ?? "\"\""
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 97 && (byte | 0x20) <= 122 }
}
