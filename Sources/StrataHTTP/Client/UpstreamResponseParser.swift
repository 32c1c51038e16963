import StrataCore

/// How an upstream response's body ends (RFC 9112 §6.3).
enum BodyFraming: Equatable, Sendable {
    /// No body (HEAD, 1xx, 204, 304).
    case none
    /// Exactly this many bytes.
    case length(Int)
    /// Chunked transfer coding.
    case chunked
    /// Everything until the upstream closes the connection.
    case untilClose
}

/// A parsed upstream response head.
struct UpstreamResponseHead: Sendable {
    var status: HTTPStatus
    var headers: HTTPHeaders
    var framing: BodyFraming
    /// Whether the connection may carry another request afterwards.
    var keepAlive: Bool
}

/// A strict, incremental parser of upstream HTTP/1.1 responses.
///
/// A proxy that forwards what it could not parse exactly passes smuggling
/// and response splitting on to its clients, so anything two parties could
/// read differently is refused as `malformed` (a 502): both Content-Length
/// and Transfer-Encoding, differing lengths, a transfer coding other than
/// chunked, obs-fold, bare CR or LF, control characters in a value, a bad
/// chunk size. Interim 1xx answers are skipped; 101 is refused, since no
/// upgrade was asked for.
struct UpstreamResponseParser: Sendable {
    /// Largest head accepted.
    var maxHeadSize = 64 * 1024
    /// Most header fields accepted.
    var maxHeaderCount = 100

    /// Parses a head from `buffer` and consumes it; nil when more bytes are needed.
    func parseHead(_ buffer: inout ByteBuffer, requestMethod: HTTPMethod) throws -> UpstreamResponseHead? {
        while true {
            let parsed = try buffer.withReadableBytes { bytes throws -> (UpstreamResponseHead, Int)? in
                let end = Self.headEnd(bytes)
                if end == Self.bareLineFeed { throw UpstreamError(.malformed, "bare LF in the response head") }
                guard let end else {
                    guard bytes.count <= maxHeadSize else { throw UpstreamError(.malformed, "response head larger than \(maxHeadSize) bytes") }
                    return nil
                }
                guard end <= maxHeadSize else { throw UpstreamError(.malformed, "response head larger than \(maxHeadSize) bytes") }
                return (try parse(UnsafeRawBufferPointer(rebasing: bytes[..<end]), requestMethod: requestMethod), end + 4)
            }
            guard let (head, consumed) = parsed else { return nil }
            buffer.moveReaderIndex(by: consumed)
            // 100 Continue, 102, 103 Early Hints: interim, the real answer follows.
            if head.status.code >= 100 && head.status.code < 200 { continue }
            return head
        }
    }

    /// What `headEnd` returns for a LF without its CR.
    private static let bareLineFeed = -1

