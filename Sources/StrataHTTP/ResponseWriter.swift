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
        var out: [UInt8] = []
        out.reserveCapacity(512 + (omitBody || separate ? 0 : response.body.count))
        if response.status == .ok {
            out.append(contentsOf: statusOK)
        } else {
            out.append(contentsOf: "HTTP/1.1 \(response.status.code) \(response.status.reason)\r\n".utf8)
        }
        out.append(contentsOf: serverPrefix)
        out.append(contentsOf: serverName.utf8)
        out.append(contentsOf: dateLine)
        let code = response.status.code
        if code >= 200 && code != 204 && code != 304 {
            if !streamed {
                out.append(contentsOf: contentLengthPrefix)
                appendDecimal(response.body.count + Int(response.file?.count ?? 0), to: &out)
                out.append(13)
                out.append(10)
            } else if minorVersion == 1 {
                out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
            }
        }
        for (name, value) in response.headers {
            if isManagedHeader(name) { continue }
            appendField(name, value, to: &out)
        }
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if minorVersion == 0 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if !omitBody && !streamed && !separate { out.append(contentsOf: response.body) }
        return out
    }

    /// `name: value` and CRLF. A name is a token; a value keeps only visible
    /// characters, spaces and tabs: a CR or LF injected into a value could
    /// otherwise start a header or a response of its own (response splitting).
    static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        var name = name, value = value
        name.withUTF8 { bytes in
            // A name that cannot end the line or the name early is copied whole.
            if bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 58 }) {
                out.append(contentsOf: bytes)
            } else {
                for byte in bytes { out.append(RequestParser.isTokenByte(byte) ? byte : 95) }
            }
        }
        out.append(58)
        out.append(32)
        value.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 9 }) {
                out.append(contentsOf: bytes)
            } else {
                for byte in bytes { out.append(byte >= 0x20 && byte != 0x7F || byte == 9 ? byte : 32) }
            }
        }
        out.append(13)
        out.append(10)
    }

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

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        guard value >= 10 else {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        appendDecimal(value / 10, to: &out)
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
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
