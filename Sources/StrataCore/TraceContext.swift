/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/):
/// the trace a request belongs to and the span that made this call, carried
/// from the browser's proxy through web, app and data, so every tier's log
/// lines for one request share its `trace_id`.
///
/// Kept as integers: the web tier makes one for every request, and text is
/// needed only when a line is logged or a call sent.
public struct TraceContext: Sendable, Equatable {
    /// The trace id's 16 bytes, high half and low half; never both zero.
    public let traceHigh: UInt64
    public let traceLow: UInt64
    /// The span of whoever sends this header; never zero.
    public let span: UInt64
    /// The trace flags; bit 0 is "sampled".
    public let flagBits: UInt8

    /// A context from ids made elsewhere.
    public init(traceHigh: UInt64, traceLow: UInt64, span: UInt64, flagBits: UInt8) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.span = span
        self.flagBits = flagBits
    }

    /// Parses a `traceparent` value; nil for anything malformed (which the
    /// specification says to treat as absent: a new trace starts).
    public init?(header: String) {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, let version = Self.hex(parts[0]), version != 0xff,
            // Version 00 has exactly four parts; later versions may append more.
            version != 0 || parts.count == 4,
            parts[1].utf8.count == 32, let high = Self.hex(parts[1].prefix(16)), let low = Self.hex(parts[1].suffix(16)), high | low != 0,
            parts[2].utf8.count == 16, let span = Self.hex(parts[2]), span != 0,
            parts[3].utf8.count == 2, let flags = Self.hex(parts[3])
        else { return nil }
        self.init(traceHigh: high, traceLow: low, span: span, flagBits: UInt8(flags))
    }

    /// No trace yet (all zero, which no valid header carries).
    public static let unset = TraceContext(traceHigh: 0, traceLow: 0, span: 0, flagBits: 0)

    /// A new trace, not sampled (nothing here records spans; the ids are for correlating logs).
    public static func start() -> TraceContext {
        TraceContext(traceHigh: Self.random(), traceLow: Self.random(), span: Self.random(), flagBits: 0)
    }

    /// The context for a call this span makes: same trace, a new span id.
    public func child() -> TraceContext {
        TraceContext(traceHigh: traceHigh, traceLow: traceLow, span: Self.random(), flagBits: flagBits)
    }

    /// 32 lowercase hex digits.
    public var traceID: String { Digest.hex(traceHigh) + Digest.hex(traceLow) }
    /// 16 lowercase hex digits.
    public var spanID: String { Digest.hex(span) }
    /// 2 lowercase hex digits.
    public var flags: String { String(Digest.hex(UInt64(flagBits)).suffix(2)) }

    /// The `traceparent` header value (version 00).
    public var header: String { "00-\(traceID)-\(spanID)-\(flags)" }

    /// Appends the trace id's 32 hex digits to `out` (a log line being built), making no String.
    public func appendTraceID(to out: inout [UInt8]) {
        Digest.appendHex(traceHigh, to: &out)
        Digest.appendHex(traceLow, to: &out)
    }

    private static func random() -> UInt64 {
        var value: UInt64 = 0
        while value == 0 { value = Digest.randomUInt64() }
        return value
    }

    /// Lowercase hex only, as the specification requires.
    private static func hex<S: StringProtocol>(_ text: S) -> UInt64? {
        var value: UInt64 = 0
        for byte in text.utf8 {
            switch byte {
            case 48...57: value = value << 4 | UInt64(byte - 48)
            case 97...102: value = value << 4 | UInt64(byte - 87)
            default: return nil
            }
        }
        return value
    }
}
