import Foundation

/// A set of compiled templates addressed by name (`guestbook/index`), which
/// resolve partials among themselves.
public struct TemplateLibrary: Sendable {
    private var templates: [String: Template] = [:]

    /// Creates an empty library.
    public init() {}

    /// Compiles every source; throws the first error, naming template, line and column.
    public init(sources: [String: String]) throws(TemplateError) {
        for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
            templates[name] = try Template(name: name, source: source)
        }
    }

    /// Reads every `*.mustache` file below `directory`; names are paths relative to it without the extension.
    public static func sources(inDirectory directory: String) throws -> [String: String] {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw TemplateError(template: directory, line: 0, column: 0, message: "template folder cannot be read")
        }
        var sources: [String: String] = [:]
        for case let url as URL in walker where url.pathExtension == "mustache" {
            let relative = url.standardizedFileURL.path.dropFirst(root.path.count + 1)
            sources[String(relative.dropLast(".mustache".count))] = try String(contentsOf: url, encoding: .utf8)
        }
        return sources
    }

    /// The template called `name`, if loaded.
    public func template(named name: String) -> Template? { templates[name] }

    /// Names of all templates, sorted.
    public var names: [String] { templates.keys.sorted() }

    /// Adds or replaces a compiled template.
    public mutating func add(_ template: Template) { templates[template.name] = template }

    /// Renders template `name` with `value` as the context, appending to `out`.
    ///
    /// `globals` sits below `value` on the context stack: names the value
    /// does not have (the web tier's `assets`, `request_id`) are found there.
    public func render(_ name: String, _ value: TemplateValue, globals: TemplateValue = .null, into out: inout [UInt8]) throws(TemplateError) {
        guard let template = templates[name] else {
            throw TemplateError(template: name, line: 0, column: 0, message: "no template named '\(name)'")
        }
        var renderer = TemplateRenderer(library: self, stack: [globals, value])
        try renderer.render(template.nodes, template: name, into: &out)
    }

    /// Renders template `name` with `value` (and `globals` below it) and returns the bytes.
    public func render(_ name: String, _ value: TemplateValue, globals: TemplateValue = .null) throws(TemplateError) -> [UInt8] {
        var out: [UInt8] = []
        try render(name, value, globals: globals, into: &out)
        return out
    }
}
