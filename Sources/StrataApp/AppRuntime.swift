import StrataCore
import StrataProtocol
import StrataRPC
import StrataTemplates
import Synchronization

/// Turns domain modules into the application tier's RPC service and the
/// manifest the web tier discovers.
public struct AppRuntime: Sendable {
    /// The service answering module methods and `strata.manifest`.
    public let service: RPCService
    /// What the web tier serves (as first loaded).
    public let manifest: RouteManifest

    /// Registers `modules`; fails with every problem listed (duplicate
    /// methods or forms, pages rendering templates no module has, malformed templates). With
    /// `reloadTemplates` (development mode) the modules' template folders are
    /// read again whenever the web tier checks the manifest version, so an
    /// edited template shows up without a restart. Templates in
    /// `overrides` (a folder laid out like the modules') replace the modules'
    /// templates of the same name, so a site can restyle a module's pages.
    ///
    /// The built-in `AuthModule` comes first; `signupEnabled` says whether
    /// visitors may create accounts.
    public init(
        modules: [any DomainModule], data: RPCClient, logger: Logger, overrides: String? = nil, reloadTemplates: Bool = false,
        signupEnabled: Bool = true
    ) throws(AppConfigurationError) {
        let modules: [any DomainModule] = [AuthModule(signupEnabled: signupEnabled)] + modules
        var registry = ModuleRegistry()
        for module in modules { module.register(&registry) }
        let folders =
            modules.compactMap { module in
                module.templates?.folder(development: reloadTemplates).map { (String(describing: type(of: module)), $0.path) }
            }
            + (overrides.map { [(Self.overridesName, $0)] } ?? [])
        var problems = registry.problems + registry.hiddenRoutes
        var moduleAssets: [String: [UInt8]] = [:]
        for module in modules {
            do {
                for (path, bytes) in try module.assets?.files(limit: Self.assetLimit) ?? [:] {
                    if moduleAssets[path] != nil { problems.append("asset '\(path)' is provided by two modules") }
                    moduleAssets[path] = bytes
                }
            } catch let error as AppConfigurationError {
                problems += error.problems
            } catch {
                problems.append("\(type(of: module)): cannot read its assets: \(error)")
            }
        }
        let assets = moduleAssets
        var templates: [String: String] = [:]
        do {
            templates = try Self.loadTemplates(folders)
        } catch {
            problems += error.problems
        }
        for route in registry.routes where route.kind == .page && !templates.isEmpty && templates[route.template ?? ""] == nil {
            problems.append("page \(route.path) renders template '\(route.template ?? "")', which no module has")
        }
        let routes = registry.routes
        let signIn = registry.signInPage?.path
        let proxies = registry.proxies
        // The API's description, its version the routes' (it is part of the manifest's own).
        let openAPI: [UInt8]?
        do throws(AppConfigurationError) {
            openAPI =
                registry.operations.isEmpty
                ? nil
                : try OpenAPIDocument.make(
                    registry.operations, access: registry.methods.mapValues(\.access), version: Self.digest(routes, signIn, proxies, [:], [:]))
        } catch {
            openAPI = nil
            problems += error.problems
        }
        guard problems.isEmpty else { throw AppConfigurationError(problems: problems) }

        var service = RPCService()
        let dispatcher = MethodDispatcher(data: data, logger: logger)
        for (name, method) in registry.methods {
            let options = RPCMethodOptions(access: method.access.description, idempotent: method.idempotent)
            service.registerRaw(name, options: options) { request, rpc in try await dispatcher.dispatch(method, request, rpc) }
        }
        let manifest = RouteManifest(
            version: Self.digest(routes, signIn, proxies, templates, assets, openAPI: openAPI), routes: routes, templates: templates,
            assets: assets, signInPath: signIn, proxies: proxies, openAPI: openAPI)
        let current = Mutex(manifest)
        service.register(RouteManifest.method) { (_: Empty, _) in
            current.withLock { $0 }
        }
        service.register(RouteManifest.versionMethod) { (_: Empty, _) -> ManifestVersion in
            if reloadTemplates {
                do {
                    let templates = try Self.loadTemplates(folders)
                    let version = Self.digest(routes, signIn, proxies, templates, assets, openAPI: openAPI)
                    current.withLock { manifest in
                        if manifest.version != version {
                            manifest = RouteManifest(
                                version: version, routes: routes, templates: templates, assets: assets, signInPath: signIn, proxies: proxies,
                                openAPI: openAPI)
                            logger.info("templates reloaded", ("manifest", version))
                        }
                    }
                } catch {
                    // Keep serving the last good templates; the author sees why in the log.
                    logger.warning("templates not reloaded", ("error", "\(error)"))
                }
            }
            return ManifestVersion(version: current.withLock { $0.version })
        }
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

    private static let overridesName = "--templates"

    /// Reads every module's template folder (and the overrides, last) and
    /// checks that the templates compile together.
    private static func loadTemplates(_ folders: [(module: String, path: String)]) throws(AppConfigurationError) -> [String: String] {
        var templates: [String: String] = [:]
        var problems: [String] = []
        for (module, path) in folders {
            do {
                for (name, source) in try TemplateLibrary.sources(inDirectory: path) {
                    if templates[name] != nil && module != overridesName { problems.append("template '\(name)' is defined by two modules") }
                    templates[name] = source
                }
            } catch {
                problems.append("\(module): \(error)")
            }
        }
        do {
            _ = try TemplateLibrary(sources: templates)
        } catch {
            problems.append("template \(error)")
        }
        guard problems.isEmpty else { throw AppConfigurationError(problems: problems) }
        return templates
    }

    /// Module assets travel inside the manifest, so they are kept small.
    static let assetLimit = 4 << 20

    /// The manifest's version: a digest of the routes as they travel (so
    /// every field counts, including ones added later), then the templates
    /// and assets in name order, so the same content gives the same version
    /// in every process (replicas behind one web tier agree).
    static func digest(
        _ routes: [RouteDescriptor], _ signInPath: String?, _ proxies: [String], _ templates: [String: String], _ assets: [String: [UInt8]],
        openAPI: [UInt8]? = nil
    ) -> String {
        // Encoding these plain values cannot fail; the description holds every field too.
        var bytes = (try? RPCCodec.encode(routes)) ?? Array(String(describing: routes).utf8)
        bytes += Array("\n\(signInPath ?? "")".utf8)
        for proxy in proxies { bytes += Array("\nproxy \(proxy)".utf8) }
        if let openAPI { bytes += Array("\nopenapi ".utf8) + Digest.sha256(openAPI) }
        for (name, source) in templates.sorted(by: { $0.key < $1.key }) { bytes += Array("\n\(name)\n\(source)".utf8) }
        for (path, asset) in assets.sorted(by: { $0.key < $1.key }) { bytes += Array("\n\(path) ".utf8) + Digest.sha256(asset) }
        return String(Digest.hex(Digest.sha256(bytes)).prefix(16))
    }
}

/// The modules do not fit together; every problem is listed.
public struct AppConfigurationError: Error, CustomStringConvertible, Sendable {
    /// One line per problem.
    public let problems: [String]
    public var description: String { "module configuration is invalid: " + problems.joined(separator: "; ") }
}
