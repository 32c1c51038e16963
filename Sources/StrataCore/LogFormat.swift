import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How log lines are written: one choice per process (`--log-format`).
public enum LogStyle: UInt8, Sendable, CaseIterable {
    /// `ts=… level=info tier=web msg=ready listen=127.0.0.1:8080`: for people and grep.
    case logfmt
    /// `{"ts":"…","level":"info","tier":"web","msg":"ready","listen":"127.0.0.1:8080"}`:
    /// one object per line with the same field names, for log pipelines.
    case json

    /// Parses `logfmt` or `json`.
    public init?(name: String) {
        guard let style = Self.allCases.first(where: { "\($0)" == name.lowercased() }) else { return nil }
        self = style
    }
}

/// The bytes of a log line: `ts=… level=… tier=… msg=…` and then `key=value`
/// fields, each value quoted when it holds spaces, quotes, `=` or control
/// characters; or the same fields as one JSON object (`LogStyle.json`).
/// `Logger` writes its lines with it, and so does the access log, which
/// formats a line per request straight into a buffer of bytes.
public enum LogFormat {
    private static let currentStyle = Atomic<UInt8>(LogStyle.logfmt.rawValue)

    /// The process's style; set it once at start-up, before anything logs.
    public static var style: LogStyle {
        get { LogStyle(rawValue: currentStyle.load(ordering: .relaxed)) ?? .logfmt }
        set { currentStyle.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// The start of a line, up to and including the message.
    public static func appendStart(
        to out: inout [UInt8], level: Logger.Level, label: String, message: String, clock: inout LogClock, style: LogStyle = style
    ) {
        appendTimestamp(to: &out, clock: &clock, style: style)
        appendLevelTierAndMessage(to: &out, level: level, label: label, message: message, style: style)
    }

    /// `ts=…` (or `{"ts":"…"`): how every line begins.
    public static func appendTimestamp(to out: inout [UInt8], clock: inout LogClock, style: LogStyle = style) {
        switch style {
        case .logfmt:
            out.append(contentsOf: "ts=".utf8)
            clock.appendTimestamp(to: &out)
        case .json:
            out.append(contentsOf: #"{"ts":""#.utf8)
            clock.appendTimestamp(to: &out)
            out.append(34)
        }
    }

    /// ` level=… tier=… msg=…`: what follows the timestamp at the start of a line.
    public static func appendLevelTierAndMessage(
        to out: inout [UInt8], level: Logger.Level, label: String, message: String, style: LogStyle = style
    ) {
        appendField(named: "level", level.description, to: &out, style: style)
        appendField(named: "tier", label, to: &out, style: style)
        appendField(named: "msg", message, to: &out, style: style)
    }

    /// The end of a line: a newline (after `}` in JSON).
    public static func appendEnd(to out: inout [UInt8], style: LogStyle = style) {
        if style == .json { out.append(125) }
        out.append(10)
    }

    /// ` key=value`, the value quoted if needed.
    public static func appendField(named key: String, _ value: String, to out: inout [UInt8], style: LogStyle = style) {
        switch style {
        case .logfmt:
            out.append(32)
            appendRaw(key, to: &out)
            out.append(61)
            appendValue(value, to: &out)
        case .json:
            out.append(44)
            appendJSONString(key, to: &out)
            out.append(58)
            appendJSONString(value, to: &out)
        }
    }

    /// ` key=value` for a key known at compile time (no String to read).
    public static func appendField(_ key: StaticString, _ value: String, to out: inout [UInt8], style: LogStyle = style) {
        appendKey(key, to: &out, style: style)
        if style == .json { appendJSONString(value, to: &out) } else { appendValue(value, to: &out) }
    }

    /// ` key=value` for a value `write` appends itself, which needs no quoting
    /// or escaping in either style (hex digits, say).
    public static func appendField(_ key: StaticString, to out: inout [UInt8], style: LogStyle = style, _ write: (inout [UInt8]) -> Void) {
        appendKey(key, to: &out, style: style)
        if style == .json { out.append(34) }
        write(&out)
        if style == .json { out.append(34) }
    }

    /// ` key=value` for a number (a JSON number in JSON).
    public static func appendField(_ key: StaticString, _ value: Int, to out: inout [UInt8], style: LogStyle = style) {
        appendKey(key, to: &out, style: style)
        appendDecimal(value, to: &out)
    }

    private static func appendKey(_ key: StaticString, to out: inout [UInt8], style: LogStyle) {
        let bytes = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        switch style {
        case .logfmt:
            out.append(32)
            out.append(contentsOf: bytes)
            out.append(61)
        case .json:
            out.append(contentsOf: [44, 34])
            out.append(contentsOf: bytes)
            out.append(contentsOf: [34, 58])
        }
    }

    /// `text` as a JSON string: quoted, with quotes, backslashes and control characters escaped.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(34)
        for byte in text.utf8 {
            switch byte {
            case 34: out.append(contentsOf: [92, 34])
            case 92: out.append(contentsOf: [92, 92])
            case 10: out.append(contentsOf: [92, 110])
            case 13: out.append(contentsOf: [92, 114])
            case 9: out.append(contentsOf: [92, 116])
            case 0..<0x20, 0x7F:
                let digits: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, 117, 48, 48, digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(34)
    }

    /// Appends `value` in decimal.
    public static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 {
            out.append(45)
            appendDecimal(0 - value, to: &out)
            return
        }
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(48 + UInt8(value % 10))
    }

    /// The bytes of `text`, unquoted (for text known not to need quotes).
    public static func appendRaw(_ text: String, to out: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
            out.append(contentsOf: Array(text.utf8))
        }
    }

    /// A value as it appears after `key=`.
    public static func appendValue(_ value: String, to out: inout [UInt8]) {
        guard value.utf8.withContiguousStorageIfAvailable({ appendValue($0, to: &out) }) != nil else {
            Array(value.utf8).withUnsafeBufferPointer { appendValue($0, to: &out) }
            return
        }
    }

    static func appendValue(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        guard needsQuotes(bytes) else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(34)
        for byte in bytes {
            switch byte {
            case 34: out.append(contentsOf: [92, 34])  // \"
            case 92: out.append(contentsOf: [92, 92])  // \\
            case 10: out.append(contentsOf: [92, 110])  // \n
            case 13: out.append(contentsOf: [92, 114])  // \r
            case 9: out.append(contentsOf: [92, 116])  // \t
            case 0..<0x20, 0x7F:
                out.append(contentsOf: "\\u{\(String(byte, radix: 16))}".utf8)
            default: out.append(byte)
            }
        }
        out.append(34)
    }

    static func needsQuotes(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if bytes.isEmpty { return true }
        for byte in bytes where byte <= 0x20 || byte == 34 || byte == 61 || byte == 0x7F { return true }
        return false
    }
}

/// Formats log timestamps (`2026-01-01T00:00:00.000Z`), keeping the part up
/// to the second so a busy writer formats the date once a second.
public struct LogClock: Sendable {
    private var second = -1
    private var prefix: [UInt8] = []

    /// A clock with nothing cached yet.
    public init() {}

    /// Appends the current UTC time with milliseconds.
    public mutating func appendTimestamp(to out: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec != second {
            second = now.tv_sec
            var t = now.tv_sec
            var parts = tm()
            gmtime_r(&t, &parts)
            prefix.removeAll(keepingCapacity: true)
            Self.append(Int(parts.tm_year) + 1900, width: 4, to: &prefix)
            prefix.append(45)
            Self.append(Int(parts.tm_mon) + 1, width: 2, to: &prefix)
            prefix.append(45)
            Self.append(Int(parts.tm_mday), width: 2, to: &prefix)
            prefix.append(84)
            Self.append(Int(parts.tm_hour), width: 2, to: &prefix)
            prefix.append(58)
            Self.append(Int(parts.tm_min), width: 2, to: &prefix)
            prefix.append(58)
            Self.append(Int(parts.tm_sec), width: 2, to: &prefix)
            prefix.append(46)
        }
        out.append(contentsOf: prefix)
        Self.append(now.tv_nsec / 1_000_000, width: 3, to: &out)
        out.append(90)
    }

    private static func append(_ value: Int, width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(48 + UInt8((rest / divisor) % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}
