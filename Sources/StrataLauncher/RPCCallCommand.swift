import Foundation
import StrataCLI
import StrataCore
import StrataIO
import StrataRPC

/// `strata rpc call ENDPOINT METHOD [JSON]`: calls one method on a running
/// tier, for operators. Authenticates with `STRATA_RPC_SECRET`, sends the
/// argument as JSON and prints the JSON result, or the error code and message.
enum RPCCallCommand {
    static let group = CommandSpec(
        name: "strata rpc", summary: "Talk to a running tier over its RPC endpoint.",
        subcommands: [("call", "call one method and print the JSON answer")])

    static let spec = CommandSpec(
        name: "strata rpc call",
        summary: "Call a method on a running tier and print its JSON answer. Built into every tier: health.check, rpc.methods, rpc.metrics.",
        options: [
            OptionSpec("timeout", env: "STRATA_RPC_TIMEOUT", value: "SECONDS", default: "10", help: "how long to wait for the answer")
        ],
        arguments: ["ENDPOINT", "METHOD", "['{json}']"],
        notes: [
            "environment:\n  STRATA_RPC_SECRET  the secret the tiers were started with (required)\n  STRATA_RPC_TLS_CERT, STRATA_RPC_TLS_KEY  this tier's certificate and key: RPC over TLS (see ARCHITECTURE.md, \"Trust between the tiers\")\n  STRATA_RPC_TLS_CA  the CA that signed every tier's certificate: peers must present one (mutual TLS)"
        ])

    static func run(_ arguments: [String], environment: [String: String]) async throws -> Int32 {
        guard let options = try spec.parseOrShowHelp(arguments, environment: environment) else { return 0 }
        let positional = options.positional
        guard (2...3).contains(positional.count) else {
            throw UsageError(command: spec.name, message: "expected ENDPOINT METHOD ['{json}'], got \(positional.count) arguments")
        }
        let address: SocketAddress
        do {
            address = try SocketAddress(parsing: positional[0])
        } catch {
            throw UsageError(command: spec.name, message: "'\(positional[0])' is not an endpoint (host:port or unix:/path)")
        }
        let argument = positional.count == 3 ? positional[2] : "{}"
        guard (try? JSONSerialization.jsonObject(with: Data(argument.utf8), options: [.fragmentsAllowed])) != nil else {
            throw UsageError(command: spec.name, message: "the argument is not valid JSON: \(argument)")
        }
        let seconds = try options.int("timeout", in: 1...3600) ?? 10
        let secret = try RPCSecret.load(from: environment)
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let client = RPCClient(
            address: address, group: group, callerName: "operator", secret: secret, tls: try RPCTLS.load(from: environment))
        defer { client.close() }
        do {
            let reply = try await client.call(positional[1], body: Array(argument.utf8), encoding: .json, timeout: .seconds(seconds))
            print(String(decoding: reply, as: UTF8.self))
            return 0
        } catch {
            Terminal.printError("\(spec.name): \(error.code): \(error.message)")
            for (key, value) in error.details.sorted(by: { $0.key < $1.key }) { Terminal.printError("  \(key): \(value)") }
            return 1
        }
    }
}
