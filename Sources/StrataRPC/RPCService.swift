import StrataCore
import Synchronization

/// What a handler knows about the call it serves.
public struct RPCContext: Sendable {
    /// The method being called.
    public let method: String
    /// The caller's metadata.
    public let metadata: [String: String]
    /// When the caller stops waiting, if it said.
    public let deadline: ContinuousClock.Instant?
    /// Identifies the peer connection the call came on, for state bound to it
    /// (the data tier's transactions); `RPCService.connectionClosed` says when it ends.
    public var connectionID: UInt64 = 0

    /// The request id for logs, if the caller sent one.
    public var requestID: String? { metadata[RPCMetadataKey.requestID] }
    /// The caller's trace context, when it sent a valid one.
    public var trace: TraceContext? { metadata[RPCMetadataKey.traceparent].flatMap(TraceContext.init(header:)) }
}

/// How a method may be called, listed by `rpc.methods`.
public struct RPCMethodOptions: Sendable {
    /// Who may call it, in words (`any peer tier`, `signed-in`, `role admin`).
    public var access: String
    /// Whether running it twice does no harm, so callers may retry it.
    public var idempotent: Bool
    /// Calls allowed to run at once; more are answered `resourceExhausted`.
    public var maxConcurrent: Int?

    /// Options for a method any authenticated peer tier may call.
    public init(access: String = "any peer tier", idempotent: Bool = false, maxConcurrent: Int? = nil) {
        self.access = access
        self.idempotent = idempotent
        self.maxConcurrent = maxConcurrent
    }
}

/// The methods a server answers, by name, plus the built-in ones every
/// Strata RPC server has: `health.check`, `rpc.methods` and `rpc.metrics`.
public struct RPCService: Sendable {
    /// A registered method: decodes its argument, runs, encodes its result.
    public typealias Handler = @Sendable (RPCRequest, RPCContext) async throws -> [UInt8]

    private(set) var registered: [String: RegisteredMethod] = [:]

    /// What `health.check` reports while the server is not draining; by
    /// default always serving. Tiers check what they depend on (the database).
    public var healthCheck: @Sendable () async -> RPCHealth = { RPCHealth(serving: true) }

    /// Calls at least `threshold` long get a warning line on `logger` with
    /// their method, duration, code, request id and trace id (nil: none).
    public var slowCalls: (threshold: Duration, logger: Logger)?

    /// Called when a peer connection closes, with its `RPCContext.connectionID`.
    public var connectionClosed: @Sendable (UInt64) -> Void = { _ in }

    /// Creates a service with only the built-in methods.
    public init() {}

