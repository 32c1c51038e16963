import Foundation

/// Input the libraries below the app tier cannot take, refused at the door
/// with the field's name: a NUL character ends a C string early (libcrypt
/// refuses the password, libpq the parameter), so it must never reach them.
/// (Invalid UTF-8 cannot get this far: form bodies are checked by the web
/// tier and JSON by its decoder.)
enum InputSafety {
    /// The message for a field holding a NUL.
    static let nulProblem = "must not contain a NUL character"

    /// The dotted path of the first string (or key) in a JSON body that holds
    /// a NUL (`\u0000`), or nil. The body is only parsed when the escape
    /// occurs in it, so ordinary bodies cost one scan.
    static func fieldWithNUL(inJSON body: [UInt8]) -> String? {
        guard containsNULEscape(body),
            let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        else { return nil }
        return find(value, path: [])
    }

    /// A JSON object body with only the top-level `fields`; nil when it is not an object.
    static func keeping(_ fields: Set<String>, of body: [UInt8]) -> [UInt8]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return (try? JSONSerialization.data(withJSONObject: object.filter { fields.contains($0.key) })).map { Array($0) }
    }

    private static func find(_ value: Any, path: [String]) -> String? {
        switch value {
        case let text as String:
            return text.utf8.contains(0) ? (path.isEmpty ? "body" : path.joined(separator: ".")) : nil
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                if key.utf8.contains(0) { return (path + [key]).joined(separator: ".") }
                if let found = find(object[key]!, path: path + [key]) { return found }
            }
            return nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = find(element, path: path + [String(index)]) { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// Whether `\u0000` (any case of hex digits) occurs.
    static func containsNULEscape(_ body: [UInt8]) -> Bool {
        guard body.count >= 6 else { return false }
        for i in 0...(body.count - 6) where body[i] == 92 && body[i + 1] | 0x20 == UInt8(ascii: "u") {
            if body[(i + 2)..<(i + 6)].allSatisfy({ $0 == 48 }) { return true }
        }
        return false
    }
}
