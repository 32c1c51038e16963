import StrataCore
import StrataRPC
import StrataTemplates

/// Turns domain modules into the application tier's RPC service and the
/// manifest the web tier discovers.
public struct AppRuntime: Sendable {
    /// The service answering module methods and `strata.manifest`.
    public let service: RPCService
    /// What the web tier serves.
    public let manifest: RouteManifest

    /// Registers `modules`; fails with every problem listed (duplicate
    /// methods, routes calling unknown methods, malformed templates).
    public init(modules: [any DomainModule], data: RPCClient, logger: Logger) throws(AppConfigurationError) {
        var registry = ModuleRegistry()
        var templates: [String: String] = [:]
        var problems: [String] = []
        for module in modules {
            module.register(&registry)
            guard let folder = module.templates else { continue }
            do {
                for (name, source) in try TemplateLibrary.sources(inDirectory: folder.path) {
                    if templates[name] != nil { problems.append("template '\(name)' is defined by two modules") }
                    templates[name] = source
                }
            } catch {
                problems.append("\(type(of: module)): \(error)")
            }
        }
        problems += registry.validate()
        do {
            _ = try TemplateLibrary(sources: templates)
        } catch {
            problems.append("template \(error)")
        }
        guard problems.isEmpty else { throw AppConfigurationError(problems: problems) }

        var service = RPCService()
        for (name, handler) in registry.handlers {
            service.registerRaw(name) { request, rpc in
                let requestID = rpc.requestID ?? "-"
                let context = ModuleContext(
                    requestID: requestID, logger: logger,
                    db: Database(client: data, requestID: requestID, logger: logger, deadline: rpc.deadline),
                    metadata: rpc.metadata, deadline: rpc.deadline)
                do {
                    return try await handler(request, context)
                } catch let error as RPCError {
                    throw error
                } catch {
                    logger.error("method failed", ("method", name), ("error", "\(error)"), ("request_id", requestID))
                    throw RPCError(.internal, "internal error")
                }
            }
        }
        let manifest = RouteManifest(version: Self.digest(registry.routes, templates), routes: registry.routes, templates: templates)
        service.register(RouteManifest.method, options: RPCMethodOptions(idempotent: true)) { (_: Empty, _) in manifest }
        // Serving only while the data tier is: without it no module method can work.
        service.healthCheck = {
            do {
                let health: RPCHealth = try await data.call(RPCHealth.method, Empty(), timeout: .seconds(2), idempotent: true)
                return health.isServing ? health : RPCHealth(serving: false, detail: "the data tier is not serving")
            } catch {
                return RPCHealth(serving: false, detail: "the data tier does not answer")
            }
        }
        self.service = service
        self.manifest = manifest
    }

    private static func digest(_ routes: [RouteDescriptor], _ templates: [String: String]) -> String {
        var text = routes.map { "\($0.kind) \($0.path) \($0.calls) \($0.template ?? "") \($0.redirect ?? "")" }.joined(separator: "\n")
        for (name, source) in templates.sorted(by: { $0.key < $1.key }) { text += "\n\(name)\n\(source)" }
        return String(Digest.hex(Digest.sha256(Array(text.utf8))).prefix(16))
    }
}

/// The modules do not fit together; every problem is listed.
public struct AppConfigurationError: Error, CustomStringConvertible, Sendable {
    /// One line per problem.
    public let problems: [String]
    public var description: String { "module configuration is invalid: " + problems.joined(separator: "; ") }
}
