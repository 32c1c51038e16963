/// Serializes a response head and body into one buffer, so a small response
/// leaves in a single write (no Nagle or delayed-ACK stall between head and body).
enum ResponseWriter {
    static func serialize(
        _ response: HTTPResponse, keepAlive: Bool, minorVersion: Int, omitBody: Bool, serverName: String
    ) -> [UInt8] {
        let streamed = response.stream != nil
        // HTTP/1.0 has no chunked coding: a streamed body ends when the connection closes.
        let keepAlive = keepAlive && !(streamed && minorVersion == 0)
        var out: [UInt8] = []
        out.reserveCapacity(256 + (omitBody ? 0 : response.body.count))
        out.append(contentsOf: "HTTP/1.1 \(response.status.code) \(response.status.reason)\r\n".utf8)
        out.append(contentsOf: "Server: \(serverName)\r\nDate: \(HTTPDate.now())\r\n".utf8)
        let code = response.status.code
        if code >= 200 && code != 204 && code != 304 {
            if !streamed {
                out.append(contentsOf: "Content-Length: \(response.body.count + Int(response.file?.count ?? 0))\r\n".utf8)
            } else if minorVersion == 1 {
                out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
            }
        }
        for (name, value) in response.headers {
            if name.caseInsensitiveEquals("Content-Length") || name.caseInsensitiveEquals("Transfer-Encoding") || name.caseInsensitiveEquals("Date")
                || name.caseInsensitiveEquals("Server") || name.caseInsensitiveEquals("Connection") {
                continue
            }
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            // A CR or LF in a value would let data injected into a header start a new one.
            for byte in value.utf8 { out.append(byte == 13 || byte == 10 || byte == 0 ? 32 : byte) }
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if minorVersion == 0 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if !omitBody && !streamed { out.append(contentsOf: response.body) }
        return out
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
