import Foundation
import StrataCLI
import StrataCore
import StrataIO
import StrataSQL

/// `strata-data migrate`: the operator's migration tool.
enum MigrateCommand {
    enum Action: String, CaseIterable {
        case status, up, down, redo, create, validate, lint, plan, baseline
    }

    static let spec = CommandSpec(
        name: "strata-data migrate", summary: "Apply, roll back, check or inspect migrations.",
        subcommands: [
            ("status", "applied (with time and duration), pending, changed and missing files"),
            ("up", "lint, then apply pending migrations, each in its own transaction with its record; then changed repeatable ones"),
            ("down [N]", "roll back the last N applied migrations (default 1), newest first"),
            ("redo", "roll back the last applied migration and apply it again"),
            ("create NAME", "write NNNN_NAME.sql with the next number"),
            ("validate", "checksums, files missing for applied versions, gaps; exit 1 on problems"),
            ("lint", "check every file for what locks or breaks a busy database (no database needed); exit 1 on findings"),
            ("plan", "what up would run, in order: each file, whether it takes a transaction, its lint findings"),
            ("baseline VERSION", "record the migrations up to VERSION as applied without running them (a database that already has them)"),
        ],
        options: [
            DataCommand.databaseOption, DataCommand.migrationsOption,
            OptionSpec("to", value: "VERSION", help: "up/plan: stop after this version; down: roll back everything above it"),
            OptionSpec(switch: "dry-run", help: "up/down: print the exact SQL and change nothing"),
            OptionSpec(switch: "no-lint", help: "up: apply even if the linter finds something"),
            OptionSpec(
                "lock-timeout", env: "STRATA_MIGRATION_LOCK_TIMEOUT", value: "SECONDS", default: "10",
                help: "PostgreSQL: a statement waiting this long for a lock fails instead of stalling the table's traffic (0: wait forever)"),
            OptionSpec(
                "statement-timeout", env: "STRATA_MIGRATION_STATEMENT_TIMEOUT", value: "SECONDS", default: "3600",
                help: "PostgreSQL: a statement running this long fails (0: no limit)"),
            OptionSpec(
                "wait", env: "STRATA_DATABASE_WAIT", value: "SECONDS", default: "0",
                help: "keep trying this long while the database does not accept connections yet (a server still starting)"),
            OptionSpec(switch: "json", help: "machine-readable output"),
            OptionSpec(switch: "verbose", help: "also print the server's notices and warnings"),
        ],
        notes: [
            "lint rules: " + LintRule.allCases.map(\.rawValue).joined(separator: ", ")
                + "\n  accept one in a file with '-- strata:allow RULE reason'; mark SQL that cannot run in a transaction '-- strata:no-transaction'",
            "exit status: 0 done; 1 a migration failed, the database refused, lint or validate found problems; 64 usage mistake",
        ])

