extension CommandSpec {
    /// Runs the subcommand the first argument names, so every Strata tool
    /// treats help and mistakes alike: no arguments or `--help` print this
    /// command's help; a usage mistake prints one line and exits 64; any other
    /// error prints `tool: message` and exits 1.
    public func run(
        _ arguments: [String], _ subcommands: [String: ([String]) async throws -> Int32]
    ) async -> Int32 {
        do {
            guard let first = arguments.first, !["--help", "-h", "help"].contains(first) else {
                Terminal.printOut(help)
                return arguments.isEmpty ? 64 : 0
            }
            guard let subcommand = subcommands[first] else {
                throw UsageError(command: name, message: "unknown command '\(first)'")
            }
            return try await subcommand(Array(arguments.dropFirst()))
        } catch let error as UsageError {
            Terminal.printError(error.description)
            return 64
        } catch {
            Terminal.printError("\(name): \(error)")
            return 1
        }
    }

    /// Parses `arguments`; prints the help and returns nil when `--help` was given.
    public func parseOrShowHelp(_ arguments: [String], environment: [String: String]) throws(UsageError) -> ParsedOptions? {
        let options = try parse(arguments, environment: environment)
        guard !options.helpRequested else {
            Terminal.printOut(help)
            return nil
        }
        return options
    }
}
