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

    /// Creates a manifest.
    public init(
        version: String, routes: [RouteDescriptor], templates: [String: String], assets: [String: [UInt8]] = [:], signInPath: String? = nil
    ) {
        self.version = version
        self.routes = routes
        self.templates = templates
        self.assets = assets.isEmpty ? nil : assets
        self.signInPath = signInPath
    }

    /// The RPC method that returns the manifest.
    public static let method = "strata.manifest"
    /// The RPC method that returns only the version, which the web tier polls
    /// to notice a new app tier (or, in development, edited templates).
    public static let versionMethod = "strata.manifest.version"
}

/// The answer of `strata.manifest.version`.
public struct ManifestVersion: Codable, Sendable, Equatable {
    /// The manifest's current version.
    public var version: String

    /// Wraps a version.
    public init(version: String) { self.version = version }
}

/// One browser-facing route a module declares.
public struct RouteDescriptor: Codable, Sendable, Equatable {
    /// How the web tier answers the route.
    public enum Kind: String, Codable, Sendable {
        /// GET: call the method, render `template` with its result.
        case page
        /// POST with a form body: call the method for the route (`RPCMetadataKey.form`),
        /// then redirect as its `FormOutcome` says.
        case form
        /// JSON in, JSON out, at `verb` and `path`.
        case api
    }

    /// The kind.
    public var kind: Kind
    /// The path pattern, such as `/tasks/:id`.
    public var path: String
    /// The RPC method to call.
    public var calls: String
    /// For pages: the template to render.
    public var template: String?
    /// For forms: the page that shows the form. When the method answers
    /// `invalidArgument`, that page is rendered again (status 422) with
    /// `form.message`, `form.errors` (the error's details, by field) and
    /// `form.values` (what the user typed), so nothing is lost.
    public var shownOn: String?
    /// For API routes: the HTTP method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    public var verb: String?
    /// For forms: true when what it takes is worth guessing at (a password),
    /// so its attempts count against the web tier's stricter per-client limit.
    public var attemptLimited: Bool?

    /// Creates a route.
    public init(
        kind: Kind, path: String, calls: String, template: String? = nil, shownOn: String? = nil, verb: String? = nil,
        attemptLimited: Bool = false
    ) {
        self.kind = kind
        self.path = path
        self.calls = calls
        self.template = template
        self.shownOn = shownOn
        self.verb = verb
        self.attemptLimited = attemptLimited ? true : nil
    }

    /// The HTTP method the route answers.
    public var httpMethod: String {
        switch kind {
        case .page: "GET"
        case .form: "POST"
        case .api: verb ?? "GET"
        }
    }
}