    static func run(_ options: ParsedOptions) async throws -> Int32 {
        guard let action = Action(rawValue: options.positional[0]) else {
            throw UsageError(
                command: "strata-data migrate",
                message: "unknown command '\(options.positional[0])' (one of: \(Action.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let folder = options.string("migrations") ?? "Migrations"
        let json = options.flag("json")
        switch action {
        case .create:
            guard options.positional.count == 2 else {
                throw UsageError(command: "strata-data migrate create", message: "expected one NAME, like add_notes")
            }
            let path = try MigrationFiles.create(name: options.positional[1], in: folder)
            return json ? printJSON(["created": path]) : say("created \(path)")
        case .lint:
            return lint(try Migrator.load(directory: folder), json: json)
        default:
            break
        }
        let target = try options.int("to", in: 0...Int.max).map(Int64.init)
        let migrations = try Migrator.load(directory: folder)
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        var notices: (@Sendable (String) -> Void)?
        if options.flag("verbose") { notices = { notice in Terminal.printError("database: \(notice)") } }
        let (database, url) = try DataCommand.openDatabase(options, group: group, notices: notices)
        let migrator = try await connect(
            database, migrations: migrations, settings: try settings(options), url: url,
            waiting: .seconds(try options.int("wait", in: 0...3600) ?? 0))
        let report: @Sendable (String, Migration, Int) -> Void = { verb, migration, millis in
            if !json { Terminal.printOut("\(verb) \(MigrationFiles.label(migration)) in \(millis) ms\n") }
        }
        switch action {
        case .status:
            let rows = try await migrator.status()
            return json ? printJSON(rows) : printStatus(rows, url: url)
        case .validate:
            let problems = try await migrator.validate()
            if json {
                printJSON(problems)
            } else {
                for problem in problems { Terminal.printOut("\(problem)\n") }
                if problems.isEmpty { Terminal.printOut("migrations match the database\n") }
            }
            return problems.isEmpty ? 0 : 1
        case .plan:
            return printPlan(try await migrator.planUp(to: target), json: json, withSQL: false)
        case .baseline:
            guard options.positional.count == 2, let version = Int64(options.positional[1]), version > 0 else {
                throw UsageError(command: "strata-data migrate baseline", message: "expected one VERSION, a positive number like 12")
            }
            let recorded = try await migrator.baseline(version)
            if json { return printJSON(recorded.map(\.version)) }
            return say("recorded \(recorded.count) migration(s) up to \(version) as applied, without running them")
        case .up where options.flag("dry-run"):
            return printPlan(try await migrator.planUp(to: target), json: json, withSQL: true)
        case .up:
            if !options.flag("no-lint") {
                let findings = try await migrator.planUp(to: target).flatMap(\.lint).filter { $0.allowedBecause == nil }
                guard findings.isEmpty else { return refuse(findings, json: json) }
            }
            let applied = try await migrator.up(to: target) { report("applied", $0, $1) }
            if json { return printJSON(applied.map(\.label)) }
            return say(applied.isEmpty ? "database is up to date" : "applied \(applied.count) migration(s)")
        case .down, .redo:
            let count = try options.positional.count > 1 && action == .down ? parseCount(options.positional[1]) : 1
            let downTarget = action == .down ? target : nil
            if options.flag("dry-run") {
                return printPlan(try await migrator.planDown(count: count, to: downTarget), json: json, withSQL: true)
            }
            let undone = try await migrator.down(count: count, to: downTarget) { report("rolled back", $0, $1) }
            var redone: [Migration] = []
            if action == .redo, let last = undone.first {
                redone = try await migrator.up(to: last.version) { report("applied", $0, $1) }
            }
            if json { return printJSON(["rolledBack": undone.map(\.label), "applied": redone.map(\.label)]) }
            if undone.isEmpty { Terminal.printOut("nothing to roll back\n") }
            return 0
        case .create, .lint:
            return 0
        }
    }

    private static func settings(_ options: ParsedOptions) throws -> MigrationSettings {
        func seconds(_ name: String) throws -> Duration? {
            let value = try options.int(name, in: 0...86_400) ?? 0
            return value > 0 ? .seconds(value) : nil
        }
        return MigrationSettings(lockTimeout: try seconds("lock-timeout"), statementTimeout: try seconds("statement-timeout"))
    }

    /// Lints every file as production would meet it: a table created by an
    /// earlier file exists (and is busy) by the time a later one runs.
    private static func lint(_ migrations: [Migration], json: Bool) -> Int32 {
        let findings = migrations.flatMap { MigrationLint.findings(in: [$0]) }
        let blocking = findings.filter { $0.allowedBecause == nil }.count
        if json {
            printJSON(findings)
        } else {
            for finding in findings { Terminal.printOut("\(finding)\n") }
            Terminal.printOut("\(migrations.count) file(s): \(blocking) finding(s), \(findings.count - blocking) allowed\n")
        }
        return blocking == 0 ? 0 : 1
    }

    private static func refuse(_ findings: [LintFinding], json: Bool) -> Int32 {
        if json {
            printJSON(["refused": findings])
        } else {
            for finding in findings { Terminal.printError("\(finding)") }
            Terminal.printError(
                "refusing to migrate: \(findings.count) lint finding(s) in pending migrations; fix them, accept each with '-- strata:allow RULE reason' in its file, or pass --no-lint"
            )
        }
        return 1
    }

    /// The migrator, once the database accepts a connection: tried again
    /// every second for up to `wait` while it refuses (a server still
    /// starting beside this command); any other error ends it at once.
    private static func connect(
        _ database: any SQLDatabase, migrations: [Migration], settings: MigrationSettings, url: DatabaseURL, waiting wait: Duration
    ) async throws -> Migrator {
        let deadline = ContinuousClock.now + wait
        var told = false
        while true {
            do {
                return try await Migrator(database: database, migrations: migrations, settings: settings)
            } catch let error as SQLError where error.kind == .unavailable && ContinuousClock.now < deadline {
                if !told { Terminal.printError("waiting up to \(wait) for the database \(url): \(error.message)") }
                told = true
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private static func parseCount(_ text: String) throws -> Int {
        guard let count = Int(text), count > 0 else {
            throw UsageError(command: "strata-data migrate down", message: "N must be a positive number, got '\(text)'")
        }
        return count
    }

    private static func printStatus(_ rows: [Migrator.Status], url: DatabaseURL) -> Int32 {
        Terminal.printOut("database: \(url)\n")
        if rows.isEmpty { Terminal.printOut("no migrations\n") }
        for row in rows {
            var state = row.appliedAt.map { "applied \($0) (\(row.durationMilliseconds ?? 0) ms)" } ?? "pending"
            if row.baselined, let at = row.appliedAt { state = "baselined \(at) (not run here)" }
            if row.missingFile { state += ", file missing" }
            if row.changed { state += row.repeatable ? ", changed: runs again on up" : ", file changed since" }
            let version = row.repeatable ? "R   " : String(format: "%04lld", row.version)
            Terminal.printOut("\(version)  \(row.name.padding(toLength: 32, withPad: " ", startingAt: 0))  \(state)\n")
        }
        let pending = rows.filter { $0.appliedAt == nil }.count
        Terminal.printOut("\(rows.count - pending) applied, \(pending) pending\n")
        return 0
    }

    /// Steps as `plan` shows them (`withSQL` false) or `--dry-run` (the exact SQL).
    private static func printPlan(_ steps: [Migrator.Step], json: Bool, withSQL: Bool) -> Int32 {
        if json { return printJSON(steps) }
        if steps.isEmpty { Terminal.printOut(withSQL ? "-- nothing to do\n" : "nothing to do: the database is up to date\n") }
        for step in steps {
            if withSQL {
                Terminal.printOut("-- \(step.direction) \(step.file)\n\(step.sql)\n\n")
                continue
            }
            let blocking = step.lint.filter { $0.allowedBecause == nil }.count
            let lint = step.lint.isEmpty ? "lint: clean" : "lint: \(blocking) finding(s), \(step.lint.count - blocking) allowed"
            Terminal.printOut("\(step.file)  \(step.transaction ? "in a transaction" : "no transaction")  \(lint)\n")
            for finding in step.lint { Terminal.printOut("  \(finding)\n") }
        }
        return 0
    }

    private static func say(_ line: String) -> Int32 {
        Terminal.printOut(line + "\n")
        return 0
    }

    @discardableResult
    private static func printJSON<T: Encodable>(_ value: T) -> Int32 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        Terminal.printOut(String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self) + "\n")
        return 0
    }
}

extension Migration {
    /// `0003_add_notes`, or `R_views` for a repeatable one, as output names a migration.
    var label: String { MigrationFiles.label(self) }
}
