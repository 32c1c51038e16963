import Foundation
import StrataCLI
import StrataCore
import StrataTemplates

/// `strata-web template render|check`: template tooling that needs no running stack.
enum TemplateCommand {
    static let render = CommandSpec(
        name: "strata-web template render",
        summary: "Print the rendering of FILE with the JSON in --data, exactly, with nothing added.",
        options: [
            OptionSpec("data", value: "JSON_FILE", help: "the context (default: an empty object)"),
            OptionSpec("partials", value: "DIR", help: "partials and parents named NAME resolve to DIR/NAME.mustache"),
        ],
        arguments: ["FILE"])

    static let check = CommandSpec(
        name: "strata-web template check", summary: "Compile every *.mustache file below DIR and report every error.",
        arguments: ["DIR"])

    static func run(_ arguments: [String], environment: [String: String]) async -> Int32 {
        let group = CommandSpec(
            name: "strata-web template", summary: "Check and render templates without starting the stack.",
            subcommands: [("render", render.summary), ("check", check.summary)])
        return await group.run(
            arguments,
            [
                "render": { arguments in
                    guard let options = try render.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return try runRender(options)
                },
                "check": { arguments in
                    guard let options = try check.parseOrShowHelp(arguments, environment: environment) else { return 0 }
                    return runCheck(options)
                },
            ])
    }

    static func runRender(_ options: ParsedOptions) throws -> Int32 {
        guard options.positional.count == 1, let file = options.positional.first else {
            throw UsageError(command: render.name, message: "give exactly one template FILE")
        }
        var sources: [String: String] = [:]
        if let folder = options.string("partials") {
            sources = try TemplateLibrary.sources(inDirectory: folder)
        }
        let name = "\u{0}main"  // cannot clash with a partial's name
        sources[name] = try readText(file)
        let data: TemplateValue
        if let dataFile = options.string("data") {
            do {
                data = try JSONDecoder().decode(TemplateValue.self, from: Data(readText(dataFile).utf8))
            } catch let error as TemplateError {
                throw error
            } catch {
                throw StartupError("\(dataFile): not valid JSON")
            }
        } else {
            data = .object([:])
        }
        let library: TemplateLibrary
        do {
            library = try TemplateLibrary(sources: sources)
        } catch {
            // Name the file the author edits, not the internal name.
            throw TemplateError(
                template: error.template == name ? file : error.template, line: error.line, column: error.column, message: error.message)
        }
        let bytes = try library.render(name, data)
        FileHandle.standardOutput.write(Data(bytes))
        return 0
    }

    static func runCheck(_ options: ParsedOptions) -> Int32 {
        guard options.positional.count == 1, let folder = options.positional.first else {
            Terminal.printError(UsageError(command: check.name, message: "give exactly one DIR").description)
            return 64
        }
        let sources: [String: String]
        do {
            sources = try TemplateLibrary.sources(inDirectory: folder)
        } catch {
            Terminal.printError("\(check.name): \(folder): \(error)")
            return 1
        }
        var failures = 0
        var compiled: [String: String] = [:]
        for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
            do {
                _ = try Template(name: name, source: source)
                compiled[name] = source
            } catch {
                failures += 1
                Terminal.printError("\(folder)/\(name).mustache:\(error.line):\(error.column): \(error.message)")
            }
        }
        // Then, among those that compile, partials and parents naming nothing in the folder.
        if let library = try? TemplateLibrary(sources: compiled) {
            for error in library.unresolvedReferences() {
                failures += 1
                Terminal.printError("\(folder)/\(error.template).mustache:\(error.line):\(error.column): \(error.message)")
            }
        }
        Terminal.printOut("\(sources.count) template(s), \(failures) error(s)\n")
        return failures == 0 ? 0 : 1
    }

    private static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw StartupError("\(path): cannot be read as UTF-8 text")
        }
        return text
    }
}
