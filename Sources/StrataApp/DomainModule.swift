import Foundation
import StrataCore
import StrataRPC

/// A unit of business logic: the RPC methods it offers and the pages and
/// forms that call them. Register everything in `register(_:)`.
///
/// ```swift
/// struct Notes: DomainModule {
///     var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }
///     func register(_ m: inout ModuleRegistry) {
///         m.method("notes.list") { (_: Empty, ctx) in NotesPage(notes: try await ctx.db.query(Note.self, "SELECT * FROM notes")) }
///         m.page("/notes", calls: "notes.list", template: "notes/index")
///     }
/// }
/// ```
public protocol DomainModule: Sendable {
    /// The module's `*.mustache` templates, named by path below their folder
    /// (`notes/index`); nil when the module has none.
    var templates: ModuleTemplates? { get }

    /// Declares the module's methods and routes.
    func register(_ m: inout ModuleRegistry)
}

extension DomainModule {
    /// No templates by default.
    public var templates: ModuleTemplates? { nil }
}

/// Collects what modules declare. Passed to `DomainModule.register(_:)`.
public struct ModuleRegistry: Sendable {
    typealias Handler = @Sendable (RPCRequest, ModuleContext) async throws -> [UInt8]

    private(set) var handlers: [String: Handler] = [:]
    private(set) var routes: [RouteDescriptor] = []
    private(set) var problems: [String] = []

    init() {}

    /// Declares an RPC method with a typed argument and result.
    ///
    /// Throw `RPCError(.invalidArgument, "...")` (or another code) for
    /// failures the caller should see; any other error is logged and reported
    /// as an internal error without details.
    public mutating func method<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, _ handler: @escaping @Sendable (Input, ModuleContext) async throws -> Output
    ) {
        if handlers[name] != nil { problems.append("method '\(name)' is registered twice") }
        handlers[name] = { request, context in
            let input = try RPCCodec.decode(Input.self, from: request.body, as: request.bodyEncoding)
            return try RPCCodec.encode(try await handler(input, context), as: request.bodyEncoding)
        }
    }

    /// Declares a page: `GET path` calls `method` with the path and query
    /// parameters and renders `template` with its result.
    public mutating func page(_ path: String, calls method: String, template: String) {
        routes.append(RouteDescriptor(kind: .page, path: path, calls: method, template: template))
    }

    /// Declares a form: `POST path` calls `method` with the form fields and
    /// path parameters, then redirects to `redirect` (`{field}` is filled from
    /// the result). With `shownOn` (the path of the page holding the form), a
    /// method that throws `RPCError(.invalidArgument, message, details: [field: problem])`
    /// gets that page rendered again with `form.message`, `form.errors` and
    /// `form.values`, instead of an error page.
    public mutating func form(_ path: String, calls method: String, redirect: String, shownOn page: String? = nil) {
        routes.append(RouteDescriptor(kind: .form, path: path, calls: method, redirect: redirect, shownOn: page))
    }

    /// Checks that every route calls a registered method.
    func validate() -> [String] {
        problems + routes.filter { handlers[$0.calls] == nil }.map { "route \($0.httpMethod) \($0.path) calls unknown method '\($0.calls)'" }
    }
}
