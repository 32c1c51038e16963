import StrataCore

/// A compiled Mustache template: parsed once, rendered many times.
public struct Template: Sendable {
    /// The name the template was compiled under, used in error messages.
    public let name: String
    let nodes: [Node]

    /// Compiles `source`; throws a `TemplateError` with line and column for malformed input.
    public init(name: String, source: String) throws(TemplateError) {
        try self.init(name: name, source: source, delimiters: .standard)
    }

    /// Compiles `source` starting with `delimiters` (a section lambda's result
    /// is parsed with the delimiters in force where the section stands).
    init(name: String, source: String, delimiters: Delimiters) throws(TemplateError) {
        self.name = name
        var parser = TemplateParser(name: name, source: source, delimiters: delimiters)
        nodes = try parser.parse()
    }
}

/// The tag delimiters in force at a point of a template.
struct Delimiters: Sendable, Equatable {
    var open: String
    var close: String
    static let standard = Delimiters(open: "{{", close: "}}")
}

/// The compiled form: text is kept as bytes, so rendering only appends.
indirect enum Node: Sendable {
    case text([UInt8])
    case variable(path: [String], escaped: Bool, line: Int, column: Int)
    /// `{{#name}}` / `{{^name}}`; `raw` is the unrendered body and `delimiters`
    /// the ones in force, for lambdas.
    case section(path: [String], children: [Node], inverted: Bool, raw: String, delimiters: Delimiters)
    /// `{{>name}}`, or `{{>*key}}` (dynamic) where the context value `key` names the partial.
    case partial(name: String, dynamic: Bool, indent: String, line: Int, column: Int)
    /// `{{<name}}...{{/name}}`: render `name`, replacing its blocks with `overrides`.
    case parent(name: String, dynamic: Bool, overrides: [String: [Node]], indent: String, line: Int, column: Int)
    /// `{{$name}}default{{/name}}`: a slot a child template may fill.
    case block(name: String, indent: String, children: [Node])
}

/// Turns template source into nodes, applying the spec's standalone-line rule:
/// a line holding only one section, comment, partial or delimiter tag (and
/// whitespace) is removed from the output entirely.
struct TemplateParser {
    private enum TagKind: Equatable {
        case variable(escaped: Bool)
        case sectionOpen
        case invertedOpen
        case close
        case comment
        case partial
        case parentOpen
        case blockOpen
        case setDelimiters

        var canStandAlone: Bool {
            if case .variable = self { return false }
            return true
        }
    }

    private struct Tag {
        let kind: TagKind
        let name: String
        let line: Int
        let column: Int
        /// For a standalone partial or parent: the whitespace before it, applied to every line it renders.
        var indent = ""
        /// `{{>*key}}` / `{{<*key}}`: the name is looked up in the context.
        var dynamic = false
        /// Byte offsets of the whole tag in the source.
        var range = 0..<0
        var delimiters = Delimiters.standard
        /// The tag stood on a line of its own, which was removed from the output.
        var ownLine = false
    }

    private enum Token {
        case text([UInt8])
        case newline([UInt8])
        case tag(Tag)
    }

    let name: String
    private let source: [UInt8]
    private var open: [UInt8] = Array("{{".utf8)
    private var close: [UInt8] = Array("}}".utf8)

    init(name: String, source: String, delimiters: Delimiters = .standard) {
        self.name = name
        self.source = Array(source.utf8)
        open = Array(delimiters.open.utf8)
        close = Array(delimiters.close.utf8)
    }

    mutating func parse() throws(TemplateError) -> [Node] {
        let tokens = try tokenize()
        return try buildTree(applyStandalone(tokens))
    }

    // MARK: Tokens

