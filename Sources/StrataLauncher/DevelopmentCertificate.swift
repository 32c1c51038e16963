import Foundation
import StrataCLI
import StrataCore
import StrataIO

/// The certificate `strata up --https` serves: self-signed for localhost,
/// 127.0.0.1 and ::1, made with libcrypto the first time and kept, so a
/// browser told to trust it once keeps trusting it (README: "HTTPS on your machine").
struct DevelopmentCertificate: Sendable {
    let certificate: String
    let key: String
    let fingerprint: String

    /// Days a new certificate is valid; it is made again in its last month.
    static let validDays = 365

    /// The certificate in `folder`, made first if missing or about to expire.
    static func ensure(in folder: String) throws -> DevelopmentCertificate {
        let certificate = folder + "/localhost.crt"
        let key = folder + "/localhost.key"
        let files = FileManager.default
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let made = (try? files.attributesOfItem(atPath: certificate)[.modificationDate] as? Date) ?? nil
        let stale = made.map { Date().timeIntervalSince($0) > Double(validDays - 30) * 86_400 } ?? true
        if stale || !files.fileExists(atPath: key) {
            do {
                try TLSCertificate.create(certificate: certificate, key: key, names: ["localhost", "127.0.0.1", "::1"], days: validDays)
            } catch {
                throw StartupError("could not make the development certificate in \(folder): \(error.message)")
            }
        }
        guard let fingerprint = TLSCertificate.fingerprint(of: certificate) else {
            throw StartupError("the development certificate \(certificate) cannot be read; delete \(folder) to make a new one")
        }
        return DevelopmentCertificate(certificate: certificate, key: key, fingerprint: fingerprint)
    }
}
