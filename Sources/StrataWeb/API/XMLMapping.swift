import Foundation
import StrataTemplates

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// XML beside JSON on the API routes, by one fixed mapping (README, "Web
/// services"): an answer's JSON object becomes a root element with an
/// element per field, in key order; an array becomes the field's element
/// repeated once per item (a top-level array: `item` elements); `null` and
/// absent fields are left out; `true`, `false` and numbers are written as
/// JSON writes them; text escapes `& < > " '`. No attributes are used.
///
/// Request bodies are read with FoundationXML's `XMLParser`: one level of
/// elements under the root, each a field whose text is converted like a
/// form field's. A DOCTYPE (so any entity declaration: no external
/// entities, no entity expansion bombs) and attributes are refused, as are
/// nesting, repeated fields and text between the fields.
enum XMLMapping {
    /// `json` as an XML document whose root element is `root`; nil when it
    /// holds text XML 1.0 cannot carry (control characters) or a field name
    /// that is not an XML name.
    static func document(fromJSON json: [UInt8], root: String) -> [UInt8]? {
        // Decoded as template data is: the same JSON values, integers kept apart from other numbers.
        guard let value = try? JSONDecoder().decode(TemplateValue.self, from: Data(json)) else { return nil }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        if case .array(let items) = value {
            guard wrap(items, in: root, to: &out) else { return nil }
        } else {
            guard write(value, named: root, to: &out) else { return nil }
        }
        return Array(out.utf8)
    }

    /// `items` as `item` elements inside one `name` element.
    private static func wrap(_ items: [TemplateValue], in name: String, to out: inout String) -> Bool {
        out += "<\(name)>"
        for item in items { guard write(item, named: "item", to: &out) else { return false } }
        out += "</\(name)>"
        return true
    }

    private static func write(_ value: TemplateValue, named name: String, to out: inout String) -> Bool {
        guard isName(name) else { return false }
        switch value {
        case .null, .lambda: return true
        case .array(let items):
            // An array is its field repeated; the items of an array inside an array are `item`s.
            for item in items {
                if case .array(let inner) = item {
                    guard wrap(inner, in: name, to: &out) else { return false }
                } else {
                    guard write(item, named: name, to: &out) else { return false }
                }
            }
            return true
        case .object(let fields):
            out += "<\(name)>"
            for key in fields.keys.sorted() { guard write(fields[key]!, named: key, to: &out) else { return false } }
            out += "</\(name)>"
            return true
        case .bool(let flag): out += "<\(name)>\(flag)</\(name)>"
        case .int(let number): out += "<\(name)>\(number)</\(name)>"
        case .double(let number): out += "<\(name)>\(number)</\(name)>"
        case .string(let text):
            guard let escaped = escaped(text) else { return false }
            out += "<\(name)>\(escaped)</\(name)>"
        }
        return true
    }

