/// Renders compiled templates against a context stack into a byte buffer.
struct TemplateRenderer {
    let library: TemplateLibrary
    private var stack: [TemplateValue]
    private var depth = 0
    /// Indentation of the standalone partials and blocks being rendered; it is
    /// put before each line of their template text (not inside interpolated values).
    private var indentation: [UInt8] = []
    /// A template line ended and the next output must start with `indentation`.
    private var pendingIndent = false
    /// Block overrides of the parents being rendered, outermost first: the
    /// outermost template's substitution wins.
    private var overrides: [[String: [Node]]] = []

    /// Partials nested deeper than this are refused (a partial including itself forever).
    static let maxDepth = 64

    init(library: TemplateLibrary, stack: [TemplateValue]) {
        self.library = library
        self.stack = stack
    }

    mutating func render(_ nodes: [Node], template: String, into out: inout [UInt8]) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let bytes):
                appendTemplateText(bytes, to: &out)
            case .variable(let path, let escaped, _, _):
                guard let value = lookup(path) else { continue }
                if pendingIndent {
                    out.append(contentsOf: indentation)
                    pendingIndent = false
                }
                switch value {
                case .int(let number):
                    // Digits never need escaping; no String made for them.
                    Self.appendDecimal(number, to: &out)
                case .lambda(let lambda):
                    var expanded: [UInt8] = []
                    try renderLambdaResult(lambda.body(""), delimiters: .standard, template: template, into: &expanded)
                    if escaped {
                        HTMLEscaping.append(String(decoding: expanded, as: UTF8.self), to: &out)
                    } else {
                        out.append(contentsOf: expanded)
                    }
                case .string(let text) where escaped:
                    HTMLEscaping.append(text, to: &out)
                default:
                    if escaped {
                        HTMLEscaping.append(value.text, to: &out)
                    } else {
                        out.append(contentsOf: value.text.utf8)
                    }
                }
            case .section(let path, let children, let inverted, let raw, let delimiters):
                let value = lookup(path) ?? .null
                if case .lambda(let lambda) = value {
                    if !inverted { try renderLambdaResult(lambda.body(raw), delimiters: delimiters, template: template, into: &out) }
                    continue
                }
                if inverted {
                    if !value.isTruthy { try render(children, template: template, into: &out) }
                    continue
                }
                guard value.isTruthy else { continue }
                if case .array(let items) = value {
                    for item in items {
                        stack.append(item)
                        try render(children, template: template, into: &out)
                        stack.removeLast()
                    }
                } else {
                    stack.append(value)
                    try render(children, template: template, into: &out)
                    stack.removeLast()
                }
            case .partial(let name, let dynamic, let indent, let line, let column):
                try include(name, dynamic: dynamic, indent: indent, overrides: nil, template: template, line: line, column: column, into: &out)
            case .parent(let name, let dynamic, let blocks, let indent, let line, let column):
                try include(name, dynamic: dynamic, indent: indent, overrides: blocks, template: template, line: line, column: column, into: &out)
            case .block(let name, let indent, let children):
                let content = overrides.first { $0[name] != nil }?[name] ?? children
                // A block's override may contain the same block; bound the expansion.
                guard depth < Self.maxDepth else {
                    throw TemplateError(
                        template: template, line: 0, column: 0, message: "block '\(name)' expands into itself more than \(Self.maxDepth) times")
                }
                depth += 1
                defer { depth -= 1 }
                try indented(indent, out: &out) { (renderer: inout TemplateRenderer, out: inout [UInt8]) throws(TemplateError) in
                    try renderer.render(content, template: template, into: &out)
                }
            }
        }
    }

    static func appendDecimal(_ number: Int64, to out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, no allocation
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
        }
    }

    /// Compiles and renders a lambda's returned text in the current context.
    private mutating func renderLambdaResult(
        _ source: String, delimiters: Delimiters, template: String, into out: inout [UInt8]
    ) throws(TemplateError) {
        guard depth < Self.maxDepth else {
            throw TemplateError(template: template, line: 0, column: 0, message: "lambdas nested more than \(Self.maxDepth) deep")
        }
        let compiled = try Template(name: template + " (lambda result)", source: source, delimiters: delimiters)
        depth += 1
        defer { depth -= 1 }
        try render(compiled.nodes, template: compiled.name, into: &out)
    }

    /// Renders a partial or parent. Unknown names render as nothing, as the
    /// spec requires; `TemplateLibrary` checks can report them ahead of time.
    private mutating func include(
        _ name: String, dynamic: Bool, indent: String, overrides blocks: [String: [Node]]?,
        template: String, line: Int, column: Int, into out: inout [UInt8]
    ) throws(TemplateError) {
        let resolved = dynamic ? (lookup(Self.path(name))?.text ?? "") : name
        guard let partial = library.template(named: resolved) else { return }
        guard depth < Self.maxDepth else {
            throw TemplateError(
                template: template, line: line, column: column,
                message: "partials nested more than \(Self.maxDepth) deep (does '\(resolved)' include itself?)")
        }
        depth += 1
        if let blocks { overrides.append(blocks) }
        defer {
            depth -= 1
            if blocks != nil { overrides.removeLast() }
        }
        try indented(indent, out: &out) { (renderer: inout TemplateRenderer, out: inout [UInt8]) throws(TemplateError) in
            try renderer.render(partial.nodes, template: partial.name, into: &out)
        }
    }

    /// Renders `body` with `indent` added before each of its template lines.
    private mutating func indented(
        _ indent: String, out: inout [UInt8],
        _ body: (inout TemplateRenderer, inout [UInt8]) throws(TemplateError) -> Void
    ) throws(TemplateError) {
        guard !indent.isEmpty else { return try body(&self, &out) }
        let outer = indentation
        indentation += Array(indent.utf8)
        pendingIndent = true
        defer {
            indentation = outer
            // The standalone line's own break was removed; a break the content
            // ended with starts the next outer line.
            pendingIndent = !outer.isEmpty && out.last == 10
        }
        try body(&self, &out)
    }

    private mutating func appendTemplateText(_ bytes: [UInt8], to out: inout [UInt8]) {
        guard !indentation.isEmpty else { return out.append(contentsOf: bytes) }
        for byte in bytes {
            if pendingIndent {
                out.append(contentsOf: indentation)
                pendingIndent = false
            }
            out.append(byte)
            if byte == 10 { pendingIndent = true }
        }
    }

    private static func path(_ name: String) -> [String] {
        name == "." ? [] : name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// Resolves a dotted name: the first part searches the context stack from
    /// the top; later parts look only inside what the first part found.
    private func lookup(_ path: [String]) -> TemplateValue? {
        guard let first = path.first else { return stack.last }
        var found: TemplateValue?
        for value in stack.reversed() {
            if let member = value[first] {
                found = member
                break
            }
        }
        for key in path.dropFirst() {
            guard let current = found else { return nil }
            found = current[key]
        }
        return found
    }
}

/// HTML escaping for `{{name}}` output.
public enum HTMLEscaping {
    /// Appends `text` with `& < > " '` replaced by entities.
    public static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            // Copy runs of ordinary bytes at once; most values have no special character at all.
            var runStart = 0
            for i in 0..<bytes.count {
                let entity: StaticString
                switch bytes[i] {
                case UInt8(ascii: "&"): entity = "&amp;"
                case UInt8(ascii: "<"): entity = "&lt;"
                case UInt8(ascii: ">"): entity = "&gt;"
                case UInt8(ascii: "\""): entity = "&quot;"
                case UInt8(ascii: "'"): entity = "&#39;"
                default: continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                out.append(contentsOf: UnsafeBufferPointer(start: entity.utf8Start, count: entity.utf8CodeUnitCount))
                runStart = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
    }

    /// `text` with HTML special characters escaped.
    public static func escape(_ text: String) -> String {
        var out: [UInt8] = []
        append(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
