import Foundation
import StrataCore
import StrataRPC

/// A unit of business logic: the RPC methods it offers and the pages, forms
/// and JSON routes that call them. Register everything in `register(_:)`.
///
/// ```swift
/// struct Notes: DomainModule {
///     var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }
///     func register(_ m: inout ModuleRegistry) {
///         m.method("notes.list", access: .signedIn) { (_: Empty, ctx) in
///             NotesPage(notes: try await ctx.db.query(Note.self, "SELECT * FROM notes WHERE owner = $1", .int(ctx.user!.id)))
///         }
///         m.page("/notes", calls: "notes.list", template: "notes/index")
///         m.api(.get, "/api/notes", calls: "notes.list")
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

/// Collects what modules declare. Passed to `DomainModule.register(_:)`.
public struct ModuleRegistry: Sendable {
    typealias Handler = @Sendable (RPCRequest, ModuleContext) async throws -> [UInt8]

    struct Method: Sendable {
        let access: Access
        let idempotent: Bool
        let handler: Handler
    }

    private(set) var methods: [String: Method] = [:]
    private(set) var routes: [RouteDescriptor] = []
    private(set) var problems: [String] = []

    init() {}

    /// Declares an RPC method with a typed argument and result, callable by
    /// those `access` admits (checked before the handler runs).
    ///
    /// The argument decodes from a form, query string and path parameters
    /// (text converted to each property's type) or from a JSON body; a
    /// missing or mistyped field, or a rule of a `Validatable` argument,
    /// fails the call with `invalidArgument` and a message per field. Throw
    /// `RPCError` (or `FieldErrors`) for other failures the caller should
    /// see; any other error is logged and reported as internal, without details.
    /// `idempotent` methods (reads) may be retried by callers.
    public mutating func method<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, access: Access, idempotent: Bool = false,
        _ handler: @escaping @Sendable (Input, ModuleContext) async throws -> Output
    ) {
        if methods[name] != nil { problems.append("method '\(name)' is registered twice") }
        methods[name] = Method(access: access, idempotent: idempotent) { request, context in
            var input = try Self.decodeInput(Input.self, request)
            if let validatable = input as? any Validatable {
                var validation = Validation()
                validatable.validate(&validation)
                if !validation.errors.isEmpty { throw FieldErrors(validation.errors).rpcError }
                input = validatable as! Input
            }
            do {
                return try RPCCodec.encode(try await handler(input, context), as: request.bodyEncoding)
            } catch let errors as FieldErrors {
                throw errors.rpcError
            }
        }
    }

    /// Declares a page: `GET path` calls `method` with the path and query
    /// parameters and renders `template` with its result (plus `viewer`, the
    /// signed-in user). A method answering `unauthenticated` sends the
    /// browser to `/login` and back.
    public mutating func page(_ path: String, calls method: String, template: String) {
        routes.append(RouteDescriptor(kind: .page, path: path, calls: method, template: template))
    }

    /// Declares a form: `POST path` calls `method` with the form fields and
    /// path parameters, then redirects to `redirect` (`{field}` is filled from
    /// the result). With `shownOn` (the path of the page holding the form), a
    /// method that fails with `invalidArgument` gets that page rendered again
    /// (422) with `form.message`, `form.errors` (by field) and `form.values`
    /// (what the user typed), instead of an error page. A redirect of just
    /// `{field}` takes the whole target from the result, if it is a path on this site.
    public mutating func form(_ path: String, calls method: String, redirect: String, shownOn page: String? = nil) {
        routes.append(RouteDescriptor(kind: .form, path: path, calls: method, redirect: redirect, shownOn: page))
    }

    /// Declares a JSON API route: `verb path` calls `method` with the path and
    /// query parameters and, for POST, PUT and PATCH, the JSON body's fields;
    /// the result is the JSON answer. Callers authenticate with a bearer API
    /// token (no CSRF token needed) or the session cookie (then unsafe verbs
    /// need the `X-CSRF-Token` header). Errors are JSON:
    /// `{"error": {"code", "message", "fields"}}`.
    public mutating func api(_ verb: APIVerb, _ path: String, calls method: String) {
        routes.append(RouteDescriptor(kind: .api, path: path, calls: method, verb: verb.rawValue))
    }

    /// Checks that every route calls a registered method.
    func validate() -> [String] {
        problems + routes.filter { methods[$0.calls] == nil }.map { "route \($0.httpMethod) \($0.path) calls unknown method '\($0.calls)'" }
    }

    /// The argument of a call: from text fields (web forms, query strings),
    /// JSON (API routes, tools) or the binary encoding (other tiers).
    static func decodeInput<Input: Decodable>(_ type: Input.Type, _ request: RPCRequest) throws(RPCError) -> Input {
        if request.metadata[RPCMetadataKey.fieldInput] == "1" {
            return try FieldDecoder.decode(Input.self, from: try RPCCodec.decode([String: String].self, from: request.body, as: request.bodyEncoding))
        }
        guard request.bodyEncoding == .json else { return try RPCCodec.decode(Input.self, from: request.body) }
        do {
            if let field = InputSafety.fieldWithNUL(inJSON: request.body) { throw FieldErrors([field: InputSafety.nulProblem]).rpcError }
            return try JSONDecoder().decode(Input.self, from: Data(request.body.isEmpty ? Array("{}".utf8) : request.body))
        } catch let error as RPCError {
            throw error
        } catch let error as DecodingError {
            throw Self.fieldErrors(error).rpcError
        } catch {
            throw RPCError(.invalidArgument, "the body is not valid JSON")
        }
    }

    /// A JSON decoding failure as a problem with one field.
    static func fieldErrors(_ error: DecodingError) -> FieldErrors {
        func field(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return FieldErrors([field(context.codingPath + [key]): "is required"])
        case .valueNotFound(_, let context):
            return FieldErrors([field(context.codingPath): "is required"])
        case .typeMismatch(let type, let context):
            let expected = type == String.self ? "text" : (type == Bool.self ? "true or false" : (type is any Numeric.Type ? "a number" : "\(type)"))
            return FieldErrors([field(context.codingPath): "must be \(expected)"])
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return FieldErrors([field(context.codingPath): "is malformed"])
        default:
            return FieldErrors(["body": "is not valid JSON"])
        }
    }
}
