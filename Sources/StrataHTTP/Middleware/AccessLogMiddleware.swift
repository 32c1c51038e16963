import StrataCore
import StrataIO

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
    /// The process's log style when this was made (it is set before anything logs).
    private let style = LogFormat.style

    /// Requests at least this slow also get a warning line (nil: none).
    private let slowRequest: Duration?

    /// Logs to `logger` at info level, and requests slower than `slowRequest` at warning.
    public init(logger: Logger, slowRequest: Duration? = nil) {
        self.logger = logger
        self.slowRequest = slowRequest
        var fixed: [UInt8] = []
        LogFormat.appendLevelTierAndMessage(to: &fixed, level: .info, label: logger.label, message: "request", style: style)
        fixedPart = fixed
    }

    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        let elapsed = ContinuousClock.now - request.receivedAt
        if let slowRequest, elapsed >= slowRequest {
            logger.warning(
                "slow request", ("method", request.method.rawValue), ("path", request.path), ("status", String(response.status.code)),
                ("ms", String(elapsed.wholeMilliseconds)), ("request_id", request.requestID), ("trace_id", request.trace.traceID))
        }
        guard logger.level <= .info else { return }
        let micros = Int(elapsed.wholeMicroseconds)
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
        LogFormat.appendTimestamp(to: &out, clock: &clock, style: style)
        out.append(contentsOf: fixedPart)
        LogFormat.appendField("method", request.method.rawValue, to: &out, style: style)
        LogFormat.appendField("path", request.path, to: &out, style: style)
        LogFormat.appendField("status", status, to: &out, style: style)
        LogFormat.appendField("bytes", bytes, to: &out, style: style)
        LogFormat.appendField("us", micros, to: &out, style: style)
        LogFormat.appendField("client", request.remoteAddress, to: &out, style: style)
        LogFormat.appendField("request_id", request.requestID, to: &out, style: style)
        LogFormat.appendField("trace_id", to: &out, style: style) { request.trace.appendTraceID(to: &$0) }
        LogFormat.appendEnd(to: &out, style: style)
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
