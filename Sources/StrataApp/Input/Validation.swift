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
    /// Set when the argument's schema is being described (`OpenAPIDocument`):
    /// the rules are noted as JSON Schema constraints by field, not checked.
    var constraints: [String: [SchemaConstraint]]?

    init() {}

    /// A validation that notes its rules instead of checking them.
    static func describing() -> Validation {
        var validation = Validation()
        validation.constraints = [:]
        return validation
    }

    /// Records `message` for `field` unless `condition` holds.
    public mutating func check(_ field: String, _ condition: Bool, _ message: String) {
        if !condition && errors[field] == nil { errors[field] = message }
    }

    /// The text must have a length in `range`, counted in Unicode scalars as
    /// JSON Schema's `minLength` and `maxLength` count; with a lower bound
    /// above zero it must also hold something besides spaces.
    public mutating func length(_ field: String, _ value: String, _ range: ClosedRange<Int>) {
        if constraints != nil {
            constraints![field, default: []] += [.minLength(range.lowerBound), .maxLength(range.upperBound)]
            if range.lowerBound > 0 { constraints![field, default: []].append(.pattern("\\S")) }
            return
        }
        let count = value.unicodeScalars.count
        if range.lowerBound > 0 && value.unicodeScalars.allSatisfy(Self.isSchemaWhitespace) {
            check(field, false, "is required")
        } else {
            check(
                field, range.contains(count),
                count > range.upperBound
                    ? "must be at most \(range.upperBound) characters" : "must be at least \(range.lowerBound) characters")
        }
    }

    /// What a JSON Schema pattern's `\s` matches (ECMA-262 white space and
    /// line terminators), so a "required" text and its schema agree.
    static func isSchemaWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: true
        default: false
        }
    }

    /// The text must match the regular expression `pattern` as a whole.
    public mutating func matches(_ field: String, _ value: String, _ pattern: String, _ message: String) {
        let whole = "^(?:\(pattern))$"
        if constraints != nil {
            constraints![field, default: []].append(.pattern(whole))
            return
        }
        let found = value.range(of: whole, options: .regularExpression) != nil
        check(field, found, message)
    }

    /// A number must lie in `range`.
    public mutating func range<T: Comparable>(_ field: String, _ value: T, _ range: ClosedRange<T>) {
        if constraints != nil {
            if let low = SchemaConstraint.number(range.lowerBound), let high = SchemaConstraint.number(range.upperBound) {
                constraints![field, default: []] += [.minimum(low), .maximum(high)]
            }
            return
        }
        check(field, range.contains(value), "must be between \(range.lowerBound) and \(range.upperBound)")
    }
}

/// A validation rule as JSON Schema states it.
enum SchemaConstraint: Sendable, Equatable {
    case minLength(Int)
    case maxLength(Int)
    case pattern(String)
    case minimum(Double)
    case maximum(Double)

    /// A bound of a numeric range; nil for what JSON Schema cannot compare.
    static func number(_ value: Any) -> Double? {
        switch value {
        case let value as any BinaryInteger: Double(value)
        case let value as Double: value
        case let value as Float: Double(value)
        default: nil
        }
    }

    /// The schema keyword and its value.
    var keyword: (String, Any) {
        func number(_ value: Double) -> Any { value.rounded() == value && abs(value) < 9e15 ? Int64(value) : value }
        switch self {
        case .minLength(let n): return ("minLength", n)
        case .maxLength(let n): return ("maxLength", n)
        case .pattern(let p): return ("pattern", p)
        case .minimum(let n): return ("minimum", number(n))
        case .maximum(let n): return ("maximum", number(n))
        }
    }
}
