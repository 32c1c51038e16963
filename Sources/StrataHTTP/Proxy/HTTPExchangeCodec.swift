import StrataCore

/// Proxied HTTP/1.1: the forwarded request out, a strictly parsed answer back.
struct HTTPExchangeCodec: ExchangeCodec {
    let request: HTTPRequest
    let target: String
    let host: ForwardedRequest.HostHeader
    let trusted: Bool
    private let parser = UpstreamResponseParser()
    private var parsed: UpstreamResponseHead?
    private var decoder = UpstreamBodyDecoder(framing: .none)
    private(set) var head: ExchangeHead?

    init(request: HTTPRequest, target: String, host: ForwardedRequest.HostHeader, trusted: Bool) {
        self.request = request
        self.target = target
        self.host = host
        self.trusted = trusted
    }

    func request(to upstream: Upstream) -> [UInt8] {
        ForwardedRequest.serialize(request, target: target, host: host, upstream: upstream, trusted: trusted)
    }

    func requestBody(_ piece: [UInt8]) -> [UInt8] {
        request.bodyStream?.length == nil ? ResponseWriter.chunk(piece) : piece
    }

    var requestBodyEnd: [UInt8] { request.bodyStream?.length == nil ? ResponseWriter.lastChunk : [] }

    mutating func read(_ buffer: inout ByteBuffer, body: inout [UInt8]) throws -> Bool {
        if parsed == nil {
            guard let upstreamHead = try parser.parseHead(&buffer, requestMethod: request.method) else { return false }
            parsed = upstreamHead
            decoder = UpstreamBodyDecoder(framing: upstreamHead.framing)
            var head = ExchangeHead(
                status: upstreamHead.status, headers: HopByHop.strip(upstreamHead.headers, dropping: { $0.caseInsensitiveEquals("Content-Length") }))
            if request.method == .head, let length = upstreamHead.headers["Content-Length"].flatMap({ Int($0) }) { head.headLength = length }
            self.head = head
        }
        return try decoder.decode(&buffer, into: &body)
    }

    mutating func inputEnded() throws { try decoder.inputEnded() }

    var reusable: Bool { (parsed?.keepAlive ?? false) && decoder.isComplete }
}
