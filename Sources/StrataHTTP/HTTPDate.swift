#if canImport(Glibc)
    import Glibc
#endif

/// The `Date` header line, formatted once per second rather than per response.
/// Each event loop has its own, so loops never contend for a shared cache.
final class DateLineCache {
    // Loop-confined: no runtime exclusivity checks.
    @exclusivity(unchecked) private var second = -1
    @exclusivity(unchecked) private var line: [UInt8] = []

    /// `\r\nDate: <IMF-fixdate>\r\n` for the current second, as bytes ready to
    /// append after the `Server` value.
    func current() -> [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            line = Array("\r\nDate: \(HTTPDate.format(epochSeconds: now))\r\n".utf8)
        }
        return line
    }
}

enum HTTPDate {
    static func format(epochSeconds: Int) -> String {
        var t = epochSeconds
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

extension HTTPDate {
    /// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`);
    /// nil for anything else, so a malformed conditional header is ignored.
    static func parse(_ text: String) -> Int? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int(parts[1]), let year = Int(parts[3]),
            let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].firstIndex(of: String(parts[2]))
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = Int32(second)
        return timegm(&fields)
    }
}
