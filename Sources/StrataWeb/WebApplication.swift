import StrataCore
import StrataHTTP
import StrataRPC
import StrataTemplates

/// The presentation tier's request handling: static assets, the routes
/// discovered from the application tier, and error pages. Holds no domain code.
public final class WebApplication: HTTPHandler {
    private let app: RPCClient
    private let staticFiles: StaticFiles
    private let router: Router<RouteDescriptor>
    private let templates: TemplateLibrary
    private let logger: Logger
    /// Fingerprinted URLs of the static assets, for templates (`{{assets.strata_css}}`).
    private let assets: TemplateValue

    /// URL prefix of static assets.
    static let staticPrefix = "/static/"

    /// Builds the application from a discovered manifest and the web tier's own templates.
    public init(manifest: RouteManifest, app: RPCClient, staticFiles: StaticFiles, ownTemplates: [String: String], logger: Logger) throws {
        var sources = ownTemplates
        for (name, source) in manifest.templates { sources[name] = source }
        // Strict: a page naming a layout or partial that does not exist fails at start, not as a blank render.
        templates = try TemplateLibrary(sources: sources, strict: true)
        var router = Router<RouteDescriptor>()
        for route in manifest.routes {
            router.add(route.kind == .page ? .get : .post, route.path, route)
        }
        self.router = router
        self.app = app
        self.staticFiles = staticFiles
        self.logger = logger
        assets = .object(staticFiles.assetURLs().mapValues { .string($0) })
    }

    /// Answers static files at once on the event loop; pages and forms call
    /// the application tier in a task.
    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        if request.path.hasPrefix(Self.staticPrefix), request.method == .get || request.method == .head {
            return .response(
                staticFiles.response(for: String(request.path.dropFirst(Self.staticPrefix.count)), request: request)
                    ?? errorPage(.notFound, "There is no file at this address.", requestID: request.requestID))
        }
        switch router.match(request.method, path: request.path) {
        case .found(let route, let parameters):
            return .later { [self] in
                switch route.kind {
                case .page: await page(route, request, parameters, requestID: request.requestID)
                case .form: await form(route, request, parameters, requestID: request.requestID)
                }
            }
        case .methodNotAllowed(let allowed):
            var response = errorPage(.methodNotAllowed, "This address does not accept \(request.method) requests.", requestID: request.requestID)
            response.headers.set("Allow", allowed.map(\.rawValue).joined(separator: ", "))
            return .response(response)
        case .notFound:
            return .response(errorPage(.notFound, "There is no page at this address.", requestID: request.requestID))
        }
    }

    private func page(_ route: RouteDescriptor, _ request: HTTPRequest, _ parameters: [String: String], requestID: String) async -> HTTPResponse {
        var input = request.queryParameters
        for (key, value) in parameters { input[key] = value }
        // Pages answer GET, which must not change state: safe to retry on another replica.
        switch await call(route.calls, input: input, request: request, requestID: requestID, idempotent: true) {
        case .failed(let response):
            return response
        case .value(let result):
            do {
                return .html(try templates.render(route.template ?? "", result, globals: globals(requestID)))
            } catch {
                logger.error("template failed", ("template", route.template ?? ""), ("error", "\(error)"), ("request_id", requestID))
                return errorPage(.internalServerError, "Something went wrong on our side.", requestID: requestID)
            }
        }
    }

    private func form(_ route: RouteDescriptor, _ request: HTTPRequest, _ parameters: [String: String], requestID: String) async -> HTTPResponse {
        let contentType = request.headers["Content-Type"]?.split(separator: ";").first.map { $0.trimmed().lowercased() }
        guard contentType == "application/x-www-form-urlencoded" else {
            return errorPage(HTTPStatus(415), "Forms must be sent as application/x-www-form-urlencoded.", requestID: requestID)
        }
        let fields: [(String, String)]
        do {
            fields = try FormDecoding.decode(String(decoding: request.body, as: UTF8.self))
        } catch {
            return errorPage(.badRequest, "The form data is malformed: \(error.description)", requestID: requestID)
        }
        var input = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        for (key, value) in parameters { input[key] = value }
        switch await call(route.calls, input: input, request: request, requestID: requestID, idempotent: false) {
        case .failed(let response):
            return response
        case .value(let result):
            return .redirect(to: Self.fill(route.redirect ?? "/", from: result))
        }
    }

    private func call(
        _ method: String, input: [String: String], request: HTTPRequest, requestID: String, idempotent: Bool
    ) async -> CallOutcome {
        let metadata = [RPCMetadataKey.requestID: requestID, RPCMetadataKey.clientAddress: request.remoteAddress]
        do {
            let value = try await app.call(method, input, as: TemplateValue.self, metadata: metadata, idempotent: idempotent)
            return .value(value)
        } catch {
            if !ErrorMapping.showsMessage(error.code) {
                logger.warning("call failed", ("method", method), ("code", "\(error.code)"), ("error", error.message), ("request_id", requestID))
            }
            let status = ErrorMapping.status(for: error.code)
            let message = ErrorMapping.showsMessage(error.code) ? error.message : "Something went wrong on our side. Please try again."
            return .failed(errorPage(status, message, requestID: requestID))
        }
    }

    /// A call's result, or the error page to answer with instead.
    private enum CallOutcome {
        case value(TemplateValue)
        case failed(HTTPResponse)
    }

    /// Renders the error page; falls back to plain text if even that fails.
    func errorPage(_ status: HTTPStatus, _ message: String, requestID: String) -> HTTPResponse {
        let value = TemplateValue.object([
            "status": .int(Int64(status.code)), "reason": .string(status.reason),
            "message": .string(message), "request_id": .string(requestID),
        ])
        guard let body = try? templates.render("strata/error", value, globals: globals(requestID)) else {
            return .text("\(status.code) \(status.reason): \(message)\n", status: status)
        }
        return .html(body, status: status)
    }

    /// What every template can use besides its own data: `assets` (fingerprinted
    /// static URLs) and `request_id`.
    private func globals(_ requestID: String) -> TemplateValue {
        .object(["assets": assets, "request_id": .string(requestID)])
    }

    /// Replaces `{field}` in a redirect target with the result's (percent-encoded) field value.
    static func fill(_ target: String, from result: TemplateValue) -> String {
        var out = ""
        var rest = Substring(target)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let key = String(rest[rest.index(after: open)..<close])
            out += FormDecoding.percentEncode(result[key]?.text ?? "")
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
