#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A structured logger that writes one `key=value` line per event to standard output.
///
/// Lines look like `ts=2026-01-01T00:00:00Z level=info tier=web msg="ready" listen=127.0.0.1:8080`.
/// Values are quoted when they contain spaces or quotes, so lines stay machine-readable.
public struct Logger: Sendable {
    /// Severity of a log event, lowest first.
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case debug, info, warning, error

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }

        /// Parses `debug`, `info`, `warning` or `error`.
        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }
    }

    /// The tier or component name written as `tier=` on every line.
    public let label: String
    /// Events below this level are dropped.
    public var level: Level

    private static let outputLock = Mutex(())

    /// Creates a logger for `label` that keeps events at `level` and above.
    public init(label: String, level: Level = .info) {
        self.label = label
        self.level = level
    }

    /// Logs `message` with extra fields at `level`. `always` writes it whatever
    /// the configured level, for lifecycle events (`ready`, `stopping`) that
    /// `strata up` and operators' tooling wait for.
    public func log(_ level: Level, _ message: String, _ fields: [(String, String)] = [], always: Bool = false) {
        guard always || level >= self.level else { return }
        write(level, message, fields)
    }

    private func write(_ level: Level, _ message: String, _ fields: [(String, String)]) {
        var line = "ts=\(Self.timestamp()) level=\(level) tier=\(label) msg=\(Self.quote(message))"
        for (key, value) in fields {
            line += " \(key)=\(Self.quote(value))"
        }
        line += "\n"
        Self.outputLock.withLock { _ in Terminal.writeAll(1, line) }
    }

    /// Logs at debug level.
    public func debug(_ message: String, _ fields: (String, String)...) { log(.debug, message, fields) }
    /// Logs at info level.
    public func info(_ message: String, _ fields: (String, String)...) { log(.info, message, fields) }
    /// Logs at warning level.
    public func warning(_ message: String, _ fields: (String, String)...) { log(.warning, message, fields) }
    /// Logs at error level.
    public func error(_ message: String, _ fields: (String, String)...) { log(.error, message, fields) }

    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == 0x7F }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var t = now.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let millis = Int32(now.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}
