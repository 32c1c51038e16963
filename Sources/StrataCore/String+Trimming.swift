extension StringProtocol {
    /// The text without leading and trailing characters from `set`.
    ///
    /// Works on Unicode scalars, so `"\r\n"` counts as two trimmable
    /// characters (as `Character`, it would be one grapheme matching neither).
    public func trimmed(_ set: String = " \t\r\n") -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars[...]
        while let first = view.first, scalars.contains(first) { view = view.dropFirst() }
        while let last = view.last, scalars.contains(last) { view = view.dropLast() }
        return String(String.UnicodeScalarView(view))
    }
}
