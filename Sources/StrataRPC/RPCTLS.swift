import StrataIO

/// TLS between the tiers, from `STRATA_RPC_TLS_CERT`, `_KEY` and `_CA`.
///
/// Every tier gets the same three: its own certificate and key, and the CA
/// that signed every tier's certificate. A tier then serves RPC over TLS and
/// dials its peers over TLS, and with the CA set both ends verify each
/// other (mutual TLS): a server accepts only clients whose certificate the
/// CA signed, and a client checks that the server's certificate is for the
/// host name or address it dialled. The HMAC handshake with
/// `STRATA_RPC_SECRET` still runs inside the tunnel. A plaintext peer never
/// gets through: its first bytes fail the TLS handshake.
public struct RPCTLS: Sendable {
    /// What the RPC listener serves.
    public let server: TLSServerCertificates
    /// What connections to peers trust and present.
    public let client: TLSContext

    /// The ALPN name both ends insist on, so no HTTP client or other TLS
    /// service gets mistaken for a tier.
    static let alpn = "strata-rpc"

    /// The environment variables, for messages.
    public static let certificateVariable = "STRATA_RPC_TLS_CERT"
    public static let keyVariable = "STRATA_RPC_TLS_KEY"
    public static let authorityVariable = "STRATA_RPC_TLS_CA"

    /// The settings in `environment`, nil when none is set (plaintext RPC, as
    /// `strata up` runs on loopback); a partial set is an error naming what is missing.
    public static func load(from environment: [String: String]) throws(TLSError) -> RPCTLS? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let certificate = value(certificateVariable), key = value(keyVariable), authority = value(authorityVariable)
        guard certificate != nil || key != nil || authority != nil else { return nil }
        guard let certificate, let key else {
            throw TLSError("RPC over TLS needs both \(certificateVariable) and \(keyVariable) (and \(authorityVariable) for mutual TLS)")
        }
        let server = try TLSServerCertificates(
            [TLSServerCertificates.Pair(certificate: certificate, key: key)], alpn: [alpn], clientCA: authority)
        let client = try TLSContext.client(trusting: authority, certificate: certificate, key: key, alpn: [alpn])
        return RPCTLS(server: server, client: client)
    }
}
