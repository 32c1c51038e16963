import StrataHTTP
import StrataProtocol
import StrataRPC

/// Collects what modules declare. Passed to `DomainModule.register(_:)`.
public struct ModuleRegistry: Sendable {
    private(set) var methods: [String: RegisteredMethod] = [:]
    private(set) var routes: [RouteDescriptor] = []
    private(set) var signInPage: PageRoute?
    /// The proxy routes declared, as `--proxy` text with their prefixes.
    private var proxyRoutes: [(prefix: String, spec: String)] = []
    /// The proxy routes as the manifest carries them.
    var proxies: [String] { proxyRoutes.map(\.spec) }
    /// The API routes with their types, for the OpenAPI document.
    private(set) var operations: [APIOperation] = []
    /// Routes a proxy route would hide (the web tier sends everything under its prefix upstream).
    var hiddenRoutes: [String] {
        routes.compactMap { route in
            proxyRoutes.first { route.path.hasPrefix($0.prefix) }.map { "proxy \($0.prefix) would hide the route \(route.path)" }
        }
    }
    private(set) var problems: [String] = []

    init() {}

    /// Declares an RPC method with a typed argument and result, callable by
    /// those `access` admits (`.public`, or `.custom`; checked before the
    /// handler runs). Returns the handle that routes take.
    ///
    /// The argument decodes from a form, query string and path parameters
    /// (text converted to each property's type) or from a JSON body; a
    /// missing or mistyped field, or a rule of a `Validatable` argument,
    /// fails the call with `invalidArgument` and a message per field. Throw
    /// `RPCError` (or `FieldErrors`) for other failures the caller should
    /// see; any other error is logged and reported as internal, without details.
    /// `idempotent` methods (reads) may be retried by callers.
    @discardableResult
    public mutating func method<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, access: Access, idempotent: Bool = false,
        _ handler: @escaping @Sendable (Input, ModuleContext) async throws -> Output
    ) -> ModuleMethod<Input, Output> {
        add(name, access.rule, idempotent, handler)
    }

    /// Declares an RPC method only signed-in users may call (`.signedIn`, or
    /// `.role(...)`): the handler gets the user as `ctx.user`, never nil.
    /// Otherwise as `method(_:access:idempotent:_:)` above.
    @discardableResult
    public mutating func method<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, access: SignedInAccess, idempotent: Bool = false,
        _ handler: @escaping @Sendable (Input, SignedInContext) async throws -> Output
    ) -> ModuleMethod<Input, Output> {
        add(name, access.rule, idempotent) { input, context in
            // The dispatcher checked access already; a rule like this one cannot pass without a user.
            guard let user = context.user else { throw AccessRule.signInFirst }
            return try await handler(input, SignedInContext(user: user, base: context))
        }
    }

    /// Keeps the typed handler behind the dispatcher's decode → validate → run → encode steps.
    private mutating func add<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, _ access: AccessRule, _ idempotent: Bool,
        _ handler: @escaping @Sendable (Input, ModuleContext) async throws -> Output
    ) -> ModuleMethod<Input, Output> {
        if methods[name] != nil { problems.append("method '\(name)' is registered twice") }
        methods[name] = RegisteredMethod(name: name, access: access, idempotent: idempotent) { request, context, form in
            let input = try MethodDispatcher.validate(try MethodDispatcher.decode(Input.self, request))
            return try MethodDispatcher.encode(try await handler(input, context), for: request, form: form)
        }
        return ModuleMethod(name: name)
    }

    /// Declares a page: `GET path` calls `method` with the path and query
    /// parameters and renders `template` with its result (plus `viewer`, the
    /// signed-in user). A method answering `unauthenticated` sends the
    /// browser to the sign-in page and back.
    ///
    /// `cache: .public(maxAge:)` marks a page that is the same for everyone
    /// (a price list, an article): it is rendered without the browser's
    /// session (no viewer, no CSRF token, no flash) and answered with
    /// `Cache-Control: public, max-age`, so the web tier's cache (`--cache`)
    /// and any cache on the way may keep it.
    @discardableResult
    public mutating func page<Input, Output>(
        _ path: String, _ method: ModuleMethod<Input, Output>, template: String, cache: PageCache = .private
    ) -> PageRoute {
        var maxAge: Int?
        if case .public(let seconds) = cache {
            if seconds < 0 { problems.append("page '\(path)' has a negative cache max-age") }
            maxAge = seconds
        }
        routes.append(RouteDescriptor(kind: .page, path: path, calls: method.name, template: template, publicMaxAge: maxAge))
        requireTextFields(Input.self, route: "page '\(path)'", method: method.name)
        return PageRoute(path: path)
    }

    /// A page's query and path, and a form's fields, arrive as text: a method
    /// whose argument needs more would fail each request carrying such a
    /// field (a 500), so the application refuses to start instead.
    private mutating func requireTextFields<Input: Decodable>(_ input: Input.Type, route: String, method: String) {
        guard let unreadable = SchemaRecorder.fieldsNotReadAsText(Input.self), !unreadable.isEmpty else { return }
        problems.append(
            "\(route) calls \(method), whose argument has fields text cannot carry: \(unreadable.joined(separator: ", ")) (make them text, numbers, booleans or string enums)"
        )
    }

    /// Declares a form: `POST path` calls `method` with the form fields and
    /// path parameters, then sends the browser where `redirect` says for the
    /// result. With `shownOn` (the page holding the form), a method that fails
    /// with `invalidArgument` gets that page rendered again (422) with
    /// `form.message`, `form.errors` (by field) and `form.values` (what the
    /// user typed), instead of an error page. An `attemptLimited` form takes
    /// something worth guessing at (a password): its posts count against the
    /// web tier's stricter per-client limit (`--auth-rate-limit`).
    public mutating func form<Input, Output>(
        _ path: String, _ method: ModuleMethod<Input, Output>, shownOn page: PageRoute? = nil, attemptLimited: Bool = false,
        redirect: @escaping @Sendable (Output) -> Redirect
    ) {
        routes.append(RouteDescriptor(kind: .form, path: path, calls: method.name, shownOn: page?.path, attemptLimited: attemptLimited))
        requireTextFields(Input.self, route: "form POST \(path)", method: method.name)
        if methods[method.name]?.forms[path] != nil { problems.append("form POST \(path) is declared twice") }
        methods[method.name]?.forms[path] = { output in
            guard let output = output as? Output else { throw RPCError(.internal, "form \(path) got a result of another type") }
            let target = redirect(output)
            return FormOutcome(location: target.location, flash: target.flash, session: target.session)
        }
    }

    /// Declares a JSON API route: `verb path` calls `method` with the path and
    /// query parameters and, for POST, PUT and PATCH, the JSON body's fields;
    /// the result is the JSON answer. Callers authenticate with a bearer API
    /// token (no CSRF token needed) or the session cookie (then unsafe verbs
    /// need the `X-CSRF-Token` header). Errors are JSON:
    /// `{"error": {"code", "message", "fields"}}`.
    public mutating func api<Input, Output>(_ verb: APIVerb, _ path: String, _ method: ModuleMethod<Input, Output>) {
        let operation = APIOperation(verb: verb.rawValue, path: path, method: method)
        routes.append(
            RouteDescriptor(
                kind: .api, path: path, calls: method.name, verb: verb.rawValue, readsXML: operation.readsXMLBody))
        operations.append(operation)
    }

    /// Declares a reverse-proxy route that the web tier serves without
    /// calling this tier: requests under `prefix` go to `upstreams`
    /// (`http://host:port[/path]` or `unix:/path`), with `options` as
    /// `strata-web --proxy` takes them (`balance=round-robin`,
    /// `health=/healthz`, `max-body=16m`; see the README's "Gateway"). For
    /// a service a module's pages sit beside, such as an older site or an
    /// internal API, so that where it lives is declared with the module.
    public mutating func proxy(_ prefix: String, to upstreams: [String], options: [String] = []) {
        let spec = ([prefix + "=" + upstreams.joined(separator: ",")] + options).joined(separator: ";")
        do throws(GatewayConfigurationError) {
            let route = try ProxyRoute(parsing: spec)
            if proxyRoutes.contains(where: { $0.prefix == route.prefix }) { problems.append("proxy \(route.prefix) is declared twice") }
            proxyRoutes.append((route.prefix, spec))
        } catch {
            problems.append("proxy \(prefix): \(error.message)")
        }
    }

    /// Makes `page` the sign-in page: where a browser goes (and comes back
    /// from, with `?next=`) when a page or form needs a signed-in user.
    public mutating func signIn(at page: PageRoute) {
        if let signInPage, signInPage.path != page.path { problems.append("two sign-in pages: \(signInPage.path) and \(page.path)") }
        signInPage = page
    }
}

/// A module method as the dispatcher runs it: the typed handler behind a
/// closure that decodes, validates, runs and encodes.
struct RegisteredMethod: Sendable {
    /// Decodes the argument, validates it, runs the handler and encodes the
    /// result (or, for a form route, the route's outcome for it).
    typealias Run = @Sendable (RPCRequest, ModuleContext, FormRoute?) async throws -> [UInt8]
    /// A form route's redirect for the method's result (passed as `any Sendable`).
    typealias FormRoute = @Sendable (any Sendable) throws -> FormOutcome

    let name: String
    let access: AccessRule
    let idempotent: Bool
    let run: Run
    /// The form routes calling the method, by path.
    var forms: [String: FormRoute] = [:]
}
