/// A unit of business logic: the RPC methods it offers and the pages, forms
/// and JSON routes that call them. Register everything in `register(_:)`.
///
/// ```swift
/// struct Notes: DomainModule {
///     var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }
///     func register(_ m: inout ModuleRegistry) {
///         let list = m.method("notes.list", access: .signedIn) { (_: Empty, ctx) in
///             NotesPage(notes: try await ctx.db.query(Note.self, "SELECT * FROM notes WHERE owner = $1", .int(ctx.user.id)))
///         }
///         m.page("/notes", list, template: "notes/index")
///         m.api(.get, "/api/notes", list)
///     }
/// }
/// ```
public protocol DomainModule: Sendable {
    /// The module's `*.mustache` templates, named by path below their folder
    /// (`notes/index`); nil when the module has none.
    var templates: ModuleTemplates? { get }

    /// The module's static files (`public/` in its bundle); nil when it has none.
    var assets: ModuleAssets? { get }

    /// Declares the module's methods and routes.
    func register(_ m: inout ModuleRegistry)
}

extension DomainModule {
    /// No templates by default.
    public var templates: ModuleTemplates? { nil }
    /// No static files by default.
    public var assets: ModuleAssets? { nil }
}

/// The HTTP methods a JSON API route can answer.
public enum APIVerb: String, Sendable {
    case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE"
}
