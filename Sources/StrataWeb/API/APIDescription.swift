import Foundation
import StrataHTTP
import StrataTemplates

/// The application's API as the web tier offers it to clients that look
/// for it: the OpenAPI document the app tier made (`/api/openapi.json`, and
/// the same as YAML at `/api/openapi.yaml`), a reference page rendered from it with Strata's own templates
/// (`/api/docs`), and the RFC 9727 catalog pointing at both
/// (`/.well-known/api-catalog`). Made once per manifest.
struct APIDescription: Sendable {
    static let documentPath = "/api/openapi.json"
    static let yamlDocumentPath = "/api/openapi.yaml"
    static let referencePath = "/api/docs"
    static let catalogPath = "/.well-known/api-catalog"

    /// The OpenAPI document's bytes.
    let document: [UInt8]
    /// The same document as YAML.
    let yamlDocument: [UInt8]
    /// The manifest version, the document's entity tag.
    let version: String
    /// What the reference page shows.
    let reference: TemplateValue

    init?(document: [UInt8]?, version: String?) {
        guard let document, let version,
            let parsed = try? JSONSerialization.jsonObject(with: Data(document)) as? [String: Any]
        else { return nil }
        self.document = document
        yamlDocument = Array((YAMLText.text(of: parsed) ?? "").utf8)
        self.version = version
        reference = Self.reference(parsed, version: version)
    }

    /// The answer for `request` when it asks for one of the three; nil otherwise.
    func response(for request: HTTPRequest, render: (TemplateValue) -> HTTPResponse) -> HTTPResponse? {
        guard request.method == .get || request.method == .head else { return nil }
        switch request.path {
        case Self.documentPath:
            return documentResponse(document, type: "application/openapi+json", for: request)
        case Self.yamlDocumentPath:
            return documentResponse(yamlDocument, type: "application/openapi+yaml", for: request)
        case Self.referencePath:
            return render(reference)
        case Self.catalogPath:
            // RFC 9727: a linkset naming the API's description and documentation.
            let host = request.headers["Host"] ?? "localhost"
            let anchor = "\(request.isSecure ? "https" : "http")://\(host)/api/"
            let linkset: [String: Any] = [
                "linkset": [
                    [
                        "anchor": anchor,
                        "service-desc": [
                            ["href": Self.documentPath, "type": "application/openapi+json"],
                            ["href": Self.yamlDocumentPath, "type": "application/openapi+yaml"],
                        ],
                        "service-doc": [["href": Self.referencePath, "type": "text/html"]],
                    ]
                ]
            ]
            let body =
                (try? JSONSerialization.data(withJSONObject: linkset, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) } ?? []
            var response = HTTPResponse(
                status: .ok,
                headers: HTTPHeaders([("Content-Type", "application/linkset+json; profile=\"https://www.rfc-editor.org/info/rfc9727\"")]),
                body: body)
            response.headers.set("Link", "<\(Self.catalogPath)>; rel=\"api-catalog\"")
            return response
        default:
            return nil
        }
    }

    /// The document in one form, revalidated by the manifest version.
    private func documentResponse(_ body: [UInt8], type: String, for request: HTTPRequest) -> HTTPResponse {
        var response = HTTPResponse(status: .ok, headers: HTTPHeaders([("Content-Type", type)]), body: body)
        response.headers.set("ETag", "\"\(version)\"")
        response.headers.set("Cache-Control", "no-cache")
        if request.headers["If-None-Match"] == "\"\(version)\"" { response = HTTPResponse(status: .notModified, headers: response.headers) }
        return response
    }

    /// The reference page's data: each operation with its parameters and its body's and answer's schemas as indented JSON.
    private static func reference(_ document: [String: Any], version: String) -> TemplateValue {
        func json(_ value: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted])).map { String(decoding: $0, as: UTF8.self) }
                ?? ""
        }
        var operations: [TemplateValue] = []
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        for path in paths.keys.sorted() {
            for (verb, value) in (paths[path] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let operation = value as? [String: Any] else { continue }
                let parameters = (operation["parameters"] as? [[String: Any]] ?? []).map { parameter in
                    TemplateValue.object([
                        "name": .string(parameter["name"] as? String ?? ""), "in": .string(parameter["in"] as? String ?? ""),
                        "required": .bool(parameter["required"] as? Bool ?? false), "schema": .string(json(parameter["schema"] ?? [:])),
                    ])
                }
                let body = ((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any]
                let answer =
                    (((operation["responses"] as? [String: Any])?["200"] as? [String: Any])?["content"] as? [String: Any])?[
                        "application/json"] as? [String: Any]
                let security = operation["security"] as? [[String: Any]] ?? []
                operations.append(
                    .object([
                        "verb": .string(verb.uppercased()), "path": .string(path), "summary": .string(operation["summary"] as? String ?? ""),
                        "operation_id": .string(operation["operationId"] as? String ?? ""),
                        "signed_in": .bool(security.contains { !$0.isEmpty }),
                        "parameters": .array(parameters), "has_parameters": .bool(!parameters.isEmpty),
                        "body": body.map { .string(json($0["schema"] ?? [:])) } ?? .null,
                        "result": .string(json(answer?["schema"] ?? [:])),
                    ]))
            }
        }
        return .object(["version": .string(version), "operations": .array(operations)])
    }
}
