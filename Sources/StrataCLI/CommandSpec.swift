import StrataCore

/// One flag a command accepts, with the `STRATA_*` environment variable that
/// can set it instead (a flag on the command line wins over the environment).
public struct OptionSpec: Sendable {
    /// Long name without dashes, for example `port` for `--port`.
    public let name: String
    /// Environment variable that supplies the value when the flag is absent.
    public let environment: String?
    /// Placeholder shown in help, for example `N`; nil for a boolean switch.
    public let valueName: String?
    /// Value used when neither the flag nor the variable is given.
    public let defaultValue: String?
    /// One line of help.
    public let help: String

    /// Declares an option that takes a value.
    public init(_ name: String, env: String? = nil, value: String = "VALUE", default defaultValue: String? = nil, help: String) {
        self.name = name
        self.environment = env
        self.valueName = value
        self.defaultValue = defaultValue
        self.help = help
    }

    /// Declares a boolean switch such as `--dry-run`.
    public init(switch name: String, env: String? = nil, help: String) {
        self.name = name
        self.environment = env
        self.valueName = nil
        self.defaultValue = nil
        self.help = help
    }
}

/// A command's usage: what `--help` prints and what the parser accepts.
public struct CommandSpec: Sendable {
    /// Full command name as typed, for example `strata-data migrate up`.
    public let name: String
    /// One-line description.
    public let summary: String
    /// Subcommands with a one-line description each (shown in help only).
    public let subcommands: [(name: String, summary: String)]
    /// Options the command accepts.
    public let options: [OptionSpec]
    /// Names of positional arguments, shown in the usage line.
    public let arguments: [String]
    /// Lines printed after the options (for example environment-only settings).
    public let notes: [String]

    /// Declares a command.
    public init(
        name: String, summary: String, subcommands: [(name: String, summary: String)] = [],
        options: [OptionSpec] = [], arguments: [String] = [], notes: [String] = []
    ) {
        self.name = name
        self.summary = summary
        self.subcommands = subcommands
        self.options = options
        self.arguments = arguments
        self.notes = notes
    }

    /// The text `--help` prints.
    public var help: String {
        var usage = "usage: \(name)"
        if !subcommands.isEmpty { usage += " <command>" }
        if !options.isEmpty { usage += " [options]" }
        for argument in arguments { usage += " \(argument)" }
        var out = "\(usage)\n\n\(summary)\n"
        if !subcommands.isEmpty {
            out += "\ncommands:\n"
            let width = subcommands.map(\.name.count).max() ?? 0
            for command in subcommands {
                out += "  \(command.name.padding(to: width))  \(command.summary)\n"
            }
        }
        var rows: [(String, String)] = options.map { option in
            var left = "--\(option.name)"
            if let valueName = option.valueName { left += " \(valueName)" }
            var right = option.help
            if let env = option.environment { right += " [env \(env)]" }
            if let value = option.defaultValue { right += " (default \(value))" }
            return (left, right)
        }
        rows.append(("--help", "show this help"))
        out += "\noptions:\n"
        let width = rows.map(\.0.count).max() ?? 0
        for (left, right) in rows {
            out += "  \(left.padding(to: width))  \(right)\n"
        }
        if !notes.isEmpty {
            out += "\n" + notes.joined(separator: "\n") + "\n"
        }
        return out
    }

