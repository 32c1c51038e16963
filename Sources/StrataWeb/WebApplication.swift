import Foundation
import StrataCore
import StrataHTTP
import StrataIO
import StrataProtocol
import StrataRPC
import StrataTemplates
import Synchronization

/// The presentation tier's request handling: static assets, the routes
/// discovered from the application tier, and error pages. Holds no domain code.
public final class WebApplication: HTTPHandler {
    let app: RPCClient
    private let staticFiles: StaticFiles
    private let ownTemplates: [String: String]
    private let logger: Logger
    /// Fingerprinted URLs of the web tier's own static files (`strata_css`); the site adds the modules'.
    private let ownAssets: [String: String]
    /// Where module assets of discovered manifests are written, one folder per version.
    private let assetsRoot: String
    /// The routes and templates in force; replaced whole when the app tier's manifest changes.
    private let current: Mutex<Site>
    /// Key of the CSRF tokens (derived from the RPC secret, so every replica agrees).
    let csrfKey: [UInt8]
    /// Proxies whose `X-Forwarded-Proto` says whether the browser used TLS.
    private let trustedProxies: Set<String>
    /// Whether the last discovery check reached the app tier (for `/readyz`).
    private let appReachable = Atomic<Bool>(false)
    /// Set once shutdown begins, so `/readyz` sends load balancers elsewhere.
    private let draining = Atomic<Bool>(false)
    /// The rate limiter's attempt-limited paths, kept to the manifest's forms.
    private let attemptPaths: AttemptPaths
    /// The modules' reverse-proxy routes, kept across manifest versions.
    private let proxies: ManifestProxies
    /// Which other sites' pages may call the API routes (nil: none).
    private let cors: CORSPolicy?
    /// The forms an error body can take, HTML first.
    static let errorMediaTypes = ["text/html", "application/json", "application/xml"]

    /// The CSRF tokens' key for the RPC secret `secret`.
    static func csrfKey(_ secret: [UInt8]) -> [UInt8] { Digest.hmacSHA256(key: secret, Array("strata csrf tokens".utf8)) }

    /// URL prefix of static assets.
    static let staticPrefix = "/static/"
    /// The metrics route labels of static assets and module files (made once, not per request).
    static let staticRoute = staticPrefix + "*"
    static let moduleRoute = Site.modulePrefix + "*"

    /// Builds the application from a discovered manifest (nil when the app
    /// tier could not be reached yet: dynamic routes then answer 503 until
    /// `discover` finds it) and the web tier's own templates.
    /// `secret` (the RPC secret) keys the CSRF tokens; `trustedProxies` may vouch for TLS.
    /// `attemptPaths` (shared with the `RateLimitMiddleware`) is kept to the
    /// forms the manifest marks attempt-limited. `group` runs the active
    /// health checks of the modules' proxy routes.
    public init(
        manifest: RouteManifest?, app: RPCClient, staticFiles: StaticFiles, ownTemplates: [String: String], logger: Logger,
        secret: [UInt8], trustedProxies: Set<String> = [], attemptPaths: AttemptPaths = AttemptPaths(), group: EventLoopGroup? = nil,
        cors: CORSPolicy? = nil
    ) throws {
        self.cors = cors
        ownAssets = staticFiles.assetURLs()
        assetsRoot = FileManager.default.temporaryDirectory.appendingPathComponent("strata-web-\(getpid())-modules").path
        proxies = ManifestProxies(logger: logger, trustedProxies: trustedProxies, group: group)
        let site = try Site(
            manifest: manifest, ownTemplates: ownTemplates, ownAssets: ownAssets, assetsRoot: assetsRoot,
            proxies: try proxies.gateway(for: manifest?.proxies ?? []))
        attemptPaths.set(site.attemptPaths)
        self.attemptPaths = attemptPaths
        current = Mutex(site)
        appReachable.store(manifest != nil, ordering: .relaxed)
        csrfKey = Self.csrfKey(secret)
        self.trustedProxies = trustedProxies
        self.ownTemplates = ownTemplates
        self.app = app
        self.staticFiles = staticFiles
        self.logger = logger
    }

