import Foundation

/// A set of compiled templates addressed by name (`guestbook/index`), which
/// resolve partials among themselves.
public struct TemplateLibrary: Sendable {
    private var templates: [String: Template] = [:]

    /// Creates an empty library.
    public init() {}

    /// Compiles every source; throws the first error, naming template, line and column.
    ///
    /// In `strict` mode a partial or parent that names no template in the
    /// library is an error too (at render time it would silently show nothing).
    public init(sources: [String: String], strict: Bool = false) throws(TemplateError) {
        for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
            templates[name] = try Template(name: name, source: source)
        }
        if strict, let first = unresolvedReferences().first { throw first }
    }

    /// Whether a template named `name` is loaded.
    public func contains(_ name: String) -> Bool { templates[name] != nil }

    /// Every partial and parent tag (with a fixed name) that names no template
    /// in the library, in template order.
    public func unresolvedReferences() -> [TemplateError] {
        var problems: [TemplateError] = []
        for name in templates.keys.sorted() {
            collectUnresolved(templates[name]!.nodes, in: name, into: &problems)
        }
        return problems
    }

    private func collectUnresolved(_ nodes: [Node], in template: String, into problems: inout [TemplateError]) {
        for node in nodes {
            switch node {
            case .partial(let name, let dynamic, _, let line, let column) where !dynamic && templates[name] == nil:
                problems.append(TemplateError(template: template, line: line, column: column, message: "unknown partial '\(name)'"))
            case .parent(let name, let dynamic, let overrides, _, let line, let column):
                if !dynamic && templates[name] == nil {
                    problems.append(TemplateError(template: template, line: line, column: column, message: "unknown parent template '\(name)'"))
                }
                for content in overrides.values { collectUnresolved(content, in: template, into: &problems) }
            case .section(_, let children, _, _, _), .block(_, _, let children):
                collectUnresolved(children, in: template, into: &problems)
            default:
                break
            }
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
