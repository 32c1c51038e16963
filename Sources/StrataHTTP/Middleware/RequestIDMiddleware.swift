import StrataCore
import StrataIO

/// Gives every request an id: the client's (or proxy's) `X-Request-ID` when it
/// is short and plain, else a new one (16 hex digits), echoed in the response;
/// and its W3C trace: the caller's `traceparent` when valid, else a new trace,
/// with a new span id for this server, passed on to the tiers behind it.
public struct RequestIDMiddleware: HTTPMiddleware {
    private let generators = LoopLocal { _ in RequestIDGenerator() }

    /// Creates the middleware.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        guard let generator = generators.value else {
            request.requestID = request.headers["X-Request-ID"].flatMap(Self.acceptable) ?? Digest.hex(Digest.randomBytes(8))
            request.trace = request.headers["traceparent"].flatMap(TraceContext.init(header:))?.child() ?? .start()
            return nil
        }
        let span = generator.nextValue()
        request.requestID = request.headers["X-Request-ID"].flatMap(Self.acceptable) ?? Digest.hex(span)
        if let incoming = request.headers["traceparent"].flatMap(TraceContext.init(header:)) {
            request.trace = TraceContext(traceHigh: incoming.traceHigh, traceLow: incoming.traceLow, span: span, flagBits: incoming.flagBits)
        } else {
            // Unique, as the loop's key is random and its span ids never repeat.
            request.trace = TraceContext(traceHigh: generator.traceKey, traceLow: span, span: span, flagBits: 0)
        }
        return nil
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        response.headers.set("X-Request-ID", request.requestID)
    }

    /// Accepts an incoming id only if it cannot forge log lines or headers.
    static func acceptable(_ value: String) -> String? {
        guard (1...64).contains(value.utf8.count),
            value.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 45 || $0 == 95 })
        else { return nil }
        return value
    }
}

/// Request ids for one loop: a random key mixed with a counter. Ids must be
/// unique, not secret, so one draw from libcrypto per loop is enough; the
/// mix (SplitMix64's finalizer) is a bijection, so a loop never repeats one.
final class RequestIDGenerator {
    private let key: UInt64
    /// The first half of the trace ids this loop starts: random per loop.
    let traceKey = Digest.randomUInt64() | 1
    // Loop-confined, like `Connection`: no runtime exclusivity checks.
    @exclusivity(unchecked) private var counter: UInt64 = 0

    init() {
        key = Digest.randomUInt64()
    }

    /// The next id: never zero, never repeated on this loop.
    func nextValue() -> UInt64 {
        counter &+= 1
        var z = key &+ counter &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z == 0 ? nextValue() : z
    }

    /// The next id as 16 hex digits.
    func next() -> String { Digest.hex(nextValue()) }
}