    /// Ready once routes are discovered and the app tier answered the last
    /// check; not while draining (`/healthz` only says the process lives).
    public var readiness: Readiness {
        if draining.load(ordering: .relaxed) { return .notReady("draining") }
        if site.version == nil { return .notReady("the application tier has not been reached yet") }
        if !appReachable.load(ordering: .relaxed) { return .notReady("the application tier does not answer") }
        return .ready
    }

    /// From now on `/readyz` answers 503: the server is finishing what it holds.
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    /// Stops the modules' proxy routes' health checks.
    public func stop() { proxies.stop() }

    /// For `HTTPLimits.streamsBody`: whether `request` goes to a module's proxy route, which streams bodies.
    public func streamsBody(_ request: HTTPRequest) -> Bool { site.proxies?.streamsBody(request) ?? false }

    /// For `HTTPLimits.bodyLimit`: the body limit of the module proxy route `request` goes to, when it sets one.
    public func bodyLimit(_ request: HTTPRequest) -> Int? { site.proxies?.bodyLimit(request) }

    /// The manifest version in force (nil before the app tier was reached).
    public var manifestVersion: String? { site.version }

    private var site: Site { current.withLock { $0 } }

    /// Switches to `manifest`'s routes and templates at once; a manifest
    /// whose templates do not compile is refused and the old site stays.
    public func update(to manifest: RouteManifest) throws {
        let next = try Site(
            manifest: manifest, ownTemplates: ownTemplates, ownAssets: ownAssets, assetsRoot: assetsRoot,
            proxies: try proxies.gateway(for: manifest.proxies ?? []))
        let previous = current.withLock { site in
            defer { site = next }
            return site.version
        }
        attemptPaths.set(next.attemptPaths)
        // The old version's module files go; a request still holding that site gets a 404 for them at worst.
        if let previous, previous != next.version { try? FileManager.default.removeItem(atPath: assetsRoot + "/" + previous) }
    }

