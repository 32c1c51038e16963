import StrataCore
import StrataIO

/// Gives every request an id: the client's (or proxy's) `X-Request-ID` when it
/// is short and plain, else a new one (16 hex digits). Echoed in the response.
public struct RequestIDMiddleware: HTTPMiddleware {
    private let generators = LoopLocal { _ in RequestIDGenerator() }

    /// Creates the middleware.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        request.requestID =
            request.headers["X-Request-ID"].flatMap(Self.acceptable)
            ?? generators.value?.next() ?? Digest.hex(Digest.randomBytes(8))
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
    // Loop-confined, like `Connection`: no runtime exclusivity checks.
    @exclusivity(unchecked) private var counter: UInt64 = 0

    init() {
        key = Digest.randomBytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    func next() -> String {
        counter &+= 1
        var z = key &+ counter &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return String(unsafeUninitializedCapacity: 16) { out in
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<16 { out[i] = digits.utf8Start[Int((z >> UInt64(60 - 4 * i)) & 0xF)] }
            return 16
        }
    }
}

/// One structured log line per request: method, path, status, bytes, duration, client, request id.
///
/// On an event loop the lines are formatted straight into that loop's buffer
/// and written together, with one `write`, when the loop's iteration ends: a
/// busy server writes its log a batch at a time instead of taking the output
/// lock and making a system call (and waking whoever reads the log) for
/// every request. Off the loops a line is written at once.
public struct AccessLogMiddleware: HTTPMiddleware {
    private let logger: Logger
    private let buffers = LoopLocal { loop in AccessLogBuffer(loop: loop) }
    /// Everything between the timestamp and the method, the same on every line.
    private let fixedPart: [UInt8]

    /// Logs to `logger` at info level.
    public init(logger: Logger) {
        self.logger = logger
        var fixed: [UInt8] = []
        LogFormat.appendLevelTierAndMessage(to: &fixed, level: .info, label: logger.label, message: "request")
        fixedPart = fixed
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        guard logger.level <= .info else { return }
        let micros = Int((ContinuousClock.now - request.receivedAt).wholeMicroseconds)
        let bytes = response.body.count + Int(response.file?.count ?? 0)
        guard let buffer = buffers.value else {
            var line: [UInt8] = []
            var clock = LogClock()
            append(request, response.status.code, bytes, micros, to: &line, clock: &clock)
            line.withUnsafeBytes { Logger.writeLines($0) }
            return
        }
        append(request, response.status.code, bytes, micros, to: &buffer.bytes, clock: &buffer.clock)
        if buffer.bytes.count >= AccessLogBuffer.flushSize {
            buffer.flushAtIterationEnd()
        } else if !buffer.scheduled {
            buffer.scheduled = true
            buffer.loop.flushAtIterationEnd(buffer)
        }
    }

    /// The line `Logger` would write for this request, formatted in place.
    func append(_ request: HTTPRequest, _ status: Int, _ bytes: Int, _ micros: Int, to out: inout [UInt8], clock: inout LogClock) {
        out.append(contentsOf: "ts=".utf8)
        clock.appendTimestamp(to: &out)
        out.append(contentsOf: fixedPart)
        LogFormat.appendField("method", request.method.rawValue, to: &out)
        LogFormat.appendField("path", request.path, to: &out)
        LogFormat.appendField("status", status, to: &out)
        LogFormat.appendField("bytes", bytes, to: &out)
        LogFormat.appendField("us", micros, to: &out)
        LogFormat.appendField("client", request.remoteAddress, to: &out)
        LogFormat.appendField("request_id", request.requestID, to: &out)
        out.append(10)
    }
}

/// One loop's access log lines not yet written. Loop-confined.
final class AccessLogBuffer: IterationEndFlushable {
    /// Written early past this size, so one busy iteration cannot hold much.
    static let flushSize = 64 * 1024
    // Loop-confined, like `Connection`: no runtime exclusivity checks.
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) var clock = LogClock()
    @exclusivity(unchecked) var scheduled = false
    /// The loop whose buffer this is (it outlives its loop-local values).
    unowned let loop: EventLoop

    init(loop: EventLoop) {
        self.loop = loop
        bytes.reserveCapacity(Self.flushSize + 1024)
    }

    /// Writes the batch, unless another loop is writing its own right now:
    /// then the lines wait for the next iteration rather than the loop for
    /// the lock. A full buffer waits for the lock.
    func flushAtIterationEnd() {
        scheduled = false
        guard !bytes.isEmpty else { return }
        if bytes.count < Self.flushSize {
            guard bytes.withUnsafeBytes({ Logger.writeLinesIfFree($0) }) else {
                scheduled = true
                loop.flushAtIterationEnd(self)
                return
            }
        } else {
            bytes.withUnsafeBytes { Logger.writeLines($0) }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Adds security headers a response did not set itself.
public struct SecurityHeadersMiddleware: HTTPMiddleware {
    /// The headers added by default.
    public static let defaults: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]

    private let headers: [(String, String)]

    /// Adds `headers` (the defaults unless given) to responses that lack them.
    public init(headers: [(String, String)] = SecurityHeadersMiddleware.defaults) { self.headers = headers }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        // Most responses set none of these: one pass over their few headers decides.
        let setsOne = response.headers.contains { field in headers.contains { field.name.caseInsensitiveEquals($0.0) } }
        for (name, value) in headers where !setsOne || !response.headers.contains(name) {
            response.headers.add(name, value)
        }
    }
}

/// Answers `GET /healthz` with `ok` before anything else runs.
public struct HealthMiddleware: HTTPMiddleware {
    /// Creates the middleware.
    public init() {}

    public func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        guard request.path == "/healthz", request.method == .get || request.method == .head else { return nil }
        var response = HTTPResponse.text("ok\n")
        response.headers.add("Cache-Control", "no-store")
        return response
    }
}
