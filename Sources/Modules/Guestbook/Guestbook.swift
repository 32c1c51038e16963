import Foundation
import StrataApp

/// A guestbook: visitors leave a name and a message; the page lists the latest fifty.
public struct Guestbook: DomainModule {
    /// Creates the module.
    public init() {}

    public var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }

    public func register(_ m: inout ModuleRegistry) {
        let list = m.method("guestbook.list", access: .public, idempotent: true) { (_: Empty, ctx) in
            let entries = try await ctx.db.query(
                Entry.self, "SELECT id, name, message, created_at FROM guestbook_entries ORDER BY id DESC LIMIT 50")
            return GuestbookPage(entries: entries, count: entries.count)
        }
        let sign = m.method("guestbook.sign", access: .public) { (entry: NewEntry, ctx) in
            let name = entry.name.trimmingCharacters(in: .whitespacesAndNewlines)
            let message = entry.message.trimmingCharacters(in: .whitespacesAndNewlines)
            return try await ctx.db.queryOne(
                Signed.self, "INSERT INTO guestbook_entries (name, message, created_at) VALUES ($1, $2, $3) RETURNING id",
                .text(name), .text(message), .text(ISO8601DateFormatter().string(from: Date())))
        }
        let page = m.page("/guestbook", list, template: "guestbook/index")
        m.form("/guestbook", sign, shownOn: page) { "/guestbook#entry-\($0.id)" }
    }
}

struct Entry: Codable, Sendable {
    let id: Int64
    let name: String
    let message: String
    let created_at: String
}

struct GuestbookPage: Codable, Sendable {
    let entries: [Entry]
    let count: Int
}

struct NewEntry: Codable, Sendable, Validatable {
    let name: String
    let message: String

    func validate(_ v: inout Validation) {
        v.length("name", name, 1...80)
        v.length("message", message, 1...1000)
    }
}

struct Signed: Codable, Sendable {
    let id: Int64
}