    /// Polls the app tier's manifest version every `interval` until the task
    /// is cancelled, and swaps in the new routes and templates when it
    /// changes: when the app tier comes up late, restarts with a new
    /// version, or (in development mode) has edited templates.
    public func discover(every interval: Duration) async {
        var refused: String?  // a version whose templates did not compile is not fetched again
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            var manifest: RouteManifest?
            do {
                let latest: ManifestVersion = try await app.call(RouteManifest.versionMethod, Empty(), timeout: .seconds(2), idempotent: true)
                appReachable.store(true, ordering: .relaxed)
                guard latest.version != manifestVersion, latest.version != refused else { continue }
                manifest = try await app.call(RouteManifest.method, Empty(), timeout: .seconds(5), idempotent: true)
                try update(to: manifest!)
                logger.info("routes and templates updated", ("manifest", manifest!.version), ("routes", String(manifest!.routes.count)))
            } catch let error as RPCError {
                appReachable.store(false, ordering: .relaxed)
                logger.debug("app tier not reachable for discovery", ("error", error.message))
            } catch {
                refused = manifest?.version
                logger.error("new manifest refused; serving the previous one", ("manifest", refused ?? "?"), ("error", "\(error)"))
            }
        }
    }

    /// Answers static files at once on the event loop; pages and forms call
    /// the application tier in a task.
    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        if request.path == "/readyz", request.method == .get || request.method == .head {
            return .response(readiness.response)
        }
        if request.path.hasPrefix(Site.modulePrefix), request.method == .get || request.method == .head {
            var response =
                site.moduleFiles?.response(for: String(request.path.dropFirst(Site.modulePrefix.count)), request: request)
                ?? errorPage(.notFound, "There is no file at this address.", for: request)
            response.route = Self.moduleRoute
            return .response(response)
        }
        if request.path.hasPrefix(Self.staticPrefix), request.method == .get || request.method == .head {
            var response =
                staticFiles.response(for: String(request.path.dropFirst(Self.staticPrefix.count)), request: request)
                ?? errorPage(.notFound, "There is no file at this address.", for: request)
            response.route = Self.staticRoute
            return .response(response)
        }
        let site = self.site
        // Before the routes and OPTIONS: the upstream answers everything under its prefix.
        if let proxies = site.proxies, let outcome = proxies.handleIfMounted(request) { return outcome }
        if let api = site.api, let response = api.response(for: request, render: { reference(with: $0, request, site: site) }) {
            return .response(response)
        }
        if request.method == .options { return .response(options(request)) }
        switch site.router.match(request.method, path: request.path) {
        case .found(let route, let parameters):
            // Pages carry no entity tag: `If-Match` with tags can never hold
            // for a state-changing request, which must then change nothing (412).
            if !request.method.isSafe, Preconditions.evaluate(request, etag: nil, lastModified: nil) == .failed {
                var response = errorPage(
                    .preconditionFailed, "A condition this request set (If-Match) does not hold.", for: request, site: site)
                response.route = route.path
                return .response(response)
            }
            return .later { [self] in
                var response: HTTPResponse
                switch route.kind {
                case .page: response = await page(route, request, parameters, site: site)
                case .form: response = await form(route, request, parameters, site: site)
                case .api:
                    response = await api(route, request, parameters)
                    if let cors, let origin = cors.allowedOrigin(request) { cors.decorate(&response, origin: origin) }
                }
                response.route = route.path
                return response
            }
        case .methodNotAllowed(let allowed):
            var response = errorPage(
                .methodNotAllowed, "This address does not accept \(request.method) requests.", for: request, site: site)
            response.headers.set("Allow", Self.allowed(allowed))
            return .response(response)
        case .notFound where site.version == nil:
            // No app tier yet: the page may well exist once it is reachable.
            var response = errorPage(
                .serviceUnavailable, "The application is starting or unavailable. Please try again shortly.",
                for: request, site: site)
            response.headers.set("Retry-After", "5")
            return .response(response)
        case .notFound:
            return .response(errorPage(.notFound, "There is no page at this address.", for: request, site: site))
        }
    }

    /// Methods the server implements, for `OPTIONS *`.
    static let serverMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

    /// `OPTIONS`: 204 with `Allow`, for the server (`*`) or one resource.
    private func options(_ request: HTTPRequest) -> HTTPResponse {
        let allowed: String
        if request.target == "*" {
            allowed = Self.serverMethods
        } else if request.path.hasPrefix(Self.staticPrefix) || request.path == "/readyz" || request.path == "/healthz" {
            allowed = "GET, HEAD, OPTIONS"
        } else {
            switch site.router.match(.options, path: request.path) {
            case .found, .notFound:
                return errorPage(.notFound, "There is no page at this address.", for: request)
            case .methodNotAllowed(let methods):
                allowed = Self.allowed(methods)
            }
        }
        if let cors, let preflight = cors.preflight(request, methods: allowed) { return preflight }
        var response = HTTPResponse(status: .noContent)
        response.headers.add("Allow", allowed)
        return response
    }

    /// The `Allow` value for a resource whose routes take `methods`: HEAD with GET, and OPTIONS always.
    static func allowed(_ methods: [HTTPMethod]) -> String {
        var names = methods.map(\.rawValue)
        if let get = names.firstIndex(of: "GET"), !names.contains("HEAD") { names.insert("HEAD", at: get + 1) }
        return (names + ["OPTIONS"]).joined(separator: ", ")
    }

    /// The API reference page, rendered with the web tier's templates.
    private func reference(with value: TemplateValue, _ request: HTTPRequest, site: Site) -> HTTPResponse {
        guard let page = try? site.templates.render("strata/api-docs", value, globals: globals(request.requestID, site: site)) else {
            return errorPage(.internalServerError, "The API reference could not be rendered.", for: request, site: site)
        }
        return .html(page)
    }

    private func page(_ route: RouteDescriptor, _ request: HTTPRequest, _ parameters: [String: String], site: Site) async -> HTTPResponse {
        let requestID = request.requestID
        var input = request.queryParameters
        for (key, value) in parameters { input[key] = value }
        let shared = route.publicMaxAge
        switch await call(route.calls, input: input, request: request, anonymous: shared != nil, site: site) {
        case .failed(let response, let error):
            return error.code == .unauthenticated ? signInFirst(request, site: site) ?? response : response
        case .value(let result) where shared != nil:
            // The same for everyone: no session, viewer or flash in it.
            do {
                var response = HTTPResponse.html(try site.templates.render(route.template ?? "", result, globals: globals(requestID, site: site)))
                response.headers.set("Cache-Control", "public, max-age=\(shared!)")
                return response
            } catch {
                logger.error("template failed", ("template", route.template ?? ""), ("error", "\(error)"), ("request_id", requestID))
                return errorPage(.internalServerError, "Something went wrong on our side.", for: request, site: site)
            }
        case .value(let result):
            let flash = Flash.message(in: request, key: csrfKey)
            let session = LazyBrowserSession(request: request)
            do {
                let body = try site.templates.render(
                    route.template ?? "", result, globals: globals(requestID, session: session, flash: flash, site: site))
                var response = HTTPResponse.html(body)
                // A new browser gets the cookie only when the page holds a form
                // (it used the CSRF token): a page without one (a feed, a benchmark) costs no session.
                if let made = session.used, made.isNew {
                    response.headers.add("Set-Cookie", made.cookieHeader(secure: cameOverTLS(request)))
                }
                if flash != nil { response.headers.add("Set-Cookie", Flash.clearing) }
                // A page may show who is signed in: no shared cache may keep it.
                response.headers.set("Cache-Control", "private, no-cache")
                return response
            } catch {
                logger.error("template failed", ("template", route.template ?? ""), ("error", "\(error)"), ("request_id", requestID))
                return errorPage(.internalServerError, "Something went wrong on our side.", for: request, site: site)
            }
        }
    }

    /// A page or form that needs a signed-in user: to the sign-in page, and
    /// back here afterwards (nil when no module offers a sign-in page).
    private func signInFirst(_ request: HTTPRequest, site: Site) -> HTTPResponse? {
        guard let signIn = site.signInPath else { return nil }
        let back = request.method == .get ? request.target : "/"
        return .redirect(to: signIn + "?next=" + FormDecoding.percentEncode(back))
    }

    private func form(_ route: RouteDescriptor, _ request: HTTPRequest, _ parameters: [String: String], site: Site) async -> HTTPResponse {
        let requestID = request.requestID
        let contentType = request.headers["Content-Type"]?.split(separator: ";").first.map { $0.trimmed().lowercased() }
        guard contentType == "application/x-www-form-urlencoded" else {
            return errorPage(HTTPStatus(415), "Forms must be sent as application/x-www-form-urlencoded.", for: request, site: site)
        }
        let fields: [(String, String)]
        do {
            fields = try FormDecoding.decode(request.body)
        } catch {
            guard let field = error.field else {
                return errorPage(.badRequest, "The form data is malformed: \(error.description)", for: request, site: site)
            }
            // One field the app tier could not take: the form again, with the
            // rest of the input kept (once the rest carries this browser's token).
            let readable = (try? FormDecoding.decode(request.body, skippingMalformed: true)) ?? []
            guard BrowserSession(request: request).acceptsForm(readable, key: csrfKey) else {
                return errorPage(
                    .forbidden, "This form has expired or was sent from another site. Go back, reload the page and try again.",
                    for: request, site: site)
            }
            let problem = RPCError(.invalidArgument, "\(field): \(error.problem)", details: [field: error.problem])
            let rest = Dictionary(readable, uniquingKeysWith: { first, _ in first }).filter { $0.key != BrowserSession.fieldName }
            return await formPageAgain(route, problem, input: rest, pathParameters: parameters, request: request, site: site)
                ?? errorPage(.unprocessableContent, "The field '\(field)' \(error.problem).", for: request, site: site)
        }
        // Every unsafe form must carry this browser's token: another site can make a
        // browser post here, but cannot read our cookie or compute the token.
        guard BrowserSession(request: request).acceptsForm(fields, key: csrfKey) else {
            return errorPage(
                .forbidden, "This form has expired or was sent from another site. Go back, reload the page and try again.",
                for: request, site: site)
        }
        var input = Dictionary(fields.filter { $0.0 != BrowserSession.fieldName }, uniquingKeysWith: { first, _ in first })
        for (key, value) in parameters { input[key] = value }
        switch await call(route.calls, input: input, request: request, form: route.path, site: site, as: FormOutcome.self) {
        case .failed(let response, let error):
            if error.code == .unauthenticated, let signIn = signInFirst(request, site: site) { return signIn }
            return await formPageAgain(route, error, input: input, pathParameters: parameters, request: request, site: site) ?? response
        case .value(let outcome):
            var response = HTTPResponse.redirect(to: FormOutcome.isLocal(outcome.location) ? outcome.location : "/")
            let secure = cameOverTLS(request)
            // Only the auth module starts (a 64-hex token) or ends ("") the signed-in session.
            if let token = outcome.session {
                let session = BrowserSession.signedIn(token) ?? .anonymous()
                response.headers.add("Set-Cookie", session.cookieHeader(secure: secure))
            }
            if let message = outcome.flash, !message.isEmpty {
                response.headers.add("Set-Cookie", Flash.cookie(message, key: csrfKey, secure: secure))
            }
            return response
        }
    }

    /// Calls a page's or form's method with text fields, passing on the
    /// browser's session for the app tier to resolve (and asking for `viewer`).
    /// A form's call (`form`: its path) answers the route's `FormOutcome`.
    private func call<Result: Decodable & Sendable>(
        _ method: String, input: [String: String], request: HTTPRequest, form: String? = nil, anonymous: Bool = false, site: Site,
        as: Result.Type = TemplateValue.self
    ) async -> CallOutcome<Result> {
        let requestID = request.requestID
        var metadata = metadata(for: request)
        // Only a cookie the browser sent can name a signed-in session (the app tier resolves it).
        if !anonymous, let cookie = BrowserSession.cookie(BrowserSession.cookieName, in: request) {
            metadata[WebMetadataKey.session] = cookie
        }
        metadata[WebMetadataKey.fieldInput] = "1"
        if let form {
            metadata[WebMetadataKey.form] = form
        } else if !anonymous {
            metadata[WebMetadataKey.wantsViewer] = "1"
        }
        do {
            // Pages answer GET, which must not change state: safe to retry on another replica. Forms are not.
            let value = try await app.call(method, input, as: Result.self, metadata: metadata, idempotent: form == nil)
            return .value(value)
        } catch {
            let status = failureStatus(error, method: method, requestID: requestID)
            let message = ErrorMapping.showsMessage(error.code) ? error.message : "Something went wrong on our side. Please try again."
            var response = errorPage(status, message, for: request, site: site)
            if let wait = error.retryAfter { response.headers.set("Retry-After", wait) }
            return .failed(response, error)
        }
    }

    /// What every call to the app tier carries: the request id and the browser's address.
    func metadata(for request: HTTPRequest) -> [String: String] {
        [
            RPCMetadataKey.requestID: request.requestID, RPCMetadataKey.traceparent: request.trace.header,
            WebMetadataKey.clientAddress: clientAddress(request),
        ]
    }

    /// The HTTP status for a failed call; failures that are ours, not the user's, are logged.
    func failureStatus(_ error: RPCError, method: String, requestID: String) -> HTTPStatus {
        if !ErrorMapping.showsMessage(error.code) {
            logger.warning("call failed", ("method", method), ("code", "\(error.code)"), ("error", error.message), ("request_id", requestID))
        }
        return ErrorMapping.status(for: error.code)
    }

    /// The browser's address: a trusted proxy's `X-Forwarded-For`, else the peer (for the app tier's sign-in throttle).
    private func clientAddress(_ request: HTTPRequest) -> String {
        let peer = RateLimitMiddleware.host(of: request.remoteAddress)
        guard trustedProxies.contains(peer), let first = request.headers["X-Forwarded-For"]?.split(separator: ",").first?.trimmed(),
            !first.isEmpty
        else { return peer }
        return first
    }

    /// A call's result, or the error page to answer with instead (and the error).
    private enum CallOutcome<Result> {
        case value(Result)
        case failed(HTTPResponse, RPCError)
    }

    /// The page holding a form, rendered again with the form's problems and
    /// the user's input (422), or nil when that page cannot be rendered.
    private func formPageAgain(
        _ route: RouteDescriptor, _ error: RPCError, input: [String: String], pathParameters: [String: String], request: HTTPRequest, site: Site
    ) async -> HTTPResponse? {
        guard error.code == .invalidArgument, let pattern = route.shownOn,
            case .found(let page, let parameters) = site.router.match(.get, path: Self.path(pattern, filledFrom: pathParameters)),
            let template = page.template,
            case .value(let data) = await call(page.calls, input: parameters, request: request, site: site)
        else { return nil }
        var members: [String: TemplateValue] = if case .object(let members) = data { members } else { ["data": data] }
        members["form"] = .object([
            "message": .string(error.message),
            "errors": .object(error.details.mapValues { .string($0) }),
            "values": .object(input.mapValues { .string($0) }),
        ])
        let token = BrowserSession(request: request).csrfToken(key: csrfKey)
        guard let body = try? site.templates.render(template, .object(members), globals: globals(request.requestID, csrfToken: token, site: site))
        else { return nil }
        return .html(body, status: .unprocessableContent)
    }

    /// Renders the error page: `strata/error-<code>` when a module or the
    /// site's `--templates` provides one, else `strata/error` (which they may
    /// override too); falls back to plain text if even that fails.
    /// A client that prefers JSON or XML to HTML (by `Accept`) gets the
    /// error in that form, as the API routes give it, never a page it cannot read.
    func errorPage(_ status: HTTPStatus, _ message: String, for request: HTTPRequest, site: Site? = nil) -> HTTPResponse {
        let requestID = request.requestID
        if let accept = request.headers["Accept"], let form = MediaTypeNegotiation.preferred(accept, among: Self.errorMediaTypes),
            form != "text/html"
        {
            return Self.apiError(status, code: ErrorMapping.code(for: status), message, requestID: requestID, as: form)
        }
        let site = site ?? self.site
        let templates = site.templates
        let specific = "strata/error-\(status.code)"
        let value = TemplateValue.object([
            "status": .int(Int64(status.code)), "reason": .string(status.reason),
            "message": .string(message), "request_id": .string(requestID),
        ])
        guard
            let body = try? templates.render(templates.contains(specific) ? specific : "strata/error", value, globals: globals(requestID, site: site))
        else {
            return .text("\(status.code) \(status.reason): \(message)\n", status: status)
        }
        return .html(body, status: status)
    }

    /// What every template can use besides its own data: `assets` (fingerprinted
    /// static URLs), `request_id`, `flash` (a one-time message), and with a
    /// session `csrf_token` and `csrf_field` (the hidden input every form
    /// needs: `{{{csrf_field}}}`). Pages also get `viewer`, the signed-in
    /// user, in their data.
    private func globals(
        _ requestID: String, csrfToken: String? = nil, session: LazyBrowserSession? = nil, flash: String? = nil, site: Site? = nil
    ) -> TemplateValue {
        var values: [String: TemplateValue] = ["assets": (site ?? self.site).assets, "request_id": .string(requestID)]
        if let flash { values["flash"] = .string(flash) }
        // Masked afresh in every response (BREACH: see `BrowserSession.masked`).
        if let csrfToken {
            let masked = BrowserSession.masked(csrfToken)
            values["csrf_token"] = .string(masked)
            values["csrf_field"] = .string(BrowserSession.csrfField(token: masked))
        } else if let session {
            // Computed when a template uses them, which is how the page says it needs a session.
            let key = csrfKey
            values["csrf_token"] = .lambda(TemplateLambda { _ in BrowserSession.masked(session.csrfToken(key: key)) })
            values["csrf_field"] = .lambda(
                TemplateLambda { _ in BrowserSession.csrfField(token: BrowserSession.masked(session.csrfToken(key: key))) })
        }
        return .object(values)
    }

    /// Whether the browser used TLS: to this server, or to a trusted proxy that says so in `X-Forwarded-Proto`.
    private func cameOverTLS(_ request: HTTPRequest) -> Bool {
        request.isSecure
            || (trustedProxies.contains(RateLimitMiddleware.host(of: request.remoteAddress))
                && request.headers["X-Forwarded-Proto"]?.lowercased() == "https")
    }

    /// `/projects/:project` with the form's own `:project` (its path parameters), percent-encoded.
    static func path(_ pattern: String, filledFrom parameters: [String: String]) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? FormDecoding.percentEncode(parameters[String(segment.dropFirst())] ?? "") : String(segment)
        }.joined(separator: "/")
    }
}
