import StrataCore

/// Size limits the parser enforces before it buffers anything more.
public struct HTTPLimits: Sendable {
    /// Longest request line; longer gets 414.
    public var maxRequestLineLength = 8 * 1024
    /// Largest request head (request line plus headers); larger gets 431.
    public var maxHeadSize = 32 * 1024
    /// Most header fields; more gets 431.
    public var maxHeaderCount = 100
    /// Largest body; larger gets 413.
    public var maxBodySize = 1 << 20
    /// A per-route body limit, consulted once the head is parsed (for example
    /// a larger one for an upload route); nil answers use `maxBodySize`.
    public var bodyLimit: (@Sendable (HTTPRequest) -> Int?)?

    /// The defaults above.
    public init() {}
}

/// Why a request was refused; the server answers with `status`, says `reason`
/// in the body, and closes the connection (the byte stream can no longer be trusted).
public struct HTTPParseError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The status to answer with.
    public let status: HTTPStatus
    /// A short explanation for the client.
    public let reason: String

    init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status.code) \(reason)" }
}

/// An incremental, strict HTTP/1.1 request parser (RFC 9112).
///
/// Feed it the connection's buffer each time bytes arrive; it consumes one
/// complete request at a time and leaves pipelined bytes in place. Anything
/// that could let two parties disagree about where a request ends (both
/// Content-Length and Transfer-Encoding, differing Content-Lengths, obs-fold,
/// bare CR or LF, whitespace before a colon) is refused, so no request can be
/// smuggled past a proxy in front of us.
public struct RequestParser: Sendable {
    /// The limits in force.
    public var limits: HTTPLimits
    private var state = State.head
    /// True once a head asking for `100-continue` was parsed and its body is still awaited.
    public private(set) var expectsContinue = false

    private enum State: Sendable {
        case head
        case fixedBody(HTTPRequest, remaining: Int)
        case chunked(HTTPRequest, ChunkState, limit: Int)
    }

