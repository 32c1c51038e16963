import Foundation
import StrataCore
import StrataHTTP
import StrataProtocol
import StrataRPC

/// JSON API routes: JSON or XML in and out (by `Content-Type` and
/// `Accept`), errors in the same form.
extension WebApplication {
    /// The forms an API answer can take, the server's preference first.
    static let apiMediaTypes = ["application/json", "application/xml"]

    /// Calls the route's method with the path and query parameters (as text
    /// fields) or, for POST, PUT and PATCH, the body's fields (a JSON object,
    /// path parameters added, whole numbers as numbers; or an XML document
    /// read as text fields, like a form), and answers its result as JSON or
    /// XML, whichever `Accept` prefers (406 when neither).
    ///
    /// A bearer API token (`Authorization: Bearer ...`) authenticates the
    /// caller and needs no CSRF token; without one the session cookie is
    /// used, and then an unsafe verb must send `X-CSRF-Token` (from the
    /// `csrf_token` template value), or another site could make a signed-in
    /// browser call it.
    func api(_ route: RouteDescriptor, _ request: HTTPRequest, _ parameters: [String: String]) async -> HTTPResponse {
        guard let form = MediaTypeNegotiation.preferred(request.headers["Accept"], among: Self.apiMediaTypes) else {
            return Self.apiError(
                HTTPStatus(406), code: "notAcceptable", "This route answers application/json or application/xml.", requestID: request.requestID,
                as: "application/json")
        }
        var metadata = metadata(for: request)
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return Self.apiError(HTTPStatus(401), code: "unauthenticated", "Authorization must be 'Bearer <API token>'.", as: form)
            }
            metadata[WebMetadataKey.bearerToken] = String(parts[1].trimmed())
        } else {
            let session = BrowserSession(request: request)
            if !request.method.isSafe && !session.accepts(request.headers["X-CSRF-Token"], key: csrfKey) {
                return Self.apiError(
                    .forbidden, code: "permissionDenied",
                    "Send an API token as 'Authorization: Bearer ...', or this page's CSRF token as X-CSRF-Token.", as: form)
            }
            metadata[WebMetadataKey.session] = session.id
        }
        let body: [UInt8]
        if [.post, .put, .patch].contains(request.method) {
            switch bodyForm(request, readsXML: route.readsXML == true) {
            case "application/json":
                guard let object = Self.jsonObject(request.body, adding: parameters) else {
                    return Self.apiError(.badRequest, code: "invalidArgument", "The body must be a JSON object.", as: form)
                }
                body = object
            case "application/xml":
                do throws(XMLMapping.BodyError) {
                    var fields = try XMLMapping.fields(fromXML: request.body)
                    for (key, value) in parameters { fields[key] = value }
                    metadata[WebMetadataKey.fieldInput] = "1"
                    body = (try? RPCCodec.encode(fields, as: .json)) ?? []
                } catch {
                    return Self.apiError(.badRequest, code: "invalidArgument", "The XML body is refused: \(error.description).", as: form)
                }
            default:
                let readable = route.readsXML == true ? "application/json or application/xml" : "application/json (this route reads no XML)"
                return Self.apiError(HTTPStatus(415), code: "invalidArgument", "Send the body as \(readable).", as: form)
            }
        } else {
            // Strictly, unlike a page's query: a field the route would silently
            // lose (a NUL, a bad escape) is the caller's mistake, named.
            var input: [String: String] = [:]
            do throws(FormDecoding.Error) {
                for (key, value) in try FormDecoding.decode(Array((request.query ?? "").utf8)) where input[key] == nil { input[key] = value }
            } catch {
                let fields = error.field.map { [$0: error.problem] } ?? [:]
                return Self.apiError(
                    .unprocessableContent, code: "invalidArgument", "The query is malformed: \(error.description).", fields: fields,
                    requestID: request.requestID, as: form)
            }
            for (key, value) in parameters { input[key] = value }
            metadata[WebMetadataKey.fieldInput] = "1"
            body = (try? RPCCodec.encode(input, as: .json)) ?? []
        }
        do {
            let reply = try await app.call(route.calls, body: body, encoding: .json, metadata: metadata, idempotent: request.method.isSafe)
            var response = Self.apiAnswer(reply, status: .ok, root: "response", as: form)
            response.headers.set("Cache-Control", "no-store")
            return response
        } catch {
            let status = failureStatus(error, method: route.calls, requestID: request.requestID)
            let message = ErrorMapping.showsMessage(error.code) ? error.message : "Something went wrong on our side."
            var response = Self.apiError(
                status, code: "\(error.code)", message, fields: error.code == .invalidArgument ? error.details : [:],
                requestID: request.requestID, as: form)
            if let wait = error.retryAfter { response.headers.set("Retry-After", wait) }
            return response
        }
    }

    /// The body's media type as this route reads it: JSON, XML (for a route
    /// whose argument XML can carry), or nil for neither. No body reads as
    /// an empty JSON object.
    private func bodyForm(_ request: HTTPRequest, readsXML: Bool) -> String? {
        guard !request.body.isEmpty else { return "application/json" }
        let type = (request.headers["Content-Type"] ?? "").split(separator: ";").first.map { $0.trimmed().lowercased() } ?? ""
        switch type {
        case "application/json": return "application/json"
        case "application/xml", "text/xml": return readsXML ? "application/xml" : nil
        default: return nil
        }
    }

    /// The body as a JSON object with the path parameters added; nil when it is not an object.
    static func jsonObject(_ body: [UInt8], adding parameters: [String: String]) -> [UInt8]? {
        guard !body.isEmpty || !parameters.isEmpty else { return Array("{}".utf8) }
        var object: [String: Any] = [:]
        if !body.isEmpty {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
            object = parsed
        }
        for (key, value) in parameters { object[key] = Int64(value).map { $0 as Any } ?? value }
        return (try? JSONSerialization.data(withJSONObject: object)).map { Array($0) }
    }

    /// `json` as the answer, in `form` (XML under `root`). An answer holding
    /// text XML cannot carry is refused with 406 rather than sent corrupted.
    static func apiAnswer(_ json: [UInt8], status: HTTPStatus, root: String, as form: String) -> HTTPResponse {
        guard form == "application/xml" else {
            return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: json)
        }
        guard let xml = XMLMapping.document(fromJSON: json, root: root) else {
            return apiError(
                HTTPStatus(406), code: "notAcceptable", "The answer holds characters XML 1.0 cannot carry; ask for application/json.",
                as: "application/json")
        }
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/xml; charset=utf-8")]), body: xml)
    }

    /// `{"error": {"code", "message", "fields", "request_id"}}`, or in XML
    /// `<error><code/><message/>...</error>`.
    static func apiError(
        _ status: HTTPStatus, code: String, _ message: String, fields: [String: String] = [:], requestID: String? = nil,
        as form: String = "application/json"
    ) -> HTTPResponse {
        var error: [String: Any] = ["code": code, "message": message]
        if !fields.isEmpty { error["fields"] = fields }
        if let requestID { error["request_id"] = requestID }
        if form == "application/xml",
            let inner = try? JSONSerialization.data(withJSONObject: error, options: [.sortedKeys, .withoutEscapingSlashes]),
            let xml = XMLMapping.document(fromJSON: Array(inner), root: "error")
        {
            return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/xml; charset=utf-8")]), body: xml)
        }
        let body =
            (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) } ?? []
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }
}
