import CStrataTLS

/// An OpenSSL context: the certificate, key and settings that sessions are
/// made from. Immutable once made, and shared by every loop (OpenSSL locks
/// its session cache), so a session resumes whichever loop it lands on.
///
/// Settings are fixed: TLS 1.2 and 1.3 only, Mozilla "intermediate" ciphers
/// with ECDHE only, server preference for 1.2, no renegotiation, no compression.
public final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { strata_tls_context_free(pointer) }

    /// A server context for the PEM `certificate` (chain) and `key`.
    ///
    /// - Parameters:
    ///   - alpn: protocols to agree on, preferred first; a client offering none of them is refused.
    ///   - ocspResponse: a DER OCSP response file to staple, if any.
    ///   - clientCA: when set, clients must present a certificate this CA signed (mutual TLS).
    public static func server(
        certificate: String, key: String, alpn: [String] = [], ocspResponse: String? = nil, clientCA: String? = nil
    ) throws(TLSError) -> TLSContext {
        var error = [CChar](repeating: 0, count: 512)
        let wire = alpnWireFormat(alpn)
        guard let made = strata_tls_server_context(certificate, key, ocspResponse, wire, wire.count, &error, error.count) else {
            throw TLSError(decodeC(error))
        }
        let context = TLSContext(made)
        if let clientCA, strata_tls_require_client_certificate(made, clientCA, &error, error.count) != 1 {
            throw TLSError(decodeC(error))
        }
        return context
    }

    /// A client context that verifies servers against `trusting` (a PEM CA
    /// file; the system's store when nil) and, with `certificate` and `key`,
    /// presents them (mutual TLS).
    public static func client(
        trusting ca: String?, certificate: String? = nil, key: String? = nil, alpn: [String] = []
    ) throws(TLSError) -> TLSContext {
        var error = [CChar](repeating: 0, count: 512)
        let wire = alpnWireFormat(alpn)
        guard let made = strata_tls_client_context(ca, certificate, key, wire, wire.count, &error, error.count) else {
            throw TLSError(decodeC(error))
        }
        return TLSContext(made)
    }

    /// The host names the certificate is for: its common name and DNS alternative names.
    var names: [String] {
        var buffer = [CChar](repeating: 0, count: 8192)
        guard strata_tls_context_names(pointer, &buffer, buffer.count) > 0 else { return [] }
        return decodeC(buffer).split(separator: "\n").map { $0.lowercased() }
    }

    private static func alpnWireFormat(_ protocols: [String]) -> [UInt8] {
        protocols.flatMap { name in [UInt8(name.utf8.count)] + Array(name.utf8) }
    }
}

/// A NUL-terminated C buffer as a String.
func decodeC(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
