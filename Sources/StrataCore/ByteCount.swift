/// Sizes as operators write them: `1048576`, `64k`, `16m`, `2g`.
public enum ByteCount {
    /// The number of bytes `text` names (a whole number, optionally with
    /// `k`, `m` or `g` for KiB, MiB, GiB), or nil when it names none or
    /// more than 1 TiB.
    public static func parse(_ text: String) -> Int? {
        let lower = text.lowercased()
        let units: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        let unit = lower.last.flatMap { units[$0] } ?? 1
        let digits = unit == 1 ? lower : String(lower.dropLast())
        guard let number = Int(digits), number >= 0, number <= (1 << 40) / unit else { return nil }
        return number * unit
    }
}
