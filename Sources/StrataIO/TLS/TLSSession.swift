import CStrataTLS

/// One connection's TLS state: the OpenSSL session on the socket and what
/// it waits for. Loop-confined, like the `Connection` that owns it.
final class TLSSession {
    let pointer: OpaquePointer
    /// The context that made it, kept alive for the session's callbacks.
    let context: TLSContext
    /// A read stopped because OpenSSL must write first (handshake output, say).
    var readWantsWritable = false
    /// A write stopped because OpenSSL must read first (a TLS 1.3 key update).
    var writeWantsReadable = false
    /// A read of what OpenSSL holds is queued for the next iteration (see `Connection.readTLS`).
    var rereadScheduled = false

    init(pointer: OpaquePointer, context: TLSContext) {
        self.pointer = pointer
        self.context = context
    }

    /// Sends close_notify when the handshake was done, and frees the session. Call before closing the socket.
    func end() { strata_tls_session_free(pointer) }

    var isEstablished: Bool { strata_tls_established(pointer) == 1 }

    /// Whether bytes wait inside OpenSSL, read from the socket but not yet
    /// taken: no socket event will announce them.
    var holdsInput: Bool { strata_tls_pending(pointer) > 0 }

    /// The reason of the failure just reported, with the queue cleared.
    func failure() -> TLSError {
        var buffer = [CChar](repeating: 0, count: 256)
        let kind = strata_tls_error(pointer, &buffer, buffer.count)
        return TLSError(decodeC(buffer), isPlaintextHTTP: kind == Int32(STRATA_TLS_REASON_PLAINTEXT_HTTP))
    }
}

/// What a TLS session negotiated, for logs and tests.
public struct TLSFacts: Sendable, Equatable {
    /// "TLSv1.3" or "TLSv1.2".
    public var version: String
    /// The protocol agreed by ALPN, empty when none.
    public var alpn: String
    /// Whether an earlier session was resumed (no full handshake).
    public var resumed: Bool
    /// The common name of the peer's verified certificate, empty when none.
    public var peerName: String

    init(_ session: TLSSession) {
        version = String(cString: strata_tls_protocol(session.pointer))
        var buffer = [CChar](repeating: 0, count: 256)
        strata_tls_alpn(session.pointer, &buffer, buffer.count)
        alpn = decodeC(buffer)
        resumed = strata_tls_resumed(session.pointer) == 1
        buffer = [CChar](repeating: 0, count: 256)
        strata_tls_peer_name(session.pointer, &buffer, buffer.count)
        peerName = decodeC(buffer)
    }
}