    /// `text` with the five special characters escaped; nil when it holds a character XML 1.0 forbids.
    static func escaped(_ text: String) -> String? {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // A raw CR would come back as LF (XML normalizes line ends): written as a reference.
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                guard scalar.value >= 0x20, scalar.value != 0xFFFE, scalar.value != 0xFFFF else { return nil }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether `name` is an XML name this mapping writes (ASCII letters, digits, `_`, `-`, `.`; not starting with a digit, `-`, `.` or `xml`).
    static func isName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !name.lowercased().hasPrefix("xml") else { return false }
        let isLetter = { (b: UInt8) in (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") || b == UInt8(ascii: "_") }
        guard isLetter(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// Why an XML request body was refused.
    struct BodyError: Error, CustomStringConvertible {
        let description: String
    }

    /// Most fields a body may have.
    static let maxFields = 200

    /// The fields of an XML request body: the text of each element under the root, by name.
    static func fields(fromXML body: [UInt8]) throws(BodyError) -> [String: String] {
        // Before any parsing: a DOCTYPE is where entities (external, or expanding without bound) are declared.
        if body.firstRange(of: Array("<!DOCTYPE".utf8)) != nil || body.firstRange(of: Array("<!ENTITY".utf8)) != nil {
            throw BodyError(description: "XML bodies may not have a DOCTYPE or entity declarations")
        }
        // UTF-8 only, checked here: FoundationXML traps on a name that is not
        // valid UTF-8 (`UTF8STRING(...)!`), found by the xml fuzz target.
        guard String(validating: body, as: UTF8.self) != nil else {
            throw BodyError(description: "XML bodies must be UTF-8")
        }
        // Processing instructions are refused too, the XML declaration aside: FoundationXML's
        // XMLParser dereferences NULL on one without data (`<?x?>`), found by the xml fuzz target.
        let declared = body.starts(with: Array("<?xml".utf8)) && body.count > 5 && [9, 10, 13, 32].contains(body[5])
        if body.dropFirst(declared ? 2 : 0).firstRange(of: Array("<?".utf8)) != nil {
            throw BodyError(description: "XML bodies may not hold processing instructions")
        }
        if declared, let end = body.firstRange(of: Array("?>".utf8)) {
            // A declared encoding other than UTF-8 would have libxml2 read the bytes as something else.
            let declaration = String(decoding: body[..<end.lowerBound], as: UTF8.self).lowercased()
            if declaration.contains("encoding"), !declaration.contains("utf-8") {
                throw BodyError(description: "XML bodies must be UTF-8")
            }
        }
        let reader = FieldReader()
        let parser = XMLParser(data: Data(body))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        parser.delegate = reader
        let parsed = parser.parse()
        if let problem = reader.problem { throw BodyError(description: problem) }
        guard parsed, reader.sawRoot else {
            throw BodyError(description: "the XML body is not well-formed (line \(parser.lineNumber), column \(parser.columnNumber))")
        }
        return reader.fields
    }

    /// Collects `<root><field>text</field>...</root>`, refusing anything else.
    private final class FieldReader: NSObject, XMLParserDelegate {
        var fields: [String: String] = [:]
        var problem: String?
        var sawRoot = false
        /// The elements open, innermost last: libxml2 recovers from a
        /// mismatched end tag, so mismatches are caught here.
        private var open: [String] = []
        private var depth: Int { open.count }
        private var current: String?
        private var text = ""

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]
        ) {
            guard problem == nil else { return }
            open.append(name)
            if !attributes.isEmpty { stop(parser, "XML attributes are not read: send <\(name)> fields as elements") }
            if depth == 1 {
                sawRoot = true
            } else if depth == 2 {
                if fields[name] != nil { stop(parser, "the field <\(name)> appears twice") }
                if fields.count >= XMLMapping.maxFields { stop(parser, "more than \(XMLMapping.maxFields) fields") }
                current = name
                text = ""
            } else {
                stop(parser, "<\(name)> is nested in a field: XML bodies hold one level of fields")
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard problem == nil else { return }
            if current != nil {
                text += string
            } else if depth == 1, string.contains(where: { !$0.isWhitespace }) {
                // `<request>5</request>` is not an empty request: text belongs in a field.
                stop(parser, "text outside a field: put each value in an element named after its field")
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard problem == nil else { return }
            guard open.last == name else {
                stop(parser, "the end tag </\(name)> does not close <\(open.last ?? "")> (line \(parser.lineNumber))")
                return
            }
            if depth == 2, let current {
                fields[current] = text
                self.current = nil
            }
            open.removeLast()
        }

        func parserDidEndDocument(_ parser: XMLParser) {
            if let unclosed = open.last { stop(parser, "the XML body is not well-formed: <\(unclosed)> is never closed") }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            stop(parser, "the XML body is not well-formed (line \(parser.lineNumber), column \(parser.columnNumber))")
        }

        func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
            stop(parser, "XML bodies may not declare entities")
        }

        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            stop(parser, "XML bodies may not declare entities")
        }

        /// Notes the first problem; the parse runs on (the body is size-limited)
        /// with every later callback ignored. Not `abortParsing()`: from a callback
        /// during FoundationXML's first chunk it leaves libxml2 a freed context to
        /// crash in (found by the xml fuzz target).
        private func stop(_ parser: XMLParser, _ reason: String) {
            if problem == nil { problem = reason }
        }
    }
}
