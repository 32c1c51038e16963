/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/):
/// the trace a request belongs to and the span that made this call, carried
/// from the browser's proxy through web, app and data, so every tier's log
/// lines for one request share its `trace_id`.
public struct TraceContext: Sendable, Equatable {
    /// 32 lowercase hex digits, never all zero.
    public let traceID: String
    /// 16 lowercase hex digits: the span of whoever sends this header.
    public let spanID: String
    /// 2 hex digits; bit 0 is "sampled".
    public let flags: String

    /// Parses a `traceparent` value; nil for anything malformed (which the
    /// specification says to treat as absent: a new trace starts).
    public init?(header: String) {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, Self.isHex(parts[0]), parts[0] != "ff",
            parts[1].utf8.count == 32, Self.isHex(parts[1]), parts[1].contains(where: { $0 != "0" }),
            parts[2].utf8.count == 16, Self.isHex(parts[2]), parts[2].contains(where: { $0 != "0" }),
            parts[3].utf8.count == 2, Self.isHex(parts[3]),
            // Version 00 has exactly four parts; later versions may append more.
            parts[0] != "00" || parts.count == 4
        else { return nil }
        traceID = String(parts[1])
        spanID = String(parts[2])
        flags = String(parts[3])
    }

    /// A context from ids made elsewhere (16 and 8 bytes in lowercase hex; not checked).
    public init(traceID: String, spanID: String, flags: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// No trace yet (all zero, which no valid header carries).
    public static let unset = TraceContext(traceID: String(repeating: "0", count: 32), spanID: String(repeating: "0", count: 16), flags: "00")

    /// A new trace, not sampled (nothing here records spans; the ids are for correlating logs).
    public static func start() -> TraceContext {
        TraceContext(traceID: Digest.hex(Digest.randomBytes(16)), spanID: Digest.hex(Digest.randomBytes(8)), flags: "00")
    }

    /// The context for a call this span makes: same trace, a new span id.
    public func child() -> TraceContext {
        TraceContext(traceID: traceID, spanID: Digest.hex(Digest.randomBytes(8)), flags: flags)
    }

    /// The `traceparent` header value (version 00).
    public var header: String { "00-\(traceID)-\(spanID)-\(flags)" }

    private static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