    /// Registers a method with typed argument and result, encoded with `RPCCodec`
    /// in whichever encoding the caller chose.
    ///
    /// Errors other than `RPCError` reach the caller as `internal` with a
    /// generic message; `logger` records the real one.
    public mutating func register<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ method: String, options: RPCMethodOptions = RPCMethodOptions(), logger: Logger? = nil,
        _ handler: @escaping @Sendable (Input, RPCContext) async throws -> Output
    ) {
        registerRaw(method, options: options) { request, context in
            let input = try RPCCodec.decode(Input.self, from: request.body, as: request.bodyEncoding)
            let output: Output
            do {
                output = try await handler(input, context)
            } catch let error as RPCError {
                throw error
            } catch is CancellationError {
                throw RPCError(.cancelled, "the call was cancelled")
            } catch {
                logger?.error(
                    "handler failed", ("method", method), ("error", "\(error)"), ("request_id", context.requestID ?? "-"),
                    ("trace_id", context.trace?.traceID ?? "-"))
                throw RPCError(.internal, "internal error in \(method)")
            }
            return try RPCCodec.encode(output, as: request.bodyEncoding)
        }
    }

    /// Registers the handler of `method`, with the descriptor's name,
    /// idempotency and access; `maxConcurrent` caps the calls running at once.
    public mutating func register<Input, Output>(
        _ method: RPCMethod<Input, Output>, maxConcurrent: Int? = nil, logger: Logger? = nil,
        _ handler: @escaping @Sendable (Input, RPCContext) async throws -> Output
    ) {
        let options = RPCMethodOptions(access: method.access, idempotent: method.idempotent, maxConcurrent: maxConcurrent)
        register(method.name, options: options, logger: logger, handler)
    }

    /// Registers a method that works on raw bodies.
    public mutating func registerRaw(_ method: String, options: RPCMethodOptions = RPCMethodOptions(), _ handler: @escaping Handler) {
        registered[method] = RegisteredMethod(handler: handler, options: options)
    }

    /// The registered method names (built-ins included), sorted.
    public var methods: [String] { (Array(registered.keys) + RPCBuiltin.allCases.map(\.rawValue)).sorted() }

    /// Runs the handler for `request`; every failure comes back as an `RPCError`.
    /// `draining` makes `health.check` report not serving.
    func handle(_ request: RPCRequest, draining: Bool = false, connectionID: UInt64 = 0) async -> Result<[UInt8], RPCError> {
        guard let method = registered[request.method] else {
            if let builtin = RPCBuiltin(rawValue: request.method) {
                return await answer(builtin, request, draining: draining)
            }
            return .failure(RPCError(.unimplemented, "no method named '\(request.method)'"))
        }
        guard method.enter() else {
            let error = RPCError(.resourceExhausted, "too many calls to \(request.method) at once; try again shortly")
            method.stats.record(error.code, after: .zero)
            return .failure(error)
        }
        defer { method.leave() }
        let started = ContinuousClock.now
        let deadline = request.timeoutMilliseconds == 0 ? nil : started + .milliseconds(Int(request.timeoutMilliseconds))
        var context = RPCContext(method: request.method, metadata: request.metadata, deadline: deadline)
        context.connectionID = connectionID
        let result: Result<[UInt8], RPCError>
        do {
            result = .success(try await method.handler(request, context))
        } catch let error as RPCError {
            result = .failure(error)
        } catch is CancellationError {
            result = .failure(RPCError(.cancelled, "the call was cancelled"))
        } catch {
            result = .failure(RPCError(.internal, "internal error in \(request.method)"))
        }
        let elapsed = ContinuousClock.now - started
        method.stats.record(result.errorCode, after: elapsed)
        if let slowCalls, elapsed >= slowCalls.threshold {
            slowCalls.logger.warning(
                "slow call", ("method", request.method), ("ms", String(elapsed.wholeMilliseconds)),
                ("code", result.errorCode.map { "\($0)" } ?? "ok"), ("request_id", context.requestID ?? "-"),
                ("trace_id", context.trace?.traceID ?? "-"))
        }
        return result
    }

    private func answer(_ builtin: RPCBuiltin, _ request: RPCRequest, draining: Bool) async -> Result<[UInt8], RPCError> {
        do throws(RPCError) {
            switch builtin {
            case .health:
                let health = draining ? RPCHealth(serving: false, detail: "shutting down") : await healthCheck()
                return .success(try RPCCodec.encode(health, as: request.bodyEncoding))
            case .methods:
                let list = registered.map { name, method in
                    RPCMethodDescription(
                        name: name, access: method.options.access, idempotent: method.options.idempotent,
                        maxConcurrent: method.options.maxConcurrent)
                }
                return .success(try RPCCodec.encode(list.sorted { $0.name < $1.name }, as: request.bodyEncoding))
            case .metrics:
                let list = registered.map { name, method in method.stats.snapshot(name) }
                return .success(try RPCCodec.encode(list.sorted { $0.method < $1.method }, as: request.bodyEncoding))
            }
        } catch {
            return .failure(error)
        }
    }
}

/// A method with its options, concurrency count and statistics.
final class RegisteredMethod: Sendable {
    let handler: RPCService.Handler
    let options: RPCMethodOptions
    let stats = RPCMethodStats()
    private let running = Atomic<Int>(0)

    init(handler: @escaping RPCService.Handler, options: RPCMethodOptions) {
        self.handler = handler
        self.options = options
    }

    /// Counts a call in; false (and not counted) when the method is at its limit.
    func enter() -> Bool {
        guard let limit = options.maxConcurrent else { return true }
        if running.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue <= limit { return true }
        running.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        return false
    }

    func leave() {
        guard options.maxConcurrent != nil else { return }
        running.wrappingSubtract(1, ordering: .acquiringAndReleasing)
    }
}

/// The methods every Strata RPC server answers by itself.
enum RPCBuiltin: String, CaseIterable {
    /// Serving or not, in the spirit of `grpc.health.v1`.
    case health = "health.check"
    /// The registered methods with their access rules.
    case methods = "rpc.methods"
    /// Calls, errors by code and a latency histogram per method.
    case metrics = "rpc.metrics"
}

/// The answer of `health.check`.
public struct RPCHealth: Codable, Sendable, Equatable {
    /// `serving` or `notServing`.
    public var status: String
    /// Why not, when not serving.
    public var detail: String?

    /// A health report.
    public init(serving: Bool, detail: String? = nil) {
        status = serving ? "serving" : "notServing"
        self.detail = detail
    }

    /// Whether the server can take calls.
    public var isServing: Bool { status == "serving" }

    /// The built-in method that answers it.
    public static let method = RPCBuiltin.health.rawValue
}

/// One entry of `rpc.methods`.
public struct RPCMethodDescription: Codable, Sendable, Equatable {
    /// The method name.
    public var name: String
    /// Who may call it.
    public var access: String
    /// Whether callers may retry it.
    public var idempotent: Bool
    /// Its concurrency limit, if any.
    public var maxConcurrent: Int?
}

extension Result where Failure == RPCError {
    var errorCode: RPCErrorCode? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
