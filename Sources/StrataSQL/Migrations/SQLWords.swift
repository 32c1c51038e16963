/// The statements of a piece of SQL as the migration linter reads them: one
/// list of words per statement, keywords and unquoted names upper-cased,
/// comments dropped, string and dollar-quoted literals reduced to a
/// placeholder, each statement with the line it starts on.
///
/// Not a parser: enough of PostgreSQL's lexical rules (nested block
/// comments, `''` and `""` escapes, `$tag$` quoting) that a keyword inside a
/// literal or comment is never taken for one, and a `;` inside one never
/// ends a statement.
struct SQLWords {
    struct Statement: Equatable {
        /// 1-based, counted from `firstLine`.
        let line: Int
        let words: [String]
    }

    /// Placeholder for any string or dollar-quoted literal.
    static let literal = "'…'"

    /// Splits `sql`, whose first line is line `firstLine` of its file.
    static func statements(in sql: String, firstLine: Int = 1) -> [Statement] {
        let bytes = Array(sql.utf8)
        var statements: [Statement] = []
        var words: [String] = []
        var start = firstLine
        var line = firstLine
        var i = 0

        func emit(_ word: String) {
            if words.isEmpty { start = line }
            words.append(word)
        }
        func isWordByte(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2E || b >= 0x80
        }
        /// Skips to just after the closing `quote`; a doubled quote is part of the text.
        func skipQuoted(_ quote: UInt8) -> [UInt8] {
            var text: [UInt8] = []
            i += 1
            while i < bytes.count {
                if bytes[i] == 0x0A { line += 1 }
                if bytes[i] == quote {
                    if i + 1 < bytes.count && bytes[i + 1] == quote {
                        text.append(quote)
                        i += 2
                        continue
                    }
                    i += 1
                    return text
                }
                text.append(bytes[i])
                i += 1
            }
            return text
        }

        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x0A:
                line += 1
                i += 1
            case 0x20, 0x09, 0x0D:
                i += 1
            case 0x2D where i + 1 < bytes.count && bytes[i + 1] == 0x2D:  // -- comment
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            case 0x2F where i + 1 < bytes.count && bytes[i + 1] == 0x2A:  // /* comment */, nested
                var depth = 0
                repeat {
                    if bytes[i] == 0x0A { line += 1 }
                    if bytes[i] == 0x2F && i + 1 < bytes.count && bytes[i + 1] == 0x2A {
                        depth += 1
                        i += 2
                    } else if bytes[i] == 0x2A && i + 1 < bytes.count && bytes[i + 1] == 0x2F {
                        depth -= 1
                        i += 2
                    } else {
                        i += 1
                    }
                } while depth > 0 && i < bytes.count
            case 0x27:  // 'string'
                emit(literal)
                _ = skipQuoted(0x27)
            case 0x22:  // "Quoted Name"
                let at = line
                let name = String(decoding: skipQuoted(0x22), as: UTF8.self)
                if words.isEmpty { start = at }
                words.append(name.uppercased())
            case 0x24 where dollarTag(bytes, at: i) != nil:  // $tag$ ... $tag$
                let tag = dollarTag(bytes, at: i)!
                emit(literal)
                i += tag.count
                while i < bytes.count && !bytes[i...].starts(with: tag) {
                    if bytes[i] == 0x0A { line += 1 }
                    i += 1
                }
                i = min(bytes.count, i + tag.count)
            case 0x3B:  // ;
                if !words.isEmpty { statements.append(Statement(line: start, words: words)) }
                words = []
                i += 1
            default:
                if isWordByte(b) {
                    let begin = i
                    while i < bytes.count && isWordByte(bytes[i]) { i += 1 }
                    emit(String(decoding: bytes[begin..<i], as: UTF8.self).uppercased())
                } else {
                    emit(String(UnicodeScalar(b)))
                    i += 1
                }
            }
        }
        if !words.isEmpty { statements.append(Statement(line: start, words: words)) }
        return statements
    }

    /// `$$` or `$name$` starting at `index`; nil for a parameter like `$1`.
    private static func dollarTag(_ bytes: [UInt8], at index: Int) -> [UInt8]? {
        var end = index + 1
        while end < bytes.count {
            let b = bytes[end]
            if b == 0x24 { return Array(bytes[index...end]) }
            let letter = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b >= 0x80
            let digit = b >= 0x30 && b <= 0x39
            guard letter || (digit && end > index + 1) else { return nil }
            end += 1
        }
        return nil
    }
}
