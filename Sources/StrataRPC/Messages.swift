import StrataCore

/// The protocol version this build speaks, sent in HELLO.
public let rpcProtocolVersion: UInt16 = 1

/// A call as the server's handler receives it.
public struct RPCRequest: Sendable {
    /// The method name, such as `guestbook.list`.
    public var method: String
    /// Milliseconds the caller will wait; 0 means no deadline.
    public var timeoutMilliseconds: UInt32
    /// Metadata: request id and caller tier (`RPCMetadataKey`), and whatever the tiers agree on.
    public var metadata: [String: String]
    /// The encoded argument.
    public var body: [UInt8]
    /// How `body` is encoded (the frame's flag); the result is encoded the same way.
    public var bodyEncoding: RPCBodyEncoding

    /// Creates a request.
    public init(
        method: String, timeoutMilliseconds: UInt32 = 0, metadata: [String: String] = [:], body: [UInt8] = [],
        bodyEncoding: RPCBodyEncoding = .binary
    ) {
        self.method = method
        self.timeoutMilliseconds = timeoutMilliseconds
        self.metadata = metadata
        self.body = body
        self.bodyEncoding = bodyEncoding
    }

    func payload() -> [UInt8] {
        var buffer = ByteBuffer(capacity: 64 + method.utf8.count + body.count)
        writePayload(into: &buffer)
        return buffer.storage
    }

    /// The whole REQUEST frame in one buffer (no second copy of the payload).
    func frame(streamID: UInt32) -> [UInt8] {
        var buffer = ByteBuffer(capacity: Frame.headerSize + 96 + method.utf8.count + body.count)
        buffer.write(bigEndian: UInt32(0))  // length, filled in below
        buffer.write(byte: FrameType.request.rawValue)
        buffer.write(byte: bodyEncoding.flags)
        buffer.write(bigEndian: streamID)
        writePayload(into: &buffer)
        var frame = buffer.storage
        let length = UInt32(frame.count - 4).bigEndian
        withUnsafeBytes(of: length) { frame.replaceSubrange(0..<4, with: $0) }
        return frame
    }

    private func writePayload(into buffer: inout ByteBuffer) {
        buffer.writeShortString(method)
        buffer.write(bigEndian: timeoutMilliseconds)
        let count = min(metadata.count, Int(UInt16.max))
        buffer.write(bigEndian: UInt16(count))
        for (key, value) in metadata.prefix(count) {
            buffer.writeShortString(key)
            buffer.writeShortString(value)
        }
        buffer.write(body)
    }

    init(payload: [UInt8], flags: UInt8) throws(FrameError) {
        var reader = PayloadReader(payload)
        bodyEncoding = flags & Frame.jsonBody != 0 ? .json : .binary
        method = try reader.string()
        timeoutMilliseconds = try reader.u32()
        let count = try reader.u16()
        var metadata: [String: String] = [:]
        for _ in 0..<count {
            let key = try reader.string()
            metadata[key] = try reader.string()
        }
        self.metadata = metadata
        body = reader.remaining
    }
}

/// Well-known metadata keys.
public enum RPCMetadataKey {
    /// The id that ties log lines of one browser request together across tiers.
    public static let requestID = "request-id"
    /// The caller's W3C `traceparent`: the trace the call belongs to and the caller's span.
    public static let traceparent = "traceparent"
    /// The calling tier (`web`, `app`).
    public static let caller = "caller"
    /// Who is reading and writing, for read-your-writes on replicas: a hash
    /// of the browser session or API token, never the credential itself.
    public static let consistencyKey = "consistency-key"
}

/// ERROR payload: `u16 code | string message | u16 n | n × (string key, string value)`;
/// the details are optional (an ERROR may end after the message).
extension RPCError {
    func payload() -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.write(bigEndian: code.rawValue)
        buffer.writeShortString(message)
        if !details.isEmpty {
            buffer.write(bigEndian: UInt16(min(details.count, Int(UInt16.max))))
            for (key, value) in details.sorted(by: { $0.key < $1.key }).prefix(Int(UInt16.max)) {
                buffer.writeShortString(key)
                buffer.writeShortString(value)
            }
        }
        return buffer.storage
    }

    init(payload: [UInt8]) {
        var reader = PayloadReader(payload)
        let raw = (try? reader.u16()) ?? RPCErrorCode.unknown.rawValue
        let message = (try? reader.string()) ?? ""
        var details: [String: String] = [:]
        if let count = try? reader.u16() {
            for _ in 0..<count {
                guard let key = try? reader.string(), let value = try? reader.string() else { break }
                details[key] = value
            }
        }
        self.init(RPCErrorCode(rawValue: raw) ?? .unknown, message, details: details)
    }
}

/// HELLO payload: `u16 version | string peer | bytes nonce | bytes proof`,
/// where `bytes` is a `u16` length and that many bytes.
///
/// The handshake (see "Peer authentication" in ARCHITECTURE.md) is three
/// HELLOs: the client's with its nonce, the server's with its nonce and
/// proof, and the client's with its proof. Proofs are HMAC-SHA-256 over the
/// nonces with the shared secret, so the secret never crosses the wire.
struct Hello: Sendable {
    var version: UInt16
    var peer: String
    var nonce: [UInt8] = []
    var proof: [UInt8] = []

    func payload() -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.write(bigEndian: version)
        buffer.writeShortString(peer)
        buffer.write(bigEndian: UInt16(nonce.count))
        buffer.write(nonce)
        buffer.write(bigEndian: UInt16(proof.count))
        buffer.write(proof)
        return buffer.storage
    }

    init(version: UInt16, peer: String, nonce: [UInt8] = [], proof: [UInt8] = []) {
        self.version = version
        self.peer = peer
        self.nonce = nonce
        self.proof = proof
    }

    init(payload: [UInt8]) throws(FrameError) {
        var reader = PayloadReader(payload)
        version = try reader.u16()
        peer = try reader.string()
        nonce = try reader.shortBytes()
        proof = try reader.shortBytes()
    }
}

/// The shared-secret proofs of the HELLO handshake.
enum PeerAuthentication {
    static let nonceSize = 32

    /// What the server sends: proves it holds the secret, bound to both nonces.
    static func serverProof(secret: [UInt8], clientNonce: [UInt8], serverNonce: [UInt8]) -> [UInt8] {
        Digest.hmacSHA256(key: secret, Array("strata-rpc server".utf8) + clientNonce + serverNonce)
    }

    /// What the client sends back.
    static func clientProof(secret: [UInt8], clientNonce: [UInt8], serverNonce: [UInt8]) -> [UInt8] {
        Digest.hmacSHA256(key: secret, Array("strata-rpc client".utf8) + serverNonce + clientNonce)
    }
}
