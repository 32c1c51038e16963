import Foundation
import StrataCore
import StrataHTTP
import StrataProtocol
import StrataRPC

/// JSON API routes: JSON in, JSON out, errors as JSON.
extension WebApplication {
    /// Calls the route's method with the path and query parameters (as text
    /// fields) or, for POST, PUT and PATCH, the JSON body's fields (path
    /// parameters added, whole numbers as numbers), and answers its result as JSON.
    ///
    /// A bearer API token (`Authorization: Bearer ...`) authenticates the
    /// caller and needs no CSRF token; without one the session cookie is
    /// used, and then an unsafe verb must send `X-CSRF-Token` (from the
    /// `csrf_token` template value), or another site could make a signed-in
    /// browser call it.
    func api(_ route: RouteDescriptor, _ request: HTTPRequest, _ parameters: [String: String]) async -> HTTPResponse {
        var metadata = metadata(for: request)
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                return Self.jsonError(HTTPStatus(401), code: "unauthenticated", "Authorization must be 'Bearer <API token>'.")
            }
            metadata[WebMetadataKey.bearerToken] = String(parts[1].trimmed())
        } else {
            let session = BrowserSession(request: request)
            if !request.method.isSafe && !session.accepts(request.headers["X-CSRF-Token"], key: csrfKey) {
                return Self.jsonError(
                    .forbidden, code: "permissionDenied",
                    "Send an API token as 'Authorization: Bearer ...', or this page's CSRF token as X-CSRF-Token.")
            }
            metadata[WebMetadataKey.session] = session.id
        }
        let body: [UInt8]
        if [.post, .put, .patch].contains(request.method) {
            guard request.body.isEmpty || request.headers["Content-Type"]?.lowercased().hasPrefix("application/json") == true else {
                return Self.jsonError(HTTPStatus(415), code: "invalidArgument", "Send the body as application/json.")
            }
            guard let object = Self.jsonObject(request.body, adding: parameters) else {
                return Self.jsonError(.badRequest, code: "invalidArgument", "The body must be a JSON object.")
            }
            body = object
        } else {
            var input = request.queryParameters
            for (key, value) in parameters { input[key] = value }
            metadata[WebMetadataKey.fieldInput] = "1"
            do {
                body = try RPCCodec.encode(input, as: .json)
            } catch {
                return Self.jsonError(.internalServerError, code: "internal", "Something went wrong on our side.")
            }
        }
        do {
            let reply = try await app.call(route.calls, body: body, encoding: .json, metadata: metadata, idempotent: request.method.isSafe)
            var response = HTTPResponse(status: .ok, headers: HTTPHeaders([("Content-Type", "application/json")]), body: reply)
            response.headers.set("Cache-Control", "no-store")
            return response
        } catch {
            let status = failureStatus(error, method: route.calls, requestID: request.requestID)
            let message = ErrorMapping.showsMessage(error.code) ? error.message : "Something went wrong on our side."
            var response = Self.jsonError(
                status, code: "\(error.code)", message, fields: error.code == .invalidArgument ? error.details : [:],
                requestID: request.requestID)
            if let wait = error.retryAfter { response.headers.set("Retry-After", wait) }
            return response
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

    /// `{"error": {"code", "message", "fields", "request_id"}}`.
    static func jsonError(
        _ status: HTTPStatus, code: String, _ message: String, fields: [String: String] = [:], requestID: String? = nil
    ) -> HTTPResponse {
        var error: [String: Any] = ["code": code, "message": message]
        if !fields.isEmpty { error["fields"] = fields }
        if let requestID { error["request_id"] = requestID }
        let body = (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])).map { Array($0) } ?? []
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }
}
