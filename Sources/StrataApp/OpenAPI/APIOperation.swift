/// A JSON API route as the OpenAPI document describes it: where it is, the
/// method it calls, and its argument's and result's schemas, described
/// from the method's Swift types when the document is made.
struct APIOperation: Sendable {
    let verb: String
    let path: String
    let method: String
    /// The argument's schema, its validation rules as constraints.
    let input: @Sendable () throws(SchemaProblem) -> [String: Any]
    /// The result's schema.
    let output: @Sendable () throws(SchemaProblem) -> [String: Any]
    /// The argument's properties that cannot come from text fields (see
    /// `SchemaRecorder.fieldsNotReadAsText`; nil: not describable): a query
    /// cannot carry them, and with any, the route reads no XML body.
    let fieldsNotReadAsText: [String]?

    init<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        verb: String, path: String, method: ModuleMethod<Input, Output>
    ) {
        self.verb = verb
        self.path = path
        self.method = method.name
        fieldsNotReadAsText = SchemaRecorder.fieldsNotReadAsText(Input.self)
        input = { () throws(SchemaProblem) in try Self.argumentSchema(Input.self) }
        output = { () throws(SchemaProblem) in
            // Results are only `Encodable`; one that is also `Decodable` can be described.
            guard let decodable = Output.self as? any Decodable.Type else {
                throw SchemaProblem("the result type \(Output.self) of \(method.name) cannot be described: make it Codable")
            }
            return try Self.resultSchema(decodable)
        }
    }

    /// Whether the route takes a body and reads it as XML too.
    var readsXMLBody: Bool { ["POST", "PUT", "PATCH"].contains(verb) && fieldsNotReadAsText == [] }

    private static func resultSchema<T: Decodable>(_ type: T.Type) throws(SchemaProblem) -> [String: Any] {
        try SchemaRecorder.describe(T.self).schema
    }

    /// The schema of `T` with the rules of its `validate` (run on the
    /// placeholder in describing mode) on its properties.
    private static func argumentSchema<T: Decodable>(_ type: T.Type) throws(SchemaProblem) -> [String: Any] {
        let (schema, sample) = try SchemaRecorder.describe(T.self)
        guard let validatable = sample as? any Validatable else { return schema }
        var validation = Validation.describing()
        validatable.validate(&validation)
        guard var properties = schema["properties"] as? [String: [String: Any]] else { return schema }
        for (field, rules) in validation.constraints ?? [:] {
            guard var property = properties[field] else { continue }
            for rule in rules {
                let (keyword, value) = rule.keyword
                // Several patterns must all match: JSON Schema holds one per schema, so the rest go in allOf.
                if keyword == "pattern", property["pattern"] != nil {
                    property["allOf"] = (property["allOf"] as? [[String: Any]] ?? []) + [["pattern": value]]
                } else {
                    property[keyword] = value
                }
            }
            properties[field] = property
        }
        var described = schema
        described["properties"] = properties
        return withoutNUL(described)
    }

    /// Text without a NUL character.
    static let noNUL = "^[^\\u0000]*$"

    /// The argument's text fields as the application tier takes them: never
    /// with a NUL character (`InputSafety`), said as a pattern on each.
    private static func withoutNUL(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if SchemaNode.types(of: schema).contains("string"), schema["enum"] == nil {
            let rule: [String: Any] = ["pattern": noNUL]
            schema["allOf"] = (schema["allOf"] as? [[String: Any]] ?? []) + [rule]
        }
        if let properties = schema["properties"] as? [String: [String: Any]] {
            schema["properties"] = properties.mapValues(withoutNUL)
        }
        if let items = schema["items"] as? [String: Any] { schema["items"] = withoutNUL(items) }
        return schema
    }
}
