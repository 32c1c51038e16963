import Foundation

/// The OpenAPI 3.1 description of the modules' JSON API routes, made from
/// the routes' method types when the application tier starts and served by
/// the web tier at `/api/openapi.json`.
///
/// Each `m.api` route is an operation: its path parameters (`:id` →
/// `{id}`), its argument's other fields as query parameters (GET, DELETE)
/// or a JSON body (POST, PUT, PATCH), the result as the 200 answer, every
/// error status the web tier gives with the `{"error": {...}}` shape, and
/// who may call it (an API token, or the session cookie with the CSRF
/// header; nothing for public methods).
enum OpenAPIDocument {
    /// The document as JSON, or every type that could not be described.
    static func make(_ operations: [APIOperation], access: [String: AccessRule], version: String) throws(AppConfigurationError) -> [UInt8] {
        var paths: [String: [String: Any]] = [:]
        var problems: [String] = []
        var operationIDs: Set<String> = []
        for operation in operations {
            do throws(SchemaProblem) {
                var item = try describe(operation, isPublic: { if case .public = access[operation.method] { true } else { false } }())
                var id = operation.method
                var n = 2
                while operationIDs.contains(id) {
                    id = "\(operation.method)-\(n)"
                    n += 1
                }
                operationIDs.insert(id)
                item["operationId"] = id
                paths[openAPIPath(operation.path), default: [:]][operation.verb.lowercased()] = item
            } catch {
                problems.append("API route \(operation.verb) \(operation.path): \(error.description)")
            }
        }
        guard problems.isEmpty else { throw AppConfigurationError(problems: problems) }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "Strata application API", "version": version,
                "description": "The JSON API routes the application's modules declare (m.api), generated from their Swift types.",
            ],
            "paths": paths,
            "components": [
                "schemas": ["Error": errorSchema, "XMLError": xmlErrorSchema],
                "securitySchemes": [
                    "apiToken": ["type": "http", "scheme": "bearer", "description": "An API token from the account page."],
                    "session": ["type": "apiKey", "in": "cookie", "name": "strata_session"],
                    "csrfToken": [
                        "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                        "description": "Needed with the session cookie for POST, PUT, PATCH and DELETE.",
                    ],
                ],
            ],
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw AppConfigurationError(problems: ["the OpenAPI document could not be written as JSON"])
        }
        return Array(data)
    }

    /// `/tasks/:id` as OpenAPI writes it: `/tasks/{id}`.
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }.joined(separator: "/")
    }

    private static func describe(_ operation: APIOperation, isPublic: Bool) throws(SchemaProblem) -> [String: Any] {
        let input = try operation.input()
        let output = try operation.output()
        let properties = input["properties"] as? [String: Any] ?? [:]
        let required = Set(input["required"] as? [String] ?? [])
        let pathNames = operation.path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
        var parameters: [[String: Any]] = []
        for name in pathNames {
            guard let schema = properties[name] else {
                throw SchemaProblem("the path parameter :\(name) is not a field of the method's argument")
            }
            parameters.append(["name": name, "in": "path", "required": true, "schema": schema])
        }
        var item: [String: Any] = ["summary": "Calls \(operation.method)."]
        let others = properties.keys.filter { !pathNames.contains($0) }.sorted()
        if ["POST", "PUT", "PATCH"].contains(operation.verb) {
            var body: [String: Any] = ["type": "object", "properties": properties.filter { !pathNames.contains($0.key) }]
            let bodyRequired = required.subtracting(pathNames).sorted()
            if !bodyRequired.isEmpty { body["required"] = bodyRequired }
            var content: [String: Any] = ["application/json": ["schema": body]]
            if operation.readsXMLBody { content["application/xml"] = ["schema": xmlBody(body)] }
            // With no field required (a PATCH changing what it names), no body at all is as good as {}.
            item["requestBody"] = ["required": !bodyRequired.isEmpty, "content": content]
        } else {
            if let name = (operation.fieldsNotReadAsText ?? []).first(where: others.contains) {
                throw SchemaProblem(
                    "the field \(name) would be a query parameter, which holds text: make it a POST route or a plain field (text, number, boolean, string enum)"
                )
            }
            for name in others {
                guard let schema = properties[name] as? [String: Any] else { continue }
                // Query fields read like form fields: an empty value is the same as none.
                var parameter: [String: Any] = ["name": name, "in": "query", "required": required.contains(name), "schema": schema]
                if !required.contains(name) { parameter["allowEmptyValue"] = true }
                parameters.append(parameter)
            }
        }
        if !parameters.isEmpty { item["parameters"] = parameters }
        var responses: [String: Any] = [
            "200": [
                "description": "The method's result.", "content": ["application/json": ["schema": output], "application/xml": ["schema": output]],
            ]
        ]
        // 401 stays for public routes too: a malformed or unknown API token is refused before any method.
        for (status, meaning) in errorStatuses {
            responses[status] = [
                "description": meaning,
                "content": [
                    "application/json": ["schema": ["$ref": "#/components/schemas/Error"]],
                    "application/xml": ["schema": ["$ref": "#/components/schemas/XMLError"]],
                ],
            ]
        }
        item["responses"] = responses
        item["security"] = isPublic ? [[String: [String]]()] : [["apiToken": [String]()], ["session": [String](), "csrfToken": [String]()]]
        return item
    }

    /// The JSON body's schema as an XML body carries it (README, "Web
    /// services"): the root element `request`, an element per field whose
    /// text is read as a form field's. So no field is null (absent or empty
    /// is how XML says nil) or nested, field names are XML names, and text
    /// holds only characters XML 1.0 carries unchanged: no control
    /// characters, and no raw CR, which every XML parser reads as LF (a
    /// writer must send `&#13;`).
    static func xmlBody(_ body: [String: Any]) -> [String: Any] {
        var schema = body
        schema["xml"] = ["name": "request"]
        schema["propertyNames"] = ["pattern": "^[A-Za-z_][A-Za-z0-9_.-]*$"]
        // A field the route does not take is ignored, as in JSON, if it is one XML can send: plain text.
        schema["additionalProperties"] = ["type": ["string", "number", "boolean"], "pattern": xmlText]
        let properties = body["properties"] as? [String: [String: Any]] ?? [:]
        schema["properties"] = properties.mapValues { property in
            var property = property
            let types = SchemaNode.types(of: property).filter { $0 != "null" }
            if types.count == 1 { property["type"] = types[0] } else if !types.isEmpty { property["type"] = types }
            if let values = property["enum"] as? [Any] { property["enum"] = values.filter { !($0 is NSNull) } }
            if types.contains("string"), property["enum"] == nil {
                // In place of the NUL rule, which this one contains.
                let rules = (property["allOf"] as? [[String: Any]] ?? []).filter { $0["pattern"] as? String != APIOperation.noNUL }
                property["allOf"] = rules + [["pattern": xmlText]]
            }
            return property
        }
        return schema
    }

    /// Text whose every character an XML 1.0 document carries as written.
    static let xmlText = "^[^\\u0000-\\u0008\\u000B-\\u001F\\uFFFE\\uFFFF]*$"

    /// What the web tier can answer besides the result, with the error shape.
    static let errorStatuses: [(String, String)] = [
        ("400", "The body is not a JSON object, or the request is malformed."),
        ("401", "No valid API token or session: sign in first."),
        ("403", "Not allowed, or the CSRF token is missing."),
        ("404", "No such resource."),
        ("406", "None of the media types the Accept header allows can be given."),
        ("409", "The request conflicts with the resource's state."),
        ("413", "The body is too large."),
        ("415", "The body is not in a media type the route reads."),
        ("422", "A field is missing, mistyped or breaks a rule; `fields` says which."),
        ("429", "Too many requests; Retry-After says when to try again."),
        ("500", "A failure on the server's side; quote the request id."),
        ("503", "The application is unavailable for a moment."),
        ("504", "The application did not answer in time."),
    ]

    static var errorSchema: [String: Any] {
        ["type": "object", "required": ["error"], "properties": ["error": errorDetail]]
    }

    /// The same error in XML: its root element is `error` itself.
    static var xmlErrorSchema: [String: Any] {
        errorDetail.merging(["xml": ["name": "error"]]) { $1 }
    }

    private static var errorDetail: [String: Any] {
        [
            "type": "object", "required": ["code", "message"],
            "properties": [
                "code": ["type": "string", "description": "The application error code, such as invalidArgument or notFound."],
                "message": ["type": "string"],
                "fields": ["type": "object", "additionalProperties": ["type": "string"], "description": "Problems by field."],
                "request_id": ["type": "string"],
            ],
        ]
    }
}