    private mutating func tokenize() throws(TemplateError) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        var textStart = 0
        var line = 1
        var lineStart = 0
        func flushText(upTo end: Int) {
            if end > textStart { tokens.append(.text(Array(source[textStart..<end]))) }
        }
        while i < source.count {
            if source[i] == 10 {
                let newlineStart = i > 0 && source[i - 1] == 13 && i - 1 >= textStart ? i - 1 : i
                flushText(upTo: newlineStart)
                tokens.append(.newline(Array(source[newlineStart...i])))
                i += 1
                textStart = i
                line += 1
                lineStart = i
                continue
            }
            guard matches(open, at: i) else {
                i += 1
                continue
            }
            flushText(upTo: i)
            let column = i - lineStart + 1
            let (tag, end) = try readTag(at: i, line: line, column: column)
            if tag.kind == .setDelimiters { try setDelimiters(tag.name, line: line, column: column) }
            tokens.append(.tag(tag))
            // Tags may not span lines except comments; keep line numbers right for those.
            for byte in source[i..<end] where byte == 10 {
                line += 1
            }
            if let lastNewline = source[i..<end].lastIndex(of: 10) { lineStart = lastNewline + 1 }
            i = end
            textStart = i
        }
        flushText(upTo: source.count)
        return tokens
    }

    private func matches(_ delimiter: [UInt8], at index: Int) -> Bool {
        guard index + delimiter.count <= source.count else { return false }
        for (offset, byte) in delimiter.enumerated() where source[index + offset] != byte { return false }
        return true
    }

    private func find(_ delimiter: [UInt8], from index: Int) -> Int? {
        var i = index
        while i + delimiter.count <= source.count {
            if matches(delimiter, at: i) { return i }
            i += 1
        }
        return nil
    }

    private func readTag(at start: Int, line: Int, column: Int) throws(TemplateError) -> (Tag, Int) {
        var contentStart = start + open.count
        guard contentStart < source.count else {
            throw error(line, column, "unclosed tag: expected '\(String(decoding: close, as: UTF8.self))'")
        }
        let sigil = source[contentStart]
        let kind: TagKind
        var closing = close
        switch sigil {
        case UInt8(ascii: "#"): kind = .sectionOpen
        case UInt8(ascii: "^"): kind = .invertedOpen
        case UInt8(ascii: "/"): kind = .close
        case UInt8(ascii: "!"): kind = .comment
        case UInt8(ascii: ">"): kind = .partial
        case UInt8(ascii: "<"): kind = .parentOpen
        case UInt8(ascii: "$"): kind = .blockOpen
        case UInt8(ascii: "="): kind = .setDelimiters; closing = Array("=".utf8) + close
        case UInt8(ascii: "&"): kind = .variable(escaped: false)
        case UInt8(ascii: "{"): kind = .variable(escaped: false); closing = Array("}".utf8) + close
        default: kind = .variable(escaped: true)
        }
        if case .variable(escaped: true) = kind {} else { contentStart += 1 }
        guard let contentEnd = find(closing, from: contentStart) else {
            throw error(line, column, "unclosed tag: expected '\(String(decoding: closing, as: UTF8.self))'")
        }
        let raw = source[contentStart..<contentEnd]
        var name = String(decoding: raw, as: UTF8.self).trimmed()
        var dynamic = false
        if (kind == .partial || kind == .parentOpen), name.hasPrefix("*") {
            dynamic = true
            name = String(name.dropFirst()).trimmed()
        }
        if kind != .comment {
            if raw.contains(10) { throw error(line, column, "a tag may not span lines") }
            if kind != .setDelimiters && name.isEmpty { throw error(line, column, "empty tag name") }
            if kind != .setDelimiters && name.contains(where: { $0 == " " || $0 == "\t" }) {
                throw error(line, column, "tag name '\(name)' contains whitespace")
            }
        }
        var tag = Tag(kind: kind, name: name, line: line, column: column)
        tag.dynamic = dynamic
        tag.range = start..<(contentEnd + closing.count)
        tag.delimiters = Delimiters(open: String(decoding: open, as: UTF8.self), close: String(decoding: close, as: UTF8.self))
        return (tag, contentEnd + closing.count)
    }

    private mutating func setDelimiters(_ text: String, line: Int, column: Int) throws(TemplateError) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, !parts[0].contains("="), !parts[1].contains("=") else {
            throw error(line, column, "set-delimiter tag needs two delimiters separated by whitespace, like {{=<% %>=}}")
        }
        open = Array(parts[0].utf8)
        close = Array(parts[1].utf8)
    }

    // MARK: Standalone lines

    private func applyStandalone(_ tokens: [Token]) -> [Token] {
        var out: [Token] = []
        out.reserveCapacity(tokens.count)
        var lineTokens: [Token] = []
        func finishLine() {
            defer { lineTokens.removeAll(keepingCapacity: true) }
            var tagCount = 0
            var indent: [UInt8] = []
            var onlyWhitespace = true
            var seenTag = false
            for token in lineTokens {
                switch token {
                case .tag:
                    tagCount += 1
                    seenTag = true
                case .text(let bytes):
                    if !bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { onlyWhitespace = false }
                    if !seenTag { indent += bytes }
                case .newline:
                    break
                }
            }
            // One tag alone on its line is standalone. So is a line of parent and
            // block tags only (`{{<layout}}{{$body}}`, `{{$slot}}{{/slot}}`), as the
            // inheritance module requires.
            let tags = lineTokens.compactMap { token -> Tag? in
                if case .tag(let t) = token { return t }
                return nil
            }
            let inheritance =
                (tags.count > 1 || tags.contains { $0.kind == .parentOpen || $0.kind == .blockOpen })
                && tags.allSatisfy { $0.kind == .parentOpen || $0.kind == .blockOpen || $0.kind == .close }
            guard let tag = tags.first, onlyWhitespace, (tagCount == 1 && tag.kind.canStandAlone) || inheritance else {
                out.append(contentsOf: lineTokens)
                return
            }
            if tags.count == 2 && tags[0].kind == .blockOpen && tags[1].kind == .close {
                // An empty slot on its own line: what fills it is indented like
                // the slot, and the line break stays.
                var slot = tags[0]
                slot.indent = String(decoding: indent, as: UTF8.self)
                out.append(.tag(slot))
                out.append(.tag(tags[1]))
                out.append(contentsOf: lineTokens.filter { if case .newline = $0 { return true } else { return false } })
                return
            }
            if tags.count > 1 {
                var lineTags = tags
                lineTags[0].indent = String(decoding: indent, as: UTF8.self)
                for i in lineTags.indices { lineTags[i].ownLine = true }
                out.append(contentsOf: lineTags.map { .tag($0) })
                return
            }
            var standalone = tag
            standalone.indent = String(decoding: indent, as: UTF8.self)
            standalone.ownLine = true
            out.append(.tag(standalone))
        }
        for token in tokens {
            lineTokens.append(token)
            if case .newline = token { finishLine() }
        }
        if !lineTokens.isEmpty { finishLine() }
        return out
    }

    // MARK: Tree

    private func buildTree(_ tokens: [Token]) throws(TemplateError) -> [Node] {
        var stack: [(tag: Tag, nodes: [Node])] = [(Tag(kind: .sectionOpen, name: "", line: 0, column: 0), [])]
        for token in tokens {
            switch token {
            case .text(let bytes), .newline(let bytes):
                if case .text(let previous)? = stack[stack.count - 1].nodes.last {
                    stack[stack.count - 1].nodes[stack[stack.count - 1].nodes.count - 1] = .text(previous + bytes)
                } else {
                    stack[stack.count - 1].nodes.append(.text(bytes))
                }
            case .tag(let tag):
                switch tag.kind {
                case .variable(let escaped):
                    stack[stack.count - 1].nodes.append(.variable(path: Self.path(tag.name), escaped: escaped, line: tag.line, column: tag.column))
                case .sectionOpen, .invertedOpen, .parentOpen, .blockOpen:
                    stack.append((tag, []))
                case .close:
                    guard stack.count > 1 else {
                        throw error(tag.line, tag.column, "closing tag {{/\(tag.name)}} has no open section")
                    }
                    let (openTag, children) = stack.removeLast()
                    let openedName = (openTag.dynamic ? "*" : "") + openTag.name
                    guard openedName == tag.name || openTag.name == tag.name else {
                        throw error(
                            tag.line, tag.column,
                            "closing tag {{/\(tag.name)}} does not match {{\(Self.sigil(openTag.kind))\(openedName)}} opened at line \(openTag.line)")
                    }
                    let node: Node
                    switch openTag.kind {
                    case .parentOpen:
                        // Only blocks count inside a parent tag; other content is ignored.
                        var overrides: [String: [Node]] = [:]
                        for case .block(let name, _, let content) in children { overrides[name] = content }
                        node = .parent(
                            name: openTag.name, dynamic: openTag.dynamic, overrides: overrides, indent: openTag.indent, line: openTag.line,
                            column: openTag.column)
                    case .blockOpen:
                        if openTag.ownLine {
                            // Block indentation is removed where the block is written and
                            // added where it is expanded: the content's own indentation
                            // (or else the tag's) becomes the block's.
                            let (intrinsic, stripped) = Self.removeIndentation(children)
                            node = .block(name: openTag.name, indent: intrinsic.isEmpty ? openTag.indent : intrinsic, children: stripped)
                        } else {
                            node = .block(name: openTag.name, indent: openTag.indent, children: children)
                        }
                    default:
                        let raw = String(
                            decoding: source[openTag.range.upperBound..<max(openTag.range.upperBound, tag.range.lowerBound)], as: UTF8.self)
                        node = .section(
                            path: Self.path(openTag.name), children: children, inverted: openTag.kind == .invertedOpen,
                            raw: raw, delimiters: openTag.delimiters)
                    }
                    stack[stack.count - 1].nodes.append(node)
                case .partial:
                    stack[stack.count - 1].nodes.append(
                        .partial(name: tag.name, dynamic: tag.dynamic, indent: tag.indent, line: tag.line, column: tag.column))
                case .comment, .setDelimiters:
                    break
                }
            }
        }
        if stack.count > 1 {
            let open = stack[stack.count - 1].tag
            throw error(open.line, open.column, "{{\(Self.sigil(open.kind))\(open.name)}} is never closed")
        }
        return stack[0].nodes
    }

    /// The leading whitespace of the first line of `nodes`, and `nodes` with
    /// that prefix removed from the start of each of their text lines. Nested
    /// standalone blocks, partials and parents keep their indentation relative
    /// to the block: the prefix comes off theirs too.
    private static func removeIndentation(_ nodes: [Node]) -> (String, [Node]) {
        guard case .text(let first)? = nodes.first else { return ("", nodes) }
        let prefix = Array(first.prefix { $0 == 32 || $0 == 9 })
        guard !prefix.isEmpty else { return ("", nodes) }
        let prefixText = String(decoding: prefix, as: UTF8.self)
        func relative(_ indent: String) -> String { indent.hasPrefix(prefixText) ? String(indent.dropFirst(prefixText.count)) : indent }
        var atLineStart = true
        let stripped: [Node] = nodes.map { node in
            guard case .text(let bytes) = node else {
                defer { atLineStart = false }
                switch node {
                case .block(let name, let indent, let children) where atLineStart:
                    return .block(name: name, indent: relative(indent), children: children)
                case .partial(let name, let dynamic, let indent, let line, let column) where atLineStart:
                    return .partial(name: name, dynamic: dynamic, indent: relative(indent), line: line, column: column)
                case .parent(let name, let dynamic, let overrides, let indent, let line, let column) where atLineStart:
                    return .parent(name: name, dynamic: dynamic, overrides: overrides, indent: relative(indent), line: line, column: column)
                default:
                    return node
                }
            }
            var out: [UInt8] = []
            var index = 0
            while index < bytes.count {
                if atLineStart && bytes[index...].starts(with: prefix) { index += prefix.count }
                atLineStart = false
                guard index < bytes.count else { break }
                out.append(bytes[index])
                atLineStart = bytes[index] == 10
                index += 1
            }
            return .text(out)
        }
        return (String(decoding: prefix, as: UTF8.self), stripped)
    }

    private static func sigil(_ kind: TagKind) -> String {
        switch kind {
        case .invertedOpen: "^"
        case .parentOpen: "<"
        case .blockOpen: "$"
        default: "#"
        }
    }

    private static func path(_ name: String) -> [String] {
        name == "." ? [] : name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    private func error(_ line: Int, _ column: Int, _ message: String) -> TemplateError {
        TemplateError(template: name, line: line, column: column, message: message)
    }
}
