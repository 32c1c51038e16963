import StrataCore

/// What a handler knows about the call it serves.
public struct RPCContext: Sendable {
    /// The method being called.
    public let method: String
    /// The caller's metadata.
    public let metadata: [String: String]
    /// When the caller stops waiting, if it said.
    public let deadline: ContinuousClock.Instant?

    /// The request id for logs, if the caller sent one.
    public var requestID: String? { metadata[RPCMetadataKey.requestID] }
}

/// The methods a server answers, by name.
public struct RPCService: Sendable {
    /// A registered method: decodes its argument, runs, encodes its result.
    public typealias Handler = @Sendable (RPCRequest, RPCContext) async throws -> [UInt8]

    private(set) var handlers: [String: Handler] = [:]

    /// Creates a service with no methods.
    public init() {}

    /// Registers a method with typed argument and result, encoded with `RPCCodec`
    /// in whichever encoding the caller chose.
    ///
    /// Errors other than `RPCError` reach the caller as `internal` with a
    /// generic message; `logger` records the real one.
    public mutating func register<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ method: String, logger: Logger? = nil,
        _ handler: @escaping @Sendable (Input, RPCContext) async throws -> Output
    ) {
        handlers[method] = { request, context in
            let input = try RPCCodec.decode(Input.self, from: request.body, as: request.bodyEncoding)
            let output: Output
            do {
                output = try await handler(input, context)
            } catch let error as RPCError {
                throw error
            } catch is CancellationError {
                throw RPCError(.cancelled, "the call was cancelled")
            } catch {
                logger?.error("handler failed", ("method", method), ("error", "\(error)"), ("request_id", context.requestID ?? "-"))
                throw RPCError(.internal, "internal error in \(method)")
            }
            return try RPCCodec.encode(output, as: request.bodyEncoding)
        }
    }

    /// Registers a method that works on raw bodies.
    public mutating func registerRaw(_ method: String, _ handler: @escaping Handler) {
        handlers[method] = handler
    }

    /// The registered method names, sorted.
    public var methods: [String] { handlers.keys.sorted() }

    /// Runs the handler for `request`; every failure comes back as an `RPCError`.
    func handle(_ request: RPCRequest) async -> Result<[UInt8], RPCError> {
        guard let handler = handlers[request.method] else {
            return .failure(RPCError(.unimplemented, "no method named '\(request.method)'"))
        }
        let deadline = request.timeoutMilliseconds == 0 ? nil : ContinuousClock.now + .milliseconds(Int(request.timeoutMilliseconds))
        do {
            return .success(try await handler(request, RPCContext(method: request.method, metadata: request.metadata, deadline: deadline)))
        } catch let error as RPCError {
            return .failure(error)
        } catch is CancellationError {
            return .failure(RPCError(.cancelled, "the call was cancelled"))
        } catch {
            return .failure(RPCError(.internal, "internal error in \(request.method)"))
        }
    }
}
