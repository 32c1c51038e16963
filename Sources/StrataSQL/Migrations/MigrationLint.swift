/// A migration habit that is safe on an empty development database and
/// takes production down: a lock held while a big table is scanned or
/// rewritten, or a change running code cannot survive. PostgreSQL rules, in
/// the spirit of squawk and strong_migrations.
public enum LintRule: String, CaseIterable, Sendable, Encodable {
    case indexWithoutConcurrently = "index-without-concurrently"
    case notNullWithoutDefault = "not-null-without-default"
    case constraintWithoutNotValid = "constraint-without-not-valid"
    case columnTypeChange = "column-type-change"
    case dropColumn = "drop-column"
    case dropTable = "drop-table"
    case renameColumn = "rename-column"
    case renameTable = "rename-table"
    case alterWithoutLockTimeout = "alter-without-lock-timeout"
    case vacuumFull = "vacuum-full"
    case cluster = "cluster"
    case concurrentlyInTransaction = "concurrently-in-transaction"

    /// What goes wrong in production.
    public var risk: String {
        switch self {
        case .indexWithoutConcurrently:
            return "CREATE INDEX blocks every write to the table until the index is built"
        case .notNullWithoutDefault:
            return "adding a NOT NULL column without a default fails on a table that has rows"
        case .constraintWithoutNotValid:
            return "adding a foreign key or check scans the whole table while blocking writes"
        case .columnTypeChange:
            return "changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock (no reads, no writes)"
        case .dropColumn:
            return "code still running during the deploy reads or writes the column and fails"
        case .dropTable:
            return "code still running during the deploy uses the table and fails, and its data is gone"
        case .renameColumn:
            return "code still running during the deploy uses the old name and fails"
        case .renameTable:
            return "code still running during the deploy uses the old name and fails"
        case .alterWithoutLockTimeout:
            return "ALTER TABLE queues behind any long transaction for its lock, and every query on the table queues behind it"
        case .vacuumFull:
            return "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock"
        case .cluster:
            return "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock"
        case .concurrentlyInTransaction:
            return "PostgreSQL refuses this inside a transaction block, so the migration fails"
        }
    }

    /// What to do instead.
    public var saferPattern: String {
        switch self {
        case .indexWithoutConcurrently:
            return "CREATE INDEX CONCURRENTLY, in a migration of its own marked '-- strata:no-transaction'"
        case .notNullWithoutDefault:
            return
                "add the column with a DEFAULT, or nullable, backfill it, then add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, and SET NOT NULL"
        case .constraintWithoutNotValid:
            return "add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration (that takes a weaker lock)"
        case .columnTypeChange:
            return "add a new column, backfill it in batches, switch the code to it, then drop the old one"
        case .dropColumn:
            return "stop using the column in the code and deploy that first; drop it in a later release"
        case .dropTable:
            return "stop using the table in the code and deploy that first; drop it in a later release"
        case .renameColumn:
            return "add a new column, write both, backfill, switch reads, then drop the old one"
        case .renameTable:
            return "create a view under the old name, or add the new table and migrate the code in steps"
        case .alterWithoutLockTimeout:
            return "start the file with SET lock_timeout = '5s' so it fails fast instead of stalling traffic, and retry it"
        case .vacuumFull:
            return "use plain VACUUM, or pg_repack, outside migrations"
        case .cluster:
            return "use pg_repack outside migrations"
        case .concurrentlyInTransaction:
            return "mark the migration '-- strata:no-transaction' and keep the statement alone in it"
        }
    }
}

/// One thing the linter found, at a file's line.
public struct LintFinding: Sendable, Equatable, Encodable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let rule: LintRule
    /// The reason given in the file's `-- strata:allow RULE reason`, when it allows this.
    public let allowedBecause: String?

    public var description: String {
        let head = "\(file):\(line): \(rule.rawValue): \(rule.risk)"
        if let allowedBecause { return head + " (allowed: \(allowedBecause))" }
        return head + "; instead: \(rule.saferPattern)"
    }

    enum CodingKeys: String, CodingKey { case file, line, rule, risk, saferPattern, allowedBecause }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encode(rule, forKey: .rule)
        try container.encode(rule.risk, forKey: .risk)
        try container.encode(rule.saferPattern, forKey: .saferPattern)
        try container.encodeIfPresent(allowedBecause, forKey: .allowedBecause)
    }
}

/// Checks migrations' PostgreSQL SQL against `LintRule`s.
public enum MigrationLint {
    /// The findings for `migrations`, in order. A table created by one of
    /// them (or earlier in the same file) is new: nobody uses it yet and it
    /// is empty, so the lock and scan rules do not apply to it.
    public static func findings(in migrations: [Migration]) -> [LintFinding] {
        var newTables: Set<String> = []
        return migrations.flatMap { findings(in: $0, newTables: &newTables) }
    }

