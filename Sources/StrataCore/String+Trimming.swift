extension StringProtocol {
    /// The text without leading and trailing characters from `set`.
    ///
    /// Works on Unicode scalars, so `"\r\n"` counts as two trimmable
    /// characters (as `Character`, it would be one grapheme matching neither).
    public func trimmed(_ set: String = " \t\r\n") -> String {
        // Only ASCII to trim: compare UTF-8 bytes, no set, no scalar decoding
        // (header parsing trims every value).
        if set == " \t\r\n" {
            return trimmedASCII { $0 == 32 || $0 == 9 || $0 == 13 || $0 == 10 }
        }
        if set.utf8.allSatisfy({ $0 < 0x80 }) {
            let trim = Array(set.utf8)
            return trimmedASCII { trim.contains($0) }
        }
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars[...]
        while let first = view.first, scalars.contains(first) { view = view.dropFirst() }
        while let last = view.last, scalars.contains(last) { view = view.dropLast() }
        return String(String.UnicodeScalarView(view))
    }

    private func trimmedASCII(_ isTrimmed: (UInt8) -> Bool) -> String {
        let text = Substring(self)
        let bytes = text.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isTrimmed(bytes[start]) { bytes.formIndex(after: &start) }
        while end > start, isTrimmed(bytes[bytes.index(before: end)]) { bytes.formIndex(before: &end) }
        return String(text[start..<end])
    }
}
