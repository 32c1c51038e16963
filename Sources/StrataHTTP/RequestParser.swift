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
    /// Requests whose body is handed over while it arrives, as
    /// `HTTPRequest.bodyStream`, rather than read whole into `body` first
    /// (routes that pass bodies on: the reverse proxy, FastCGI).
    public var streamsBody: (@Sendable (HTTPRequest) -> Bool)?

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
    /// The request whose body is being read (in `fixedBody` and `chunked`).
    private var pending: HTTPRequest?
    /// True once a head asking for `100-continue` was parsed and its body is still awaited.
    public private(set) var expectsContinue = false
    /// The body being handed over as it arrives (see `HTTPLimits.streamsBody`);
    /// `pumpBody` feeds it, and `next` must not be called until it is nil.
    public private(set) var streamingBody: HTTPRequestBody?
    /// Body bytes taken so far (for the chunked limit).
    private var bodyReceived = 0

    // Plain values only: the state is checked for every request, and an enum
    // carrying the request would be copied and switched through the runtime.
    private enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunked(ChunkState, limit: Int)
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
    /// `remoteAddress`, `isSecure` and `receivedAt` are what the connection
    /// knows of the request (the server passes its loop's current time), set
    /// here so the request needs no change, and no copy, after parsing.
    public mutating func next(
        from buffer: inout ByteBuffer, remoteAddress: String = "", isSecure: Bool = false, receivedAt: ContinuousClock.Instant = .now
    ) throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch state {
            case .head:
                guard
                    let (request, framing, consumed) = try parseHead(
                        buffer, remoteAddress: remoteAddress, isSecure: isSecure, receivedAt: receivedAt)
                else { return nil }
                buffer.moveReaderIndex(by: consumed)
                state = try bodyState(for: request, framing)
                if case .head = state { return request }
                expectsContinue = request.minorVersion == 1 && framing.expectsContinue
                bodyReceived = 0
                if let streamsBody = limits.streamsBody, streamsBody(request) {
                    var streamed = request
                    let body = HTTPRequestBody(length: framing.contentLength)
                    streamed.bodyStream = body
                    streamingBody = body
                    return streamed
                }
                pending = request
            case .fixedBody, .chunked:
                guard try readBody(&buffer) else { return nil }
                bodyEnded()
                defer { pending = nil }
                return pending
            }
        }
    }

    /// Hands what `buffer` holds of a streamed body to `streamingBody`, as
    /// far as it wants bytes; when the body is complete, `streamingBody` is
    /// finished and cleared and the parser waits for the next head.
    /// A framing error fails the body with it (the handler answers) and is rethrown.
    public mutating func pumpBody(from buffer: inout ByteBuffer) throws(HTTPParseError) {
        guard let body = streamingBody, body.wantsBytes else { return }
        do {
            guard try readBody(&buffer) else { return }
        } catch {
            abandonBody(error.status, error.reason)
            throw error
        }
        bodyEnded()
        body.finish()
    }

    /// Gives up on the streamed body (the client went away or stalled): it
    /// fails with `status` and `reason`. The connection cannot carry another request.
    public mutating func abandonBody(_ status: HTTPStatus, _ reason: String) {
        guard let body = streamingBody else { return }
        bodyEnded()
        body.fail(status, reason)
    }

    /// The body is over (read, or given up): the next bytes are a head.
    private mutating func bodyEnded() {
        state = .head
        expectsContinue = false
        streamingBody = nil
    }

    /// Reads body bytes from `buffer` in the current body state; true when the body is complete.
    private mutating func readBody(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> Bool {
        switch state {
        case .head:
            return true
        case .fixedBody(let remaining):
            let take = min(remaining, buffer.readableBytes)
            takeBody(take, from: &buffer)
            guard take == remaining else {
                state = .fixedBody(remaining: remaining - take)
                return false
            }
            return true
        case .chunked(var chunkState, let limit):
            guard try parseChunks(&chunkState, limit: limit, &buffer) else {
                state = .chunked(chunkState, limit: limit)
                return false
            }
            return true
        }
    }

    /// Moves `count` body bytes from `buffer` to the request or its stream.
    private mutating func takeBody(_ count: Int, from buffer: inout ByteBuffer) {
        guard count > 0 else { return }
        if let body = streamingBody {
            buffer.withReadableBytes { body.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        } else {
            buffer.withReadableBytes { pending!.body.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        buffer.moveReaderIndex(by: count)
        bodyReceived += count
    }

    // MARK: Head

    /// What the header fields say about the request's framing, gathered while
    /// they are parsed so no field is looked up (or re-split) afterwards.
    private struct Framing {
        var hostCount = 0
        var contentLength: Int?
        var hasTransferEncoding = false
        var transferCodings = 0
        var lastCodingIsChunked = false
        var expectsContinue = false

        /// `uri-host [":" port]` (RFC 9112 §3.2, RFC 3986 §3.2.2): a bracketed
        /// IP literal, or a reg-name / IPv4 address of unreserved, sub-delims
        /// and percent escapes; empty is allowed (an empty authority).
        static func isValidHost(_ value: UnsafeRawBufferPointer) -> Bool {
            var hostEnd = value.count
            var i = 0
            if value.first == UInt8(ascii: "[") {
                guard let close = value.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
                let literal = value[1..<close]
                if literal.first! | 0x20 == UInt8(ascii: "v") {
                    // IPvFuture: unreserved, sub-delims and ":".
                    for byte in literal where !(isRegNameByte(byte) || byte == UInt8(ascii: ":")) { return false }
                } else {
                    // IPv6, possibly ending in an IPv4 address.
                    for byte in literal where !(FormDecoding.hexValue(byte) != nil || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")) {
                        return false
                    }
                }
                hostEnd = close + 1
                i = hostEnd
            } else {
                while i < value.count, value[i] != UInt8(ascii: ":") {
                    if value[i] == UInt8(ascii: "%") {
                        guard i + 2 < value.count, FormDecoding.hexValue(value[i + 1]) != nil, FormDecoding.hexValue(value[i + 2]) != nil else {
                            return false
                        }
                        i += 2
                    } else if !isRegNameByte(value[i]) {
                        return false
                    }
                    i += 1
                }
                hostEnd = i
            }
            guard i < value.count else { return true }
            // What follows the host must be ":" and an optional decimal port.
            guard value[i] == UInt8(ascii: ":"), hostEnd > 0 else { return false }
            let port = value[(i + 1)...]
            return port.count <= 5 && port.allSatisfy { $0 >= 48 && $0 <= 57 }
        }

        /// unreserved / sub-delims (RFC 3986 §2).
        static func isRegNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
                UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
                true
            default:
                false
            }
        }

        mutating func note(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(HTTPParseError) {
            switch name.count {
            case 4 where name.equalsIgnoringCase("host"):
                hostCount += 1
                guard Self.isValidHost(value) else { throw HTTPParseError(.badRequest, "invalid Host header") }
            case 6 where name.equalsIgnoringCase("expect"):
                expectsContinue = value.equalsIgnoringCase("100-continue")
            case 14 where name.equalsIgnoringCase("content-length"):
                for part in value.commaSeparated(omittingEmpty: false) {
                    guard !part.isEmpty, part.count <= 18, part.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                        throw HTTPParseError(.badRequest, "invalid Content-Length")
                    }
                    let length = part.reduce(0) { $0 * 10 + Int($1 - 48) }
                    if let contentLength, contentLength != length {
                        throw HTTPParseError(.badRequest, "conflicting Content-Length values")
                    }
                    contentLength = length
                }
            case 17 where name.equalsIgnoringCase("transfer-encoding"):
                hasTransferEncoding = true
                for coding in value.commaSeparated(omittingEmpty: true) {
                    transferCodings += 1
                    lastCodingIsChunked = coding.equalsIgnoringCase("chunked")
                }
            default:
                break
            }
        }
    }

    private func parseHead(
        _ buffer: ByteBuffer, remoteAddress: String, isSecure: Bool, receivedAt: ContinuousClock.Instant
    ) throws(HTTPParseError) -> (HTTPRequest, Framing, Int)? {
        // The error leaves the closure through a variable: a Result here costs a
        // copy of the whole request on the hottest path of the server.
        var failure: HTTPParseError?
        let parsed = buffer.withReadableBytes { bytes -> (HTTPRequest, Framing, Int)? in
            do throws(HTTPParseError) {
                guard let headEnd = try findHeadEnd(bytes) else { return nil }
                let (request, framing) = try parseHeadBytes(
                    UnsafeRawBufferPointer(rebasing: bytes[..<headEnd]), remoteAddress: remoteAddress, isSecure: isSecure,
                    receivedAt: receivedAt)
                return (request, framing, headEnd + 4)
            } catch {
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        return parsed
    }

    /// Index of the blank line ending the head, or nil if not yet received.
    ///
    /// A line ending in a bare LF (or a CR not followed by LF) is refused as
    /// soon as it arrives: waiting for a CRLF CRLF that such a client never
    /// sends would leave it with no answer until the head timeout.
    private func findHeadEnd(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int? {
        // RFC 9112 §2.2: ignore at least one empty line before the request line.
        var start = 0
        while start + 1 < bytes.count && bytes[start] == 13 && bytes[start + 1] == 10 { start += 2 }
        let limit = min(bytes.count, limits.maxHeadSize + 4)
        var firstLineEnd: Int?
        var i = start
        scan: while i < limit {
            switch bytes[i] {
            case 13:
                guard i + 1 < bytes.count else { break scan }  // the LF may come with the next read
                guard bytes[i + 1] == 10 else { throw HTTPParseError(.badRequest, "bare CR in request head (lines must end with CRLF)") }
                if firstLineEnd == nil { firstLineEnd = i }
                if i + 3 < bytes.count && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
                i += 2
            case 10:
                throw HTTPParseError(.badRequest, "bare LF in request head (lines must end with CRLF)")
            default:
                i += 1
            }
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

    /// Parses a complete head (without its final blank line) in one pass over the bytes.
    private func parseHeadBytes(
        _ head: UnsafeRawBufferPointer, remoteAddress: String, isSecure: Bool, receivedAt: ContinuousClock.Instant
    ) throws(HTTPParseError) -> (HTTPRequest, Framing) {
        var lines = HeadLines(head)
        var requestLine: UnsafeRawBufferPointer
        repeat {  // empty lines before the request line are allowed
            guard let line = try lines.next() else { throw HTTPParseError(.badRequest, "empty request") }
            requestLine = line
        } while requestLine.isEmpty
        if requestLine.count > limits.maxRequestLineLength {
            throw HTTPParseError(.uriTooLong, "request line longer than \(limits.maxRequestLineLength) bytes")
        }
        let (method, target, minor) = try parseRequestLine(requestLine)
        // An origin server, not a proxy: there is nothing to tunnel to.
        if method == .connect { throw HTTPParseError(.notImplemented, "CONNECT is not supported: this server is not a proxy") }
        var headers = HTTPHeaders(capacity: 8)
        var framing = Framing()
        while let line = try lines.next() {
            if headers.count == limits.maxHeaderCount {
                throw HTTPParseError(.headersTooLarge, "more than \(limits.maxHeaderCount) header fields")
            }
            let (name, value) = try splitField(line)
            try framing.note(name: name, value: value)
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }
        var request = HTTPRequest(
            method: method, target: target, minorVersion: minor, headers: headers, remoteAddress: remoteAddress, receivedAt: receivedAt)
        request.isSecure = isSecure
        try normalizeTarget(&request)
        if framing.hostCount > 1 { throw HTTPParseError(.badRequest, "more than one Host header") }
        if minor == 1 && framing.hostCount == 0 { throw HTTPParseError(.badRequest, "missing Host header") }
        guard method.isKnown else {
            throw HTTPParseError(.notImplemented, "method \(method) is not implemented")
        }
        return (request, framing)
    }

    /// The CRLF-separated lines of a head; a bare CR, bare LF or NUL anywhere is an error.
    private struct HeadLines {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func next() throws(HTTPParseError) -> UnsafeRawBufferPointer? {
            guard position <= bytes.count else { return nil }
            let start = position
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case 13:
                    guard i + 1 < bytes.count, bytes[i + 1] == 10 else {
                        throw HTTPParseError(.badRequest, "bare CR in request head")
                    }
                    position = i + 2
                    return UnsafeRawBufferPointer(rebasing: bytes[start..<i])
                case 10:
                    throw HTTPParseError(.badRequest, "bare LF in request head (lines must end with CRLF)")
                case 0:
                    throw HTTPParseError(.badRequest, "NUL byte in request head")
                default:
                    i += 1
                }
            }
            position = bytes.count + 1
            return UnsafeRawBufferPointer(rebasing: bytes[start...])
        }
    }

    private func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (HTTPMethod, String, Int) {
        guard let firstSpace = line.firstIndex(of: 32),
            let lastSpace = line.lastIndex(of: 32), lastSpace > firstSpace
        else { throw HTTPParseError(.badRequest, "malformed request line") }
        let methodBytes = UnsafeRawBufferPointer(rebasing: line[..<firstSpace])
        let targetBytes = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<lastSpace])
        let version = UnsafeRawBufferPointer(rebasing: line[(lastSpace + 1)...])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isTokenByte) else {
            throw HTTPParseError(.badRequest, "invalid method")
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPParseError(.badRequest, "invalid request target")
        }
        guard version.count == 8, version[0] == UInt8(ascii: "H"), version[1] == UInt8(ascii: "T"),
            version[2] == UInt8(ascii: "T"), version[3] == UInt8(ascii: "P"), version[4] == UInt8(ascii: "/"),
            version[6] == UInt8(ascii: "."), (48...57).contains(version[5]), (48...57).contains(version[7])
        else { throw HTTPParseError(.badRequest, "malformed HTTP version") }
        guard version[5] == UInt8(ascii: "1") else {
            throw HTTPParseError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        let method = HTTPMethod(rawValue: String(decoding: methodBytes, as: UTF8.self))
        // RFC 9110 §2.5: a later 1.x minor version is answered as 1.1.
        return (method, String(decoding: targetBytes, as: UTF8.self), version[7] == UInt8(ascii: "0") ? 0 : 1)
    }

    /// Splits a field line into name and value (surrounding whitespace removed) and validates both.
    private func splitField(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        if let first = line.first, first == 32 || first == 9 {
            throw HTTPParseError(.badRequest, "obsolete line folding in header")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            throw HTTPParseError(.badRequest, "header line without a name and colon")
        }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        guard name.allSatisfy(Self.isTokenByte) else {
            throw HTTPParseError(.badRequest, "invalid character in header name (whitespace before the colon is not allowed)")
        }
        var start = colon + 1
        var end = line.count
        while start < end && (line[start] == 32 || line[start] == 9) { start += 1 }
        while end > start && (line[end - 1] == 32 || line[end - 1] == 9) { end -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[start..<end])
        guard value.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 9 }) else {
            throw HTTPParseError(.badRequest, "control character in header value")
        }
        return (name, value)
    }

    /// Turns absolute-form targets into origin form and checks `*`; anything
    /// else (authority form included: CONNECT is refused earlier) is a 400.
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
            let rewritten = HTTPRequest(
                method: request.method, target: rest, minorVersion: request.minorVersion, headers: request.headers,
                remoteAddress: request.remoteAddress, receivedAt: request.receivedAt)
            request = rewritten
            return
        }
        throw HTTPParseError(.badRequest, "request target must start with '/'")
    }

    // MARK: Body

    private func bodyLimit(for request: HTTPRequest) -> Int {
        limits.bodyLimit?(request) ?? limits.maxBodySize
    }

    private func bodyState(for request: HTTPRequest, _ framing: Framing) throws(HTTPParseError) -> State {
        if framing.hasTransferEncoding {
            guard framing.contentLength == nil else {
                throw HTTPParseError(.badRequest, "both Content-Length and Transfer-Encoding are present")
            }
            guard request.minorVersion == 1 else {
                throw HTTPParseError(.badRequest, "Transfer-Encoding is not allowed in HTTP/1.0")
            }
            guard framing.lastCodingIsChunked else {
                throw HTTPParseError(.badRequest, "Transfer-Encoding must end with chunked")
            }
            guard framing.transferCodings == 1 else {
                throw HTTPParseError(.notImplemented, "only the chunked transfer coding is supported")
            }
            return .chunked(.size, limit: bodyLimit(for: request))
        }
        guard let length = framing.contentLength else { return .head }
        let limit = bodyLimit(for: request)
        if length > limit {
            throw HTTPParseError(.payloadTooLarge, "body larger than \(limit) bytes")
        }
        return length == 0 ? .head : .fixedBody(remaining: length)
    }

    /// Decodes as much chunked body as `buffer` holds; true when the body is complete.
    private mutating func parseChunks(_ chunkState: inout ChunkState, limit: Int, _ buffer: inout ByteBuffer) throws(HTTPParseError) -> Bool {
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
                if bodyReceived + size > limit {
                    throw HTTPParseError(.payloadTooLarge, "body larger than \(limit) bytes")
                }
                chunkState = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                let take = min(remaining, buffer.readableBytes)
                guard take > 0, streamingBody?.wantsBytes ?? true else { return false }
                takeBody(take, from: &buffer)
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
                    (try? splitField(raw)) != nil
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

extension UnsafeRawBufferPointer {
    /// Whether these bytes spell `lowercased`, ignoring ASCII case. `lowercased`
    /// must be lowercase letters, digits and `-`; folding with 0x20 is only
    /// exact for those, which is all header names and tokens compared here use.
    func equalsIgnoringCase(_ lowercased: StaticString) -> Bool {
        guard count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for i in 0..<count {
            let byte = self[i]
            let folded = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            if folded != expected[i] { return false }
        }
        return true
    }

    /// The elements of a comma-separated list, each without surrounding spaces or tabs.
    func commaSeparated(omittingEmpty: Bool) -> [UnsafeRawBufferPointer] {
        var parts: [UnsafeRawBufferPointer] = []
        var start = 0
        for end in 0...count where end == count || self[end] == UInt8(ascii: ",") {
            var lower = start, upper = end
            while lower < upper && (self[lower] == 32 || self[lower] == 9) { lower += 1 }
            while upper > lower && (self[upper - 1] == 32 || self[upper - 1] == 9) { upper -= 1 }
            if upper > lower || !omittingEmpty { parts.append(UnsafeRawBufferPointer(rebasing: self[lower..<upper])) }
            start = end + 1
        }
        return parts
    }
}