    private enum ChunkState: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
    }

    /// Creates a parser with `limits`.
    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// Whether the parser is between requests (nothing partially parsed).
    public var isIdle: Bool {
        if case .head = state { return true }
        return false
    }

    /// Parses the next complete request from `buffer`, or returns nil when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer, remoteAddress: String = "") throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch state {
            case .head:
                guard let (request, consumed) = try parseHead(buffer, remoteAddress: remoteAddress) else { return nil }
                buffer.moveReaderIndex(by: consumed)
                state = try bodyState(for: request)
                if case .head = state { return request }
                expectsContinue = request.minorVersion == 1 && (request.headers["Expect"]?.lowercased() == "100-continue")
            case .fixedBody(var request, let remaining):
                state = .head  // drop the state's reference so the body grows in place
                let take = min(remaining, buffer.readableBytes)
                buffer.withReadableBytes { request.body.append(contentsOf: $0.prefix(take)) }
                buffer.moveReaderIndex(by: take)
                if take == remaining {
                    state = .head
                    expectsContinue = false
                    return request
                }
                state = .fixedBody(request, remaining: remaining - take)
                return nil
            case .chunked(var request, var chunkState, let limit):
                state = .head  // drop the state's reference so the body grows in place
                if try parseChunks(&request, &chunkState, limit: limit, &buffer) {
                    expectsContinue = false
                    return request
                }
                state = .chunked(request, chunkState, limit: limit)
                return nil
            }
        }
    }

    // MARK: Head

    private func parseHead(_ buffer: ByteBuffer, remoteAddress: String) throws(HTTPParseError) -> (HTTPRequest, Int)? {
        let result: Result<(HTTPRequest, Int)?, HTTPParseError> = buffer.withReadableBytes { bytes in
            do throws(HTTPParseError) {
                guard let headEnd = try findHeadEnd(bytes) else { return .success(nil) }
                let request = try parseHeadBytes(UnsafeRawBufferPointer(rebasing: bytes[..<headEnd]), remoteAddress: remoteAddress)
                return .success((request, headEnd + 4))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Index of the blank line ending the head, or nil if not yet received.
    private func findHeadEnd(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int? {
        // RFC 9112 §2.2: ignore at least one empty line before the request line.
        var start = 0
        while start + 1 < bytes.count && bytes[start] == 13 && bytes[start + 1] == 10 { start += 2 }
        let limit = min(bytes.count, limits.maxHeadSize + 4)
        var firstLineEnd: Int?
        var i = start
        while i + 3 < limit {
            if bytes[i] == 13 && bytes[i + 1] == 10 {
                if firstLineEnd == nil { firstLineEnd = i }
                if bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
            }
            i += 1
        }
        let lineLength = (firstLineEnd ?? bytes.count) - start
        if lineLength > limits.maxRequestLineLength {
            throw HTTPParseError(.uriTooLong, "request line longer than \(limits.maxRequestLineLength) bytes")
        }
        if bytes.count > limits.maxHeadSize + 4 {
            throw HTTPParseError(.headersTooLarge, "request head larger than \(limits.maxHeadSize) bytes")
        }
        return nil
    }

    private func parseHeadBytes(_ head: UnsafeRawBufferPointer, remoteAddress: String) throws(HTTPParseError) -> HTTPRequest {
        var lines: [UnsafeRawBufferPointer] = []
        var lineStart = 0
        var i = 0
        while i < head.count {
            let byte = head[i]
            if byte == 13 {
                guard i + 1 < head.count, head[i + 1] == 10 else {
                    throw HTTPParseError(.badRequest, "bare CR in request head")
                }
                lines.append(UnsafeRawBufferPointer(rebasing: head[lineStart..<i]))
                i += 2
                lineStart = i
                continue
            }
            if byte == 10 { throw HTTPParseError(.badRequest, "bare LF in request head (lines must end with CRLF)") }
            if byte == 0 { throw HTTPParseError(.badRequest, "NUL byte in request head") }
            i += 1
        }
        lines.append(UnsafeRawBufferPointer(rebasing: head[lineStart..<head.count]))
        // Skip the empty lines allowed before the request line.
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        guard let requestLine = lines.first else { throw HTTPParseError(.badRequest, "empty request") }
        if requestLine.count > limits.maxRequestLineLength {
            throw HTTPParseError(.uriTooLong, "request line longer than \(limits.maxRequestLineLength) bytes")
        }
        let (method, target, minor) = try parseRequestLine(requestLine)
        if lines.count - 1 > limits.maxHeaderCount {
            throw HTTPParseError(.headersTooLarge, "more than \(limits.maxHeaderCount) header fields")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            let (name, value) = try parseField(line)
            headers.add(name, value)
        }
        var request = HTTPRequest(method: method, target: target, minorVersion: minor, headers: headers, remoteAddress: remoteAddress)
        try normalizeTarget(&request)
        let hosts = headers.values("Host")
        if minor == 1 && hosts.count != 1 {
            throw HTTPParseError(.badRequest, hosts.isEmpty ? "missing Host header" : "more than one Host header")
        }
        if hosts.count > 1 { throw HTTPParseError(.badRequest, "more than one Host header") }
        guard HTTPMethod.known.contains(method) else {
            throw HTTPParseError(.notImplemented, "method \(method) is not implemented")
        }
        return request
    }

    private func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (HTTPMethod, String, Int) {
        guard let firstSpace = line.firstIndex(of: 32),
              let lastSpace = line.lastIndex(of: 32), lastSpace > firstSpace
        else { throw HTTPParseError(.badRequest, "malformed request line") }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<lastSpace]
        let versionBytes = line[(lastSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isTokenByte) else {
            throw HTTPParseError(.badRequest, "invalid method")
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPParseError(.badRequest, "invalid request target")
        }
        let version = Array(versionBytes)
        let prefix = Array("HTTP/".utf8)
        guard version.count == 8, Array(version[0..<5]) == prefix, version[6] == UInt8(ascii: "."),
              (48...57).contains(version[5]), (48...57).contains(version[7])
        else { throw HTTPParseError(.badRequest, "malformed HTTP version") }
        guard version[5] == UInt8(ascii: "1"), version[7] == UInt8(ascii: "0") || version[7] == UInt8(ascii: "1") else {
            throw HTTPParseError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        let method = HTTPMethod(rawValue: String(decoding: methodBytes, as: UTF8.self))
        return (method, String(decoding: targetBytes, as: UTF8.self), Int(version[7] - 48))
    }

    private func parseField(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (String, String) {
        if let first = line.first, first == 32 || first == 9 {
            throw HTTPParseError(.badRequest, "obsolete line folding in header")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            throw HTTPParseError(.badRequest, "header line without a name and colon")
        }
        let name = line[..<colon]
        guard name.allSatisfy(Self.isTokenByte) else {
            throw HTTPParseError(.badRequest, "invalid character in header name (whitespace before the colon is not allowed)")
        }
        var start = colon + 1
        var end = line.count
        while start < end && (line[start] == 32 || line[start] == 9) { start += 1 }
        while end > start && (line[end - 1] == 32 || line[end - 1] == 9) { end -= 1 }
        let value = line[start..<end]
        guard value.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 9 }) else {
            throw HTTPParseError(.badRequest, "control character in header value")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    /// Turns absolute-form targets into origin form and checks `*` and authority form.
    private func normalizeTarget(_ request: inout HTTPRequest) throws(HTTPParseError) {
        let target = request.target
        if target.hasPrefix("/") { return }
        if target == "*" {
            guard request.method == .options else { throw HTTPParseError(.badRequest, "'*' target is only valid for OPTIONS") }
            return
        }
        let lower = target.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            let afterScheme = target[target.index(target.firstIndex(of: ":")!, offsetBy: 3)...]
            let pathStart = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
            var rest = String(afterScheme[pathStart...])
            if !rest.hasPrefix("/") { rest = "/" + rest }
            let rewritten = HTTPRequest(method: request.method, target: rest, minorVersion: request.minorVersion, headers: request.headers, remoteAddress: request.remoteAddress)
            request = rewritten
            return
        }
        if request.method == .connect { return }
        throw HTTPParseError(.badRequest, "request target must start with '/'")
    }

    // MARK: Body

    private func bodyLimit(for request: HTTPRequest) -> Int {
        limits.bodyLimit?(request) ?? limits.maxBodySize
    }

    private func bodyState(for request: HTTPRequest) throws(HTTPParseError) -> State {
        let encodings = request.headers.values("Transfer-Encoding")
        let lengths = request.headers.values("Content-Length")
        if !encodings.isEmpty {
            guard lengths.isEmpty else {
                throw HTTPParseError(.badRequest, "both Content-Length and Transfer-Encoding are present")
            }
            guard request.minorVersion == 1 else {
                throw HTTPParseError(.badRequest, "Transfer-Encoding is not allowed in HTTP/1.0")
            }
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmed(" \t").lowercased() }
            guard codings.last == "chunked" else {
                throw HTTPParseError(.badRequest, "Transfer-Encoding must end with chunked")
            }
            guard codings.count == 1 else {
                throw HTTPParseError(.notImplemented, "only the chunked transfer coding is supported")
            }
            return .chunked(request, .size, limit: bodyLimit(for: request))
        }
        guard !lengths.isEmpty else { return .head }
        var length: Int?
        for field in lengths {
            for part in field.split(separator: ",", omittingEmptySubsequences: false) {
                let text = part.trimmed(" \t")
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(text) else {
                    throw HTTPParseError(.badRequest, "invalid Content-Length")
                }
                if let length, length != value {
                    throw HTTPParseError(.badRequest, "conflicting Content-Length values")
                }
                length = value
            }
        }
        guard let length else { return .head }
        let limit = bodyLimit(for: request)
        if length > limit {
            throw HTTPParseError(.payloadTooLarge, "body larger than \(limit) bytes")
        }
        return length == 0 ? .head : .fixedBody(request, remaining: length)
    }

    /// Decodes as much chunked body as `buffer` holds; true when the body is complete.
    private func parseChunks(_ request: inout HTTPRequest, _ chunkState: inout ChunkState, limit: Int, _ buffer: inout ByteBuffer) throws(HTTPParseError) -> Bool {
        while true {
            switch chunkState {
            case .size:
                guard let line = try takeLine(&buffer, limit: 4096, what: "chunk size line") else { return false }
                let sizeText = line.prefix { $0 != UInt8(ascii: ";") }
                let trimmed = sizeText.reversed().drop { $0 == 32 || $0 == 9 }.reversed()
                guard !trimmed.isEmpty, trimmed.count <= 15, trimmed.allSatisfy({ FormDecoding.hexValue($0) != nil }) else {
                    throw HTTPParseError(.badRequest, "invalid chunk size")
                }
                let size = trimmed.reduce(0) { $0 << 4 | Int(FormDecoding.hexValue($1)!) }
                if request.body.count + size > limit {
                    throw HTTPParseError(.payloadTooLarge, "body larger than \(limit) bytes")
                }
                chunkState = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                let take = min(remaining, buffer.readableBytes)
                guard take > 0 else { return false }
                buffer.withReadableBytes { request.body.append(contentsOf: $0.prefix(take)) }
                buffer.moveReaderIndex(by: take)
                chunkState = take == remaining ? .dataEnd : .data(remaining: remaining - take)
            case .dataEnd:
                guard buffer.readableBytes >= 2 else { return false }
                let ok = buffer.withReadableBytes { $0[0] == 13 && $0[1] == 10 }
                guard ok else { throw HTTPParseError(.badRequest, "chunk data not followed by CRLF") }
                buffer.moveReaderIndex(by: 2)
                chunkState = .size
            case .trailers:
                guard let line = try takeLine(&buffer, limit: limits.maxHeadSize, what: "trailer section") else { return false }
                if line.isEmpty { return true }
                // Trailer fields are validated like headers and then dropped:
                // nothing downstream may rely on fields sent after the body.
                let valid = line.withUnsafeBytes { raw -> Bool in
                    (try? parseField(raw)) != nil
                }
                guard valid else { throw HTTPParseError(.badRequest, "malformed trailer field") }
            }
        }
    }

    /// Removes one CRLF-terminated line from `buffer`, or returns nil if incomplete.
    private func takeLine(_ buffer: inout ByteBuffer, limit: Int, what: String) throws(HTTPParseError) -> [UInt8]? {
        let found: Int? = buffer.withReadableBytes { bytes in
            var i = 0
            while i + 1 < bytes.count && i <= limit {
                if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
                if bytes[i] == 10 || bytes[i] == 0 || (bytes[i] == 13) { return -1 }
                i += 1
            }
            return nil
        }
        guard let end = found else {
            if buffer.readableBytes > limit { throw HTTPParseError(.badRequest, "\(what) too long") }
            return nil
        }
        guard end >= 0 else { throw HTTPParseError(.badRequest, "bare CR, LF or NUL in \(what)") }
        let line = buffer.withReadableBytes { Array($0[..<end]) }
        buffer.moveReaderIndex(by: end + 2)
        return line
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
