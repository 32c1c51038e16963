/// The cases of a `CaseIterable` enum whose raw values are `String`: named
/// in the message for a field given another value, and listed as the
/// field's `enum` in the OpenAPI document.
enum StringEnumCases {
    /// The raw values of `type`'s cases and its first case; nil when it is
    /// not such an enum.
    static func of(_ type: Any.Type) -> (names: [String], first: Any)? {
        guard let iterable = type as? any CaseIterable.Type else { return nil }
        func all<C: CaseIterable>(_ type: C.Type) -> [Any] { Array(type.allCases) }
        let cases = all(iterable)
        let names = cases.compactMap { ($0 as? any RawRepresentable)?.rawValue as? String }
        guard let first = cases.first, names.count == cases.count else { return nil }
        return (names, first)
    }
}