    static func findings(in migration: Migration, newTables: inout Set<String>) -> [LintFinding] {
        let statements = SQLWords.statements(in: migration.up(for: .postgres), firstLine: migration.upLine(for: .postgres))
        let setsLockTimeout = statements.contains { $0.words.starts(with: ["SET"]) && $0.words.contains("LOCK_TIMEOUT") }
        var found: [(line: Int, rule: LintRule)] = []
        for statement in statements {
            let rules = rules(for: statement.words, newTables: &newTables, transactional: !migration.runsOutsideTransaction)
            for rule in rules where !(rule == .alterWithoutLockTimeout && setsLockTimeout) {
                found.append((statement.line, rule))
            }
        }
        return found.map { LintFinding(file: migration.file, line: $0.line, rule: $0.rule, allowedBecause: migration.allowedLintRules[$0.rule]) }
    }

    /// The rules one statement breaks; records the tables it creates.
    private static func rules(for words: [String], newTables: inout Set<String>, transactional: Bool) -> [LintRule] {
        guard let verb = words.first else { return [] }
        var rules: [LintRule] = []
        if transactional && words.contains("CONCURRENTLY") && ["CREATE", "DROP", "REINDEX"].contains(verb) {
            rules.append(.concurrentlyInTransaction)
        }
        switch verb {
        case "CREATE":
            if let table = name(after: "TABLE", in: words.prefix(8)) {
                newTables.insert(table)
            } else if let index = words.prefix(3).firstIndex(of: "INDEX"), words.dropFirst(index + 1).first != "CONCURRENTLY",
                let table = name(after: "ON", in: words[...]), !newTables.contains(table)
            {
                rules.append(.indexWithoutConcurrently)
            }
        case "ALTER" where words.dropFirst().first == "TABLE":
            guard let table = name(after: "TABLE", in: words[...]), !newTables.contains(table) else { return rules }
            rules.append(.alterWithoutLockTimeout)
            for action in actions(of: words) {
                rules += self.rules(forAction: action)
            }
        case "DROP" where words.dropFirst().first == "TABLE":
            if let table = name(after: "TABLE", in: words[...]), !newTables.contains(table) { rules.append(.dropTable) }
        case "VACUUM":
            if words.contains("FULL") { rules.append(.vacuumFull) }
        case "CLUSTER":
            rules.append(.cluster)
        default:
            break
        }
        return rules
    }

    private static func rules(forAction action: ArraySlice<String>) -> [LintRule] {
        guard let first = action.first else { return [] }
        var rules: [LintRule] = []
        switch first {
        case "ADD":
            let isConstraint = action.contains("FOREIGN") || action.contains("REFERENCES") || action.contains("CHECK")
            if isConstraint && !action.contains(["NOT", "VALID"]) { rules.append(.constraintWithoutNotValid) }
            let isColumn =
                !action.contains("CONSTRAINT") && !action.starts(with: ["ADD", "FOREIGN"]) && !action.starts(with: ["ADD", "CHECK"])
                && !action.starts(with: ["ADD", "PRIMARY"]) && !action.starts(with: ["ADD", "UNIQUE"])
            if isColumn && action.contains(["NOT", "NULL"]) && !action.contains("DEFAULT") && !action.contains("GENERATED") {
                rules.append(.notNullWithoutDefault)
            }
        case "ALTER":
            if action.contains("TYPE") && (action.contains(["SET", "DATA", "TYPE"]) || !action.contains("SET")) {
                rules.append(.columnTypeChange)
            }
        case "DROP":
            if action.dropFirst().first == "COLUMN"
                || !["CONSTRAINT", "DEFAULT", "NOT", "IDENTITY", "EXPRESSION"].contains(action.dropFirst().first ?? "")
            {
                rules.append(.dropColumn)
            }
        case "RENAME":
            rules.append(action.dropFirst().first == "TO" ? .renameTable : .renameColumn)
        default:
            break
        }
        return rules
    }

    /// The comma-separated actions of an `ALTER TABLE name ...` statement.
    private static func actions(of words: [String]) -> [ArraySlice<String>] {
        guard let tableWord = words.firstIndex(of: "TABLE") else { return [] }
        var start = tableWord + 1
        while start < words.count && ["IF", "EXISTS", "ONLY"].contains(words[start]) { start += 1 }
        start += 1  // the table's name
        var actions: [ArraySlice<String>] = []
        var depth = 0
        var begin = start
        for index in start..<words.count {
            switch words[index] {
            case "(": depth += 1
            case ")": depth -= 1
            case "," where depth == 0:
                actions.append(words[begin..<index])
                begin = index + 1
            default: break
            }
        }
        if begin < words.count { actions.append(words[begin...]) }
        return actions
    }

    /// The name after `keyword` (skipping `IF [NOT] EXISTS` and `ONLY`), without its schema.
    private static func name(after keyword: String, in words: ArraySlice<String>) -> String? {
        guard var index = words.firstIndex(of: keyword) else { return nil }
        index += 1
        while index < words.endIndex && ["IF", "NOT", "EXISTS", "ONLY"].contains(words[index]) { index += 1 }
        guard index < words.endIndex, let first = words[index].first, first.isLetter || first == "_" else { return nil }
        return words[index].split(separator: ".").last.map(String.init)
    }
}
