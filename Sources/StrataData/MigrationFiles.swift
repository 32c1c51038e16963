import Foundation
import StrataCore
import StrataSQL

/// Naming and creating migration files.
enum MigrationFiles {
    /// `0003_add_notes` (or `R_views`), as progress lines show a migration.
    static func label(_ migration: Migration) -> String {
        migration.isRepeatable ? "R_" + migration.name : String(format: "%04lld", migration.version) + "_" + migration.name
    }

    /// Writes `NNNN_name.sql` (the next version after the highest file) from
    /// a template and returns its path; refuses names that are not plain words.
    static func create(name: String, in folders: String) throws -> String {
        // New files go to the first folder; the version follows the highest in any of them.
        let folder = folders.split(separator: ",").first.map { String($0).trimmed() } ?? "Migrations"
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), name.unicodeScalars.allSatisfy(\.isASCII) else {
            throw MigrationError(file: name, line: nil, message: "a migration name may hold only letters, digits and '_', like add_notes")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let existing = try Migrator.load(directory: folders)
        let version = (existing.map(\.version).max() ?? 0) + 1
        let path = folder + "/" + String(format: "%04lld", version) + "_" + name + ".sql"
        let template = """
            -- \(name.replacingOccurrences(of: "_", with: " ")).
            -- Runs in one transaction with its record; put engine-specific SQL
            -- under '-- migrate:up:postgres' or '-- migrate:up:sqlite' if needed.
            -- migrate:up


            -- migrate:down

            """
        guard FileManager.default.createFile(atPath: path, contents: Data(template.utf8)) else {
            throw MigrationError(file: path, line: nil, message: "cannot be written")
        }
        return path
    }
}
