import Foundation
import StrataCLI
import StrataIO

/// `strata tls init DIR --names data,app,web`: a private CA and a certificate
/// for each tier, for RPC over mutual TLS where the tiers run apart
/// (docker-compose runs it once into a shared volume).
enum TLSInitCommand {
    static let group = CommandSpec(
        name: "strata tls", summary: "Certificates for TLS between the tiers.",
        subcommands: [("init", "make a private CA and a certificate for each tier")])

    static let spec = CommandSpec(
        name: "strata tls init",
        summary:
            "Make DIR/ca.crt (with its key DIR/ca.key) and DIR/NAME.crt and DIR/NAME.key for each name, signed by that CA: give each tier STRATA_RPC_TLS_CERT=DIR/NAME.crt, STRATA_RPC_TLS_KEY=DIR/NAME.key and STRATA_RPC_TLS_CA=DIR/ca.crt. Files already there are kept.",
        options: [
            OptionSpec(
                "names", env: "STRATA_TLS_NAMES", value: "NAMES", default: "data,app,web",
                help: "the tiers' host names (each certificate is also valid for localhost and 127.0.0.1)"),
            OptionSpec("days", env: "STRATA_TLS_DAYS", value: "N", default: "825", help: "how long the certificates are valid"),
        ],
        arguments: ["DIR"])

    static func run(_ arguments: [String], environment: [String: String]) async throws -> Int32 {
        guard let options = try spec.parseOrShowHelp(arguments, environment: environment) else { return 0 }
        guard options.positional.count == 1 else {
            throw UsageError(command: spec.name, message: "expected one folder, got \(options.positional.count)")
        }
        let folder = options.positional[0]
        let names = (options.string("names") ?? "data,app,web").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let days = try options.int("days", in: 1...3650) ?? 825
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let authority = (certificate: folder + "/ca.crt", key: folder + "/ca.key")
        let files = FileManager.default
        if !files.fileExists(atPath: authority.certificate) {
            try TLSCertificate.create(
                certificate: authority.certificate, key: authority.key, names: ["Strata tiers CA"], days: days, isAuthority: true)
            Terminal.printOut("made \(authority.certificate), SHA-256 \(TLSCertificate.fingerprint(of: authority.certificate) ?? "?")")
        }
        for name in names where !name.isEmpty && !files.fileExists(atPath: "\(folder)/\(name).crt") {
            try TLSCertificate.create(
                certificate: "\(folder)/\(name).crt", key: "\(folder)/\(name).key", names: [name, "localhost", "127.0.0.1"], days: days,
                signedBy: authority)
            Terminal.printOut("made \(folder)/\(name).crt")
        }
        return 0
    }
}