    /// Parses `arguments` (without the command words) against this spec.
    ///
    /// Accepts `--name value`, `--name=value` and switches; values missing from
    /// the command line come from `environment`, then from the option's default.
    public func parse(_ arguments: [String], environment: [String: String]) throws(UsageError) -> ParsedOptions {
        var parsed = ParsedOptions()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" {
                parsed.helpRequested = true
                continue
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                if argument.hasPrefix("-") && argument != "-" {
                    throw UsageError(command: name, message: "unknown option '\(argument)'")
                }
                parsed.positional.append(argument)
                continue
            }
            var key = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = key.firstIndex(of: "=") {
                inlineValue = String(key[key.index(after: equals)...])
                key = String(key[..<equals])
            }
            guard let option = options.first(where: { $0.name == key }) else {
                throw UsageError(command: name, message: "unknown option '--\(key)'")
            }
            if option.valueName == nil {
                if inlineValue != nil {
                    throw UsageError(command: name, message: "option '--\(key)' takes no value")
                }
                parsed.values[key] = "true"
            } else if let inlineValue {
                parsed.values[key] = inlineValue
            } else {
                guard index < arguments.count else {
                    throw UsageError(command: name, message: "option '--\(key)' needs a value")
                }
                parsed.values[key] = arguments[index]
                index += 1
            }
        }
        for option in options where parsed.values[option.name] == nil {
            if let env = option.environment, let value = environment[env], !value.isEmpty {
                parsed.values[option.name] = value
                parsed.sources[option.name] = env
            } else if let value = option.defaultValue {
                parsed.values[option.name] = value
            }
        }
        parsed.command = name
        return parsed
    }
}

/// Options parsed from the command line and environment.
public struct ParsedOptions: Sendable {
    /// Values by option name; switches that are on hold `"true"`.
    public var values: [String: String] = [:]
    /// Arguments that were not options.
    public var positional: [String] = []
    /// Whether `--help` or `-h` was given.
    public var helpRequested = false
    var sources: [String: String] = [:]
    var command = ""

    /// Creates an empty set of options.
    public init() {}

    /// The value of `name`, if any.
    public func string(_ name: String) -> String? { values[name] }

    /// Whether the switch `name` is on.
    public func flag(_ name: String) -> Bool {
        guard let value = values[name] else { return false }
        return ["1", "true", "yes", "on"].contains(value.lowercased())
    }

    /// The value of `name` as an integer in `range`, or a usage error naming the option.
    public func int(_ name: String, in range: ClosedRange<Int> = Int.min...Int.max) throws(UsageError) -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            let origin = sources[name].map { "\($0)" } ?? "--\(name)"
            throw UsageError(
                command: command, message: "\(origin) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return value
    }
}

/// A mistake in how a command was called; printed as one line with a pointer to `--help`.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    /// The command that was called.
    public let command: String
    /// What was wrong.
    public let message: String

    /// Creates a usage error for `command`.
    public init(command: String, message: String) {
        self.command = command
        self.message = message
    }

    public var description: String { "\(command): \(message) (see '\(command) --help')" }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

extension OptionSpec {
    /// `--loops N` / `STRATA_EVENT_LOOPS`, shared by every tier.
    public static let eventLoops = OptionSpec("loops", env: "STRATA_EVENT_LOOPS", value: "N", help: "event loop threads (default: one per core)")
    /// `--log-format logfmt|json` / `STRATA_LOG_FORMAT`, shared by every tier.
    public static let logFormat = OptionSpec(
        "log-format", env: "STRATA_LOG_FORMAT", value: "FORMAT", default: "logfmt",
        help: "logfmt (key=value lines) or json (one object per line, the same field names)")
    /// `--log-level LEVEL` / `STRATA_LOG_LEVEL`, shared by every tool.
    public static let logLevel = OptionSpec(
        "log-level", env: "STRATA_LOG_LEVEL", value: "LEVEL", default: "info", help: "debug, info, warning or error")
}

extension ParsedOptions {
    /// The logger `--log-level` and `--log-format` ask for, labelled `label`;
    /// sets the process's log style, so call it before anything logs.
    public func logger(label: String, command: String) throws(UsageError) -> Logger {
        guard let level = Logger.Level(name: string("log-level") ?? "info") else {
            throw UsageError(command: command, message: "--log-level must be debug, info, warning or error")
        }
        guard let style = LogStyle(name: string("log-format") ?? "logfmt") else {
            throw UsageError(command: command, message: "--log-format must be logfmt or json")
        }
        LogFormat.style = style
        return Logger(label: label, level: level)
    }

    /// A `--slow-...-ms` option as a duration, as PostgreSQL's
    /// `log_min_duration_statement` reads: 0 logs everything, -1 nothing (nil).
    public func threshold(_ name: String) throws(UsageError) -> Duration? {
        let millis = try int(name, in: -1...3_600_000) ?? -1
        return millis >= 0 ? .milliseconds(millis) : nil
    }
}
