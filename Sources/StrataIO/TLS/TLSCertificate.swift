import CStrataTLS

/// Certificates made here, with libcrypto: the development certificate
/// `strata up --https` serves, and a private CA with certificates for the
/// tiers' mutual TLS.
public enum TLSCertificate {
    /// Writes a new P-256 key (mode 0600) and a certificate for `names`
    /// (host names or IP addresses; the first is also the common name),
    /// valid for `days`: self-signed, or signed by `authority`'s key.
    /// `isAuthority` makes a CA certificate (it can sign, and serves no name).
    public static func create(
        certificate: String, key: String, names: [String], days: Int = 365, isAuthority: Bool = false,
        signedBy authority: (certificate: String, key: String)? = nil
    ) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 512)
        let made = strata_tls_make_certificate(
            certificate, key, names.joined(separator: ","), Int32(days), isAuthority ? 1 : 0, authority?.certificate, authority?.key,
            &error, error.count)
        guard made == 1 else { throw TLSError(decodeC(error)) }
    }

    /// The SHA-256 fingerprint of the certificate in `file` as colon-separated
    /// hex (what browsers show), or nil when it cannot be read.
    public static func fingerprint(of file: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 100)
        guard strata_tls_fingerprint(file, &buffer, buffer.count) == 1 else { return nil }
        return decodeC(buffer)
    }
}
