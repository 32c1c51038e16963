import StrataCLI
import StrataHTTP
import StrataIO

/// `strata-web cache purge KEY`: drops entries from a running web tier's
/// HTTP cache through its health port (the internal network only).
enum CacheCommand {
    static let purge = CommandSpec(
        name: "strata-web cache purge",
        summary:
            "Drop the cached answers for KEY (a path with its query, such as /legacy/page?id=1), or every key starting with PREFIX when given as PREFIX*.",
        options: [WebCommand.healthOption],
        arguments: ["KEY"],
        notes: ["exit status: 0 purged (the count is printed); 1 the tier refused or did not answer; 64 usage mistake"])

    static func run(_ arguments: [String], environment: [String: String]) async -> Int32 {
        let group = CommandSpec(name: "strata-web cache", summary: "Manage a running web tier's HTTP cache.", subcommands: [("purge", purge.summary)])
        return await group.run(
            arguments,
            [
                "purge": { arguments in
                    guard let options = try purge.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    guard options.positional.count == 1, let key = options.positional.first, key.hasPrefix("/") else {
                        throw UsageError(command: purge.name, message: "give exactly one KEY starting with /")
                    }
                    guard let health = options.string("health") else {
                        throw UsageError(command: purge.name, message: "--health is required: the web tier's health address")
                    }
                    let address: SocketAddress
                    do { address = try SocketAddress(parsing: health) } catch {
                        throw UsageError(command: purge.name, message: "--health: \(error)")
                    }
                    let result = HealthProbe.check(address, path: "/cache/purge?key=" + FormDecoding.percentEncode(key), method: "POST")
                    guard result.passed else {
                        Terminal.printError("strata-web cache purge: \(result.message)")
                        return 1
                    }
                    Terminal.printOut(result.message + "\n")
                    return 0
                }
            ])
    }
}
