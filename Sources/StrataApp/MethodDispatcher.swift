import Foundation
import StrataCore
import StrataProtocol
import StrataRPC

/// Where a module's handler is called. Every call of a module method goes
/// through the same steps, in this order:
///
/// 1. **identify**: the user from the session or API token in the call;
/// 2. **authorize**: the method's access rule against that user;
/// 3. **decode** the argument (text fields, JSON or the binary encoding);
/// 4. **validate** it (`Validatable` rules);
/// 5. **run** the handler;
/// 6. **encode** the result (or, for a form route, its `FormOutcome`);
/// 7. **attach the viewer** (the signed-in user) to a page's result.
///
/// Steps 3 to 6 are typed, so they run inside the closure `ModuleRegistry`
/// built for the method; every failure becomes an `RPCError` in `rpcError(_:)`.
struct MethodDispatcher: Sendable {
    let data: RPCClient
    let logger: Logger

    /// Answers one call of `method`.
    func dispatch(_ method: RegisteredMethod, _ request: RPCRequest, _ rpc: RPCContext) async throws(RPCError) -> [UInt8] {
        let requestID = rpc.requestID ?? "-"
        // This tier's span of the caller's trace (a new trace when the caller sent none).
        let trace = rpc.trace?.child() ?? .start()
        let db = Database(client: data, requestID: requestID, trace: trace, logger: logger, deadline: rpc.deadline, caller: rpc.metadata)
        do {
            let user = try await identify(rpc.metadata, db)
            let context = ModuleContext(requestID: requestID, logger: db.logger, db: db, metadata: rpc.metadata, deadline: rpc.deadline, user: user)
            try await method.access.check(context)
            let reply = try await method.run(request, context, try formRoute(of: method, rpc.metadata))
            return try attachViewer(user, to: reply, rpc.metadata, request)
        } catch {
            throw rpcError(error, method: method.name, logger: db.logger)
        }
    }

    /// Step 1. Identity comes from the credentials in the call, checked here; the web tier only passes them on.
    private func identify(_ metadata: [String: String], _ db: Database) async throws -> User? {
        try await Accounts(db).identify(metadata)
    }

    /// The form route a call serves, when the caller named one.
    private func formRoute(of method: RegisteredMethod, _ metadata: [String: String]) throws(RPCError) -> RegisteredMethod.FormRoute? {
        guard let path = metadata[WebMetadataKey.form] else { return nil }
        guard let route = method.forms[path] else { throw RPCError(.notFound, "no form POST \(path) calls \(method.name)") }
        return route
    }

    /// Step 3: the argument of a call, from text fields (web forms, query
    /// strings), JSON (API routes, tools) or the binary encoding (other tiers).
    static func decode<Input: Decodable>(_ type: Input.Type, _ request: RPCRequest) throws(RPCError) -> Input {
        if request.metadata[WebMetadataKey.fieldInput] == "1" {
            return try FieldDecoder.decode(Input.self, from: try RPCCodec.decode([String: String].self, from: request.body, as: request.bodyEncoding))
        }
        guard request.bodyEncoding == .json else { return try RPCCodec.decode(Input.self, from: request.body) }
        do {
            var body = request.body
            if InputSafety.containsNULEscape(body) {
                // Only the fields the argument has count: a NUL in a field it ignores reaches nothing, and goes.
                if let fields = (try? SchemaRecorder.describe(Input.self))?.schema["properties"] as? [String: Any],
                    let kept = InputSafety.keeping(Set(fields.keys), of: body)
                {
                    body = kept
                }
                if let field = InputSafety.fieldWithNUL(inJSON: body) { throw FieldErrors([field: InputSafety.nulProblem]).rpcError }
            }
            return try JSONDecoder().decode(Input.self, from: Data(body.isEmpty ? Array("{}".utf8) : body))
        } catch let error as RPCError {
            throw error
        } catch let error as DecodingError {
            throw fieldErrors(error).rpcError
        } catch {
            throw RPCError(.invalidArgument, "the body is not valid JSON")
        }
    }

    /// Step 4: every rule of a `Validatable` argument, all problems at once.
    static func validate<Input>(_ input: Input) throws(RPCError) -> Input {
        guard let validatable = input as? any Validatable else { return input }
        var validation = Validation()
        validatable.validate(&validation)
        if !validation.errors.isEmpty { throw FieldErrors(validation.errors).rpcError }
        return input
    }

    /// Step 6: the result in the caller's encoding, or the form route's outcome for it.
    static func encode<Output: Encodable & Sendable>(
        _ output: Output, for request: RPCRequest, form: RegisteredMethod.FormRoute?
    ) throws -> [UInt8] {
        guard let form else { return try RPCCodec.encode(output, as: request.bodyEncoding) }
        return try RPCCodec.encode(try form(output), as: request.bodyEncoding)
    }

    /// Step 7: a page shows who is signed in, so the web tier asks for the user beside an object result.
    private func attachViewer(_ user: User?, to reply: [UInt8], _ metadata: [String: String], _ request: RPCRequest) throws(RPCError) -> [UInt8] {
        guard let user, metadata[WebMetadataKey.wantsViewer] == "1", request.bodyEncoding == .binary else { return reply }
        return try RPCCodec.addingEntry("viewer", user, toMap: reply) ?? reply
    }

    /// The one place a failure becomes what the caller sees: the module's own
    /// `RPCError` and field errors as they are; anything else is logged and
    /// reported as internal, without details.
    func rpcError(_ error: any Error, method: String, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError: return error
        case let error as FieldErrors: return error.rpcError
        case is CancellationError: return RPCError(.cancelled, "the call was cancelled")
        default:
            logger.error("method failed", ("method", method), ("error", "\(error)"))
            return RPCError(.internal, "internal error")
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
