import StrataCore

/// A FastCGI responder request (FastCGI 1.0): BEGIN_REQUEST asking to keep
/// the connection, the CGI variables as PARAMS, the body as STDIN; back
/// come STDOUT (a CGI answer: header block, then body), STDERR (for the
/// log) and END_REQUEST. One request per connection at a time, always id
/// 1: connections are not multiplexed.
struct FastCGIExchangeCodec: ExchangeCodec {
    static let requestID: UInt16 = 1
    let params: [(String, String)]
    let body: [UInt8]
    /// Whether the body streams from the client after `request(to:)`.
    let streamsBody: Bool
    /// Whether to ask the responder to keep the connection (FCGI_KEEP_CONN).
    let keepConnection: Bool
    /// STDOUT before the CGI header block has ended.
    private var pending: [UInt8] = []
    private var errors: [UInt8] = []
    private var ended = false
    private(set) var head: ExchangeHead?
    /// STDERR kept for the log, at most.
    static let maxErrors = 64 * 1024

    init(params: [(String, String)], body: [UInt8], streamsBody: Bool = false, keepConnection: Bool = true) {
        self.params = params
        self.body = body
        self.streamsBody = streamsBody
        self.keepConnection = keepConnection
    }

    func request(to upstream: Upstream) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 1024)
        FastCGIRecord(kind: .beginRequest, requestID: Self.requestID, content: FastCGIRecord.beginRequest(keepConnection: keepConnection)).write(
            to: &out)
        FastCGIRecord.writeStream(.params, requestID: Self.requestID, FastCGIRecord.encodePairs(params), to: &out)
        if !streamsBody { FastCGIRecord.writeStream(.stdin, requestID: Self.requestID, body, to: &out) }
        return out
    }

    func requestBody(_ piece: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count + 16 * (piece.count / FastCGIRecord.maxContent + 1))
        FastCGIRecord.writeStream(.stdin, requestID: Self.requestID, piece, to: &out, ending: false)
        return out
    }

    var requestBodyEnd: [UInt8] {
        var out: [UInt8] = []
        FastCGIRecord(kind: .stdin, requestID: Self.requestID, content: []).write(to: &out)
        return out
    }

    mutating func read(_ buffer: inout ByteBuffer, body: inout [UInt8]) throws -> Bool {
        while !ended, let record = try FastCGIRecord.read(from: &buffer) {
            guard record.requestID == Self.requestID else {
                throw UpstreamError(.malformed, "FastCGI record for request \(record.requestID), which was never sent")
            }
            switch record.kind {
            case .stdout:
                if head != nil {
                    body.append(contentsOf: record.content)
                } else {
                    pending.append(contentsOf: record.content)
                    try parseHead(body: &body)
                }
            case .stderr:
                if errors.count < Self.maxErrors { errors.append(contentsOf: record.content.prefix(Self.maxErrors - errors.count)) }
            case .endRequest:
                guard record.content.count >= 8 else { throw UpstreamError(.malformed, "FastCGI END_REQUEST too short") }
                // protocolStatus: 0 complete, 1 cannot multiplex, 2 overloaded, 3 unknown role.
                switch record.content[4] {
                case 0: break
                case 2: throw UpstreamError(.unavailable, "the FastCGI server is overloaded")
                default: throw UpstreamError(.malformed, "the FastCGI server refused the request (protocol status \(record.content[4]))")
                }
                guard head != nil else {
                    throw UpstreamError(.malformed, "the FastCGI answer ended before its header block")
                }
                ended = true
            default:
                throw UpstreamError(.malformed, "unexpected FastCGI record type \(record.kind.rawValue)")
            }
        }
        if ended && buffer.readableBytes > 0 { throw UpstreamError(.malformed, "bytes after FastCGI END_REQUEST") }
        return ended
    }

    private mutating func parseHead(body: inout [UInt8]) throws {
        guard let (parsed, bodyStart) = try CGIResponseParser.parse(pending) else { return }
        head = ExchangeHead(status: parsed.status, headers: parsed.headers, localRedirect: parsed.localRedirect)
        body.append(contentsOf: pending[bodyStart...])
        pending = []
    }

    mutating func inputEnded() throws {
        // Without FCGI_KEEP_CONN the responder closes after END_REQUEST.
        guard ended else { throw UpstreamError(.closed, "the FastCGI server closed the connection before END_REQUEST") }
    }

    var reusable: Bool { ended && keepConnection }

    var abortBytes: [UInt8]? {
        var out: [UInt8] = []
        FastCGIRecord(kind: .abortRequest, requestID: Self.requestID, content: []).write(to: &out)
        return out
    }

    mutating func takeErrors() -> [UInt8] {
        defer { errors = [] }
        return errors
    }
}
