import Foundation
import StrataApp
import StrataRPC

/// A guestbook: visitors leave a name and a message; the page lists the latest fifty.
public struct Guestbook: DomainModule {
    /// Creates the module.
    public init() {}

    public var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }

    public func register(_ m: inout ModuleRegistry) {
        m.method("guestbook.list") { (_: Empty, ctx) in
            let entries = try await ctx.db.query(
                Entry.self, "SELECT id, name, message, created_at FROM guestbook_entries ORDER BY id DESC LIMIT 50")
            return GuestbookPage(entries: entries, count: entries.count)
        }
        m.method("guestbook.sign") { (entry: NewEntry, ctx) in
            let name = entry.name.trimmingCharacters(in: .whitespacesAndNewlines)
            let message = entry.message.trimmingCharacters(in: .whitespacesAndNewlines)
            var problems: [String: String] = [:]
            if !(1...80).contains(name.count) { problems["name"] = "Please give a name of 1 to 80 characters." }
            if !(1...1000).contains(message.count) { problems["message"] = "Please write a message of 1 to 1000 characters." }
            if !problems.isEmpty {
                throw RPCError(.invalidArgument, problems["name"] ?? problems["message"]!, details: problems)
            }
            let created = try await ctx.db.query(
                Signed.self, "INSERT INTO guestbook_entries (name, message, created_at) VALUES ($1, $2, $3) RETURNING id",
                .text(name), .text(message), .text(ISO8601DateFormatter().string(from: Date())))
            guard let signed = created.first else { throw RPCError(.internal, "the new entry has no id") }
            return signed
        }
        m.page("/", calls: "guestbook.list", template: "guestbook/index")
        m.form("/entries", calls: "guestbook.sign", redirect: "/#entry-{id}", shownOn: "/")
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

struct NewEntry: Codable, Sendable {
    let name: String
    let message: String
}

struct Signed: Codable, Sendable {
    let id: Int64
}
