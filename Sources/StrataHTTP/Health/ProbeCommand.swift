import StrataCLI
import StrataIO

/// `strata-app probe`, `strata-data probe`, `strata-web probe`: ask a running
/// tier whether it is live or ready, from inside its container. Exit status 0
/// means yes; 1 prints the reason.
public enum ProbeCommand {
    /// The command's spec for `tool`, whose health address comes from
    /// `address` (the same options and variables the tier's `serve` reads).
    public static func spec(tool: String, address: [OptionSpec]) -> CommandSpec {
        CommandSpec(
            name: "\(tool) probe", summary: "Ask the running tier for its readiness (or, with --live, liveness); exit 0 when it answers 200.",
            options: address + [OptionSpec(switch: "live", help: "ask /healthz (the process runs) instead of /readyz (it takes traffic)")],
            notes: ["exit status: 0 ready (or live); 1 not, with the reason; 64 usage mistake"])
    }

    /// Probes `address` (`option` names where it came from, for errors),
    /// prints the answer, and returns the exit status.
    public static func run(_ options: ParsedOptions, tool: String, address text: String?, option: String) throws -> Int32 {
        guard let text, !text.isEmpty else {
            throw UsageError(command: "\(tool) probe", message: "no health address: give \(option) as the tier was given it")
        }
        let address: SocketAddress
        do { address = try SocketAddress(parsing: text) } catch {
            throw UsageError(command: "\(tool) probe", message: "\(option): \(error)")
        }
        let result = HealthProbe.check(address, path: options.flag("live") ? "/healthz" : "/readyz")
        if result.passed {
            Terminal.printOut(result.message + "\n")
            return 0
        }
        Terminal.printError("\(tool) probe: \(result.message)")
        return 1
    }
}
