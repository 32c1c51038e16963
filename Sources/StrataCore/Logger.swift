import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A structured logger that writes one `key=value` line per event to standard output.
///
/// Lines look like `ts=2026-01-01T00:00:00Z level=info tier=web msg="ready" listen=127.0.0.1:8080`.
/// Values are quoted when they contain spaces or quotes, so lines stay machine-readable.
/// With `LogFormat.style = .json` each line is one JSON object with the same fields.
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
    /// Fields written on every line after the event's own (`with`).
    public private(set) var boundFields: [(String, String)] = []

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
        var line: [UInt8] = []
        line.reserveCapacity(128)
        var clock = LogClock()
        LogFormat.appendStart(to: &line, level: level, label: label, message: message, clock: &clock)
        for (key, value) in fields { LogFormat.appendField(named: key, value, to: &line) }
        for (key, value) in boundFields { LogFormat.appendField(named: key, value, to: &line) }
        LogFormat.appendEnd(to: &line)
        line.withUnsafeBytes { Self.writeLines($0) }
    }

    /// Writes whole, already formatted lines (see `LogFormat`) to the log's
    /// output, never interleaved with another writer's line.
    public static func writeLines(_ bytes: UnsafeRawBufferPointer) {
        outputLock.withLock { _ in RawOutput.writeAll(1, bytes) }
    }

    /// Writes the lines unless another writer holds the output at the
    /// moment; false when it did not, and the caller may try again later
    /// instead of waiting (an event loop's batch of access-log lines).
    public static func writeLinesIfFree(_ bytes: UnsafeRawBufferPointer) -> Bool {
        outputLock.withLockIfAvailable { _ in RawOutput.writeAll(1, bytes) } != nil
    }

    /// Logs at debug level.
    public func debug(_ message: String, _ fields: (String, String)...) { log(.debug, message, fields) }
    /// This logger with `fields` added to every line it writes: a request's
    /// `request_id` and `trace_id`, bound once where the request arrives.
    public func with(_ fields: (String, String)...) -> Logger {
        var copy = self
        copy.boundFields += fields
        return copy
    }

    /// Logs at info level.
    public func info(_ message: String, _ fields: (String, String)...) { log(.info, message, fields) }
    /// Logs at warning level.
    public func warning(_ message: String, _ fields: (String, String)...) { log(.warning, message, fields) }
    /// Logs at error level.
    public func error(_ message: String, _ fields: (String, String)...) { log(.error, message, fields) }

    static func quote(_ value: String) -> String {
        var out: [UInt8] = []
        LogFormat.appendValue(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
