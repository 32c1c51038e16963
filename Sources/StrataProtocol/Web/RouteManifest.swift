import StrataRPC

/// What the application tier tells the presentation tier at start: the
/// routes its modules declare and the templates they render. The web tier
/// builds its router from this, so it links no module code.
public struct RouteManifest: Codable, Sendable, Equatable {
    /// A digest of the contents; changes whenever a route or template changes.
    public var version: String
    /// Routes, in declaration order.
    public var routes: [RouteDescriptor]
    /// Template sources by name (`guestbook/index`).
    public var templates: [String: String]
    /// The modules' static files by path (`tasks.css`), served under `/static/modules/`.
    public var assets: [String: [UInt8]]?
    /// The sign-in page, where a browser is sent (with `?next=`) when a page
    /// or form needs a signed-in user; nil: such requests get a 401 page.
    public var signInPath: String?
    /// Reverse-proxy routes the web tier serves itself, written as `--proxy`
    /// takes them (`/legacy/=http://10.0.0.5:8001;balance=round-robin`).
    public var proxies: [String]?
    /// The OpenAPI 3.1 document describing the API routes, as JSON (nil: there are none).
    public var openAPI: [UInt8]?

    /// Creates a manifest.
    public init(
        version: String, routes: [RouteDescriptor], templates: [String: String], assets: [String: [UInt8]] = [:], signInPath: String? = nil,
        proxies: [String] = [], openAPI: [UInt8]? = nil
    ) {
        self.openAPI = openAPI
        self.version = version
        self.routes = routes
        self.templates = templates
        self.assets = assets.isEmpty ? nil : assets
        self.signInPath = signInPath
        self.proxies = proxies.isEmpty ? nil : proxies
    }

    /// The app tier's method that answers the manifest.
    public static let method = RPCMethod<Empty, RouteManifest>("strata.manifest", idempotent: true)
    /// The app tier's method that answers only the version, which the web tier
    /// polls to notice a new app tier (or, in development, edited templates).
    public static let versionMethod = RPCMethod<Empty, ManifestVersion>("strata.manifest.version", idempotent: true)
}
