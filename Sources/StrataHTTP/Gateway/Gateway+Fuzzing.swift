import StrataCore

/// Entry points for the gateway's fuzz targets (`Tests/Fuzz`): what upstream
/// servers send is as untrusted as what browsers send.
@_spi(Fuzzing) public enum GatewayFuzzing {
    /// An upstream HTTP answer, fed in two pieces (split at the first byte's
    /// value) as a socket might deliver it: it parses or is refused, never
    /// traps; a parsed head carries no CR, LF or NUL in any field.
    public static func upstreamResponse(_ bytes: [UInt8]) {
        for method in [HTTPMethod.get, .head] {
            var codec = HTTPExchangeCodec(request: HTTPRequest(method: method, target: "/"), target: "/", host: .pass, trusted: false)
            let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
            var buffer = ByteBuffer()
            var body: [UInt8] = []
            do {
                buffer.write(bytes[..<split])
                _ = try codec.read(&buffer, body: &body)
                buffer.write(bytes[split...])
                if try !codec.read(&buffer, body: &body) { try codec.inputEnded() }
            } catch {}
            if let head = codec.head {
                for (name, value) in head.headers {
                    precondition(!(name + value).utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }, "a control character passed the parser")
                }
            }
        }
        _ = try? CGIResponseParser.parse(bytes)
    }

    /// A FastCGI responder's records: decoded into an answer or refused; and
    /// name-value pairs decode without trapping and re-encode to themselves.
    public static func fastCGI(_ bytes: [UInt8]) {
        var codec = FastCGIExchangeCodec(params: [], body: [])
        var buffer = ByteBuffer(bytes: bytes)
        var body: [UInt8] = []
        _ = try? codec.read(&buffer, body: &body)
        if let pairs = try? FastCGIRecord.decodePairs(bytes) {
            let encoded = FastCGIRecord.encodePairs(pairs)
            // Names and values that were not UTF-8 change when decoded as strings; valid ones survive.
            if String(validating: bytes, as: UTF8.self) != nil, encoded.count == bytes.count {
                precondition(encoded == bytes, "FastCGI pairs changed in a round trip")
            }
        }
    }
}
