extension String {
    // Inlined: called out of line, the caller retains the string it reads
    // out of a header array around every call.
    @inline(__always)
    func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        // Native strings are contiguous UTF-8: compare the bytes in place
        // (header lookups do this for every field of every request).
        if let equal = a.withContiguousStorageIfAvailable({ x in b.withContiguousStorageIfAvailable({ y in Self.asciiCaseInsensitiveEqual(x, y) }) }),
            let equal
        {
            return equal
        }
        for (x, y) in zip(a, b) where x != y {
            guard Self.sameLetter(x, y) else { return false }
        }
        return true
    }

    private static func asciiCaseInsensitiveEqual(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<x.count where x[i] != y[i] {
            guard sameLetter(x[i], y[i]) else { return false }
        }
        return true
    }

    /// Whether two differing bytes are the same ASCII letter in two cases (which differ by 0x20).
    private static func sameLetter(_ x: UInt8, _ y: UInt8) -> Bool {
        x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A
    }
}