    /// The offset of the CRLFCRLF ending the head, or `bareLineFeed` for a LF
    /// without its CR before it (so an LF-only head fails at once, not at the timeout).
    private static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < bytes.count {
            if bytes[i] == 10 {
                guard i > 0, bytes[i - 1] == 13 else { return bareLineFeed }
                if i >= 3, bytes[i - 2] == 10, bytes[i - 3] == 13 { return i - 3 }
            }
            i += 1
        }
        return nil
    }

    private func parse(_ head: UnsafeRawBufferPointer, requestMethod: HTTPMethod) throws -> UpstreamResponseHead {
        var lines = head.split(separator: 13, omittingEmptySubsequences: false).makeIterator()
        guard let statusLine = lines.next() else { throw UpstreamError(.malformed, "empty response head") }
        let (status, minor) = try Self.parseStatusLine(UnsafeRawBufferPointer(rebasing: statusLine))
        if status.code == 101 { throw UpstreamError(.malformed, "101 Switching Protocols where no upgrade was asked for") }
        var headers = HTTPHeaders(capacity: 16)
        var contentLength: Int?
        var transferEncoding: [String] = []
        while var line = lines.next() {
            // Every line after the first starts with the LF of the previous CRLF.
            guard line.first == 10 else { throw UpstreamError(.malformed, "bare CR in the response head") }
            line = line.dropFirst()
            guard headers.count < maxHeaderCount else { throw UpstreamError(.malformed, "more than \(maxHeaderCount) header fields") }
            let (name, value) = try Self.parseField(UnsafeRawBufferPointer(rebasing: line))
            if name.caseInsensitiveEquals("Content-Length") {
                guard let length = Self.contentLength(value), contentLength == nil || contentLength == length else {
                    throw UpstreamError(
                        .malformed, contentLength == nil ? "invalid Content-Length \"\(value)\"" : "conflicting Content-Length values")
                }
                contentLength = length
            } else if name.caseInsensitiveEquals("Transfer-Encoding") {
                transferEncoding += value.split(separator: ",").map { $0.trimmed().lowercased() }.filter { !$0.isEmpty }
            }
            headers.add(name, value)
        }
        let code = status.code
        var keepAlive = minor == 1 ? !headers.containsToken("close", in: "Connection") : headers.containsToken("keep-alive", in: "Connection")
        let framing: BodyFraming
        if requestMethod == .head || (code >= 100 && code < 200) || code == 204 || code == 304 {
            framing = .none
        } else if !transferEncoding.isEmpty {
            guard contentLength == nil else { throw UpstreamError(.malformed, "both Content-Length and Transfer-Encoding") }
            guard transferEncoding == ["chunked"] else {
                throw UpstreamError(.malformed, "unsupported Transfer-Encoding \"\(transferEncoding.joined(separator: ", "))\"")
            }
            framing = .chunked
        } else if let contentLength {
            framing = .length(contentLength)
        } else {
            framing = .untilClose
            keepAlive = false
        }
        return UpstreamResponseHead(status: status, headers: headers, framing: framing, keepAlive: keepAlive)
    }

    /// A Content-Length value: digits, or a list of the same digits (RFC 9110 §8.6); nil otherwise.
    static func contentLength(_ value: String) -> Int? {
        var result: Int?
        var current = 0
        var digits = 0
        var spaceAfterDigits = false
        for byte in value.utf8 + [UInt8(ascii: ",")] {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard !spaceAfterDigits else { return nil }
                digits += 1
                guard digits <= 18 else { return nil }
                current = current * 10 + Int(byte - 48)
            case UInt8(ascii: ","):
                guard digits > 0, result == nil || result == current else { return nil }
                result = current
                current = 0
                digits = 0
                spaceAfterDigits = false
            case 32, 9:
                spaceAfterDigits = digits > 0
            default:
                return nil
            }
        }
        return result
    }

    /// `HTTP/1.x NNN reason`; returns the status and the minor version.
    static func parseStatusLine(_ line: UnsafeRawBufferPointer) throws -> (HTTPStatus, Int) {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.starts(with: prefix), line[7] == 48 || line[7] == 49, line[8] == 32 else {
            throw UpstreamError(.malformed, "invalid status line")
        }
        let digits = line[9..<12]
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), line[9] != 48 else { throw UpstreamError(.malformed, "invalid status code") }
        let code = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        var reason = ""
        if line.count > 12 {
            guard line[12] == 32 else { throw UpstreamError(.malformed, "invalid status line") }
            let text = line[13...]
            guard text.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                throw UpstreamError(.malformed, "control character in the reason phrase")
            }
            reason = String(decoding: text, as: UTF8.self)
        }
        return (HTTPStatus(code, reason: reason.isEmpty ? nil : reason), Int(line[7] - 48))
    }

    /// `name: value`, the name a token, the value visible characters, spaces and tabs.
    static func parseField(_ line: UnsafeRawBufferPointer) throws -> (String, String) {
        guard let colon = line.firstIndex(of: 58), colon > 0 else {
            throw UpstreamError(.malformed, line.first == 32 || line.first == 9 ? "obs-fold in the response head" : "header line without a name")
        }
        guard line[..<colon].allSatisfy(RequestParser.isTokenByte) else { throw UpstreamError(.malformed, "invalid header name") }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == 32 || line[start] == 9 { start += 1 }
        while end > start, line[end - 1] == 32 || line[end - 1] == 9 { end -= 1 }
        let value = line[start..<end]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            throw UpstreamError(.malformed, "control character in a header value")
        }
        return (String(decoding: line[..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self))
    }
}
