import Foundation

/// A method argument with rules beyond its types. The application tier runs
/// `validate` after decoding and before the handler; every problem found is
/// reported at once, by field (a 422 with field errors on the web tier).
///
/// ```swift
/// struct NewTask: Codable, Sendable, Validatable {
///     var title: String
///     func validate(_ v: inout Validation) {
///         v.length("title", title, 1...200)
///     }
/// }
/// ```
public protocol Validatable {
    /// Records problems in `v`.
    func validate(_ v: inout Validation)
}

/// The problems found in one argument, by field.
public struct Validation: Sendable {
    /// Message by field (the first problem of each field).
    public private(set) var errors: [String: String] = [:]

    init() {}

    /// Records `message` for `field` unless `condition` holds.
    public mutating func check(_ field: String, _ condition: Bool, _ message: String) {
        if !condition && errors[field] == nil { errors[field] = message }
    }

    /// The text, ignoring surrounding spaces, must have a length (in characters) in `range`.
    public mutating func length(_ field: String, _ value: String, _ range: ClosedRange<Int>) {
        let count = value.trimmingCharacters(in: .whitespacesAndNewlines).count
        if count == 0 && range.lowerBound > 0 {
            check(field, false, "is required")
        } else {
            check(
                field, range.contains(count),
                count > range.upperBound
                    ? "must be at most \(range.upperBound) characters" : "must be at least \(range.lowerBound) characters")
        }
    }

    /// The text must match the regular expression `pattern` as a whole.
    public mutating func matches(_ field: String, _ value: String, _ pattern: String, _ message: String) {
        let whole = "^(?:\(pattern))$"
        let found = value.range(of: whole, options: .regularExpression) != nil
        check(field, found, message)
    }

    /// A number must lie in `range`.
    public mutating func range<T: Comparable>(_ field: String, _ value: T, _ range: ClosedRange<T>) {
        check(field, range.contains(value), "must be between \(range.lowerBound) and \(range.upperBound)")
    }
}
