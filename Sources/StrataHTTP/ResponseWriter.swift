/// Serializes a response head, and a small body with it, into one buffer, so
/// a small response leaves in a single write (no Nagle or delayed-ACK stall
/// between head and body). A larger body is not copied: it is queued as a
/// buffer of its own and leaves with the head in the same `writev`.
enum ResponseWriter {
    /// Bodies up to this size are copied into the head's buffer.
    static let inlineBodyLimit = 4096

    /// Whether `serialize` leaves `response`'s body for the caller to write.
    static func bodyIsSeparate(_ response: HTTPResponse, omitBody: Bool) -> Bool {
        !omitBody && response.stream == nil && response.body.count > inlineBodyLimit
    }

    static func serialize(
        _ response: HTTPResponse, keepAlive: Bool, minorVersion: Int, omitBody: Bool, serverName: String, dateLine: [UInt8]
    ) -> [UInt8] {
        let separate = bodyIsSeparate(response, omitBody: omitBody)
        let streamed = response.stream != nil
        // HTTP/1.0 has no chunked coding: a streamed body ends when the connection closes.
        let keepAlive = keepAlive && !(streamed && minorVersion == 0)
        let inlineBody = !omitBody && !streamed && !separate
        // The exact room needed is known up front (sanitising keeps lengths),
        // so the head is written straight into one allocation.
        var capacity = 160 + response.status.reason.utf8.count + serverName.utf8.count + dateLine.count
        for (name, value) in response.headers { capacity += name.utf8.count + value.utf8.count + 4 }
        if inlineBody { capacity += response.body.count }
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            var out = HeadBuffer(base: buffer.baseAddress!)
            if response.status.code == 200 && response.status.reason == "OK" {
                out.append(statusOK)
            } else {
                out.append(statusPrefix)
                out.appendDecimal(response.status.code)
                out.append(32)
                out.append(response.status.reason)
                out.append(crlf)
            }
            out.append(serverPrefix)
            out.append(serverName)
            out.append(dateLine)
            let code = response.status.code
            if code >= 200 && code != 204 && code != 304 {
                if !streamed {
                    out.append(contentLengthPrefix)
                    out.appendDecimal(response.headLength ?? (response.body.count + Int(response.file?.count ?? 0)))
                    out.append(crlf)
                } else if minorVersion == 1 {
                    out.append(chunkedLine)
                }
            }
            for (name, value) in response.headers where !isManagedHeader(name) {
                out.appendField(name, value)
            }
            if !keepAlive {
                out.append(connectionClose)
            } else if minorVersion == 0 {
                out.append(connectionKeepAlive)
            }
            out.append(crlf)
            if inlineBody { response.body.withUnsafeBufferPointer { out.append($0) } }
            precondition(out.count <= capacity, "response head larger than computed")
            initialized = out.count
        }
    }

    /// Writes into memory sized beforehand: no capacity or uniqueness check per piece.
    private struct HeadBuffer {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        init(base: UnsafeMutablePointer<UInt8>) { self.base = base }

        mutating func append(_ byte: UInt8) {
            base[count] = byte
            count += 1
        }

        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress else { return }
            (base + count).update(from: source, count: bytes.count)
            count += bytes.count
        }

        mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

        mutating func append(_ text: String) {
            ResponseWriter.withUTF8(of: text) { append($0) }
        }

        mutating func appendDecimal(_ value: Int) {
            if value >= 10 { appendDecimal(value / 10) }
            append(UInt8(ascii: "0") + UInt8(value % 10))
        }

        /// `name: value` and CRLF. A name is a token; a value keeps only visible
        /// characters, spaces and tabs: a CR or LF injected into a value could
        /// otherwise start a header or a response of its own (response splitting).
        mutating func appendField(_ name: String, _ value: String) {
            ResponseWriter.withUTF8(of: name) { bytes in
                // A name that cannot end the line or the name early is copied whole.
                if bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 58 }) {
                    append(bytes)
                } else {
                    for byte in bytes { append(RequestParser.isTokenByte(byte) ? byte : 95) }
                }
            }
            append(58)
            append(32)
            ResponseWriter.withUTF8(of: value) { bytes in
                if bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 9 }) {
                    append(bytes)
                } else {
                    for byte in bytes { append(byte >= 0x20 && byte != 0x7F || byte == 9 ? byte : 32) }
                }
            }
            append(13)
            append(10)
        }
    }

    /// `text`'s UTF-8 bytes where they are: `String.withUTF8` needs a
    /// mutable copy, which costs a retain and a release per header field.
    fileprivate static func withUTF8<Result>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return copy.withUTF8(body)
    }

    private static let statusPrefix = Array("HTTP/1.1 ".utf8)
    private static let crlf: [UInt8] = [13, 10]
    private static let chunkedLine = Array("Transfer-Encoding: chunked\r\n".utf8)
    private static let connectionClose = Array("Connection: close\r\n".utf8)
    private static let connectionKeepAlive = Array("Connection: keep-alive\r\n".utf8)
    private static let statusOK = Array("HTTP/1.1 200 OK\r\n".utf8)
    private static let serverPrefix = Array("Server: ".utf8)
    private static let contentLengthPrefix = Array("Content-Length: ".utf8)

    /// Headers the server writes itself; a handler's copies are dropped.
    private static func isManagedHeader(_ name: String) -> Bool {
        // Cheap first-letter filter: most headers start with none of c, d, s, t.
        guard let first = name.utf8.first.map({ $0 | 0x20 }),
            first == UInt8(ascii: "c") || first == UInt8(ascii: "d") || first == UInt8(ascii: "s") || first == UInt8(ascii: "t")
        else { return false }
        return name.caseInsensitiveEquals("Content-Length") || name.caseInsensitiveEquals("Transfer-Encoding")
            || name.caseInsensitiveEquals("Date") || name.caseInsensitiveEquals("Server") || name.caseInsensitiveEquals("Connection")
    }

    /// One piece of a chunked body: size in hex, CRLF, data, CRLF.
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.reserveCapacity(out.count + bytes.count + 4)
        out.append(contentsOf: [13, 10])
        out.append(contentsOf: bytes)
        out.append(contentsOf: [13, 10])
        return out
    }

    /// The last chunk, with no trailers.
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
}
