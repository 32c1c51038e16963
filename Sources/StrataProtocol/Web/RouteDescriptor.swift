/// One browser-facing route a module declares.
public struct RouteDescriptor: Codable, Sendable, Equatable {
    /// How the web tier answers the route.
    public enum Kind: String, Codable, Sendable {
        /// GET: call the method, render `template` with its result.
        case page
        /// POST with a form body: call the method for the route (`WebMetadataKey.form`),
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
    /// For pages: the seconds a shared cache may keep the page (`public,
    /// max-age`). Such a page is rendered for nobody in particular: the
    /// method is called without the browser's session and the template
    /// gets no viewer, session or flash. Nil: private to each browser.
    public var publicMaxAge: Int?
    /// For API routes taking a body: true when the method's argument can be
    /// read from an XML body (every field plain text, see the README's "Web
    /// services"); the web tier answers 415 to XML sent to any other route.
    public var readsXML: Bool?

    /// Creates a route.
    public init(
        kind: Kind, path: String, calls: String, template: String? = nil, shownOn: String? = nil, verb: String? = nil,
        attemptLimited: Bool = false, publicMaxAge: Int? = nil, readsXML: Bool = false
    ) {
        self.kind = kind
        self.path = path
        self.calls = calls
        self.template = template
        self.shownOn = shownOn
        self.verb = verb
        self.attemptLimited = attemptLimited ? true : nil
        self.publicMaxAge = publicMaxAge
        self.readsXML = readsXML ? true : nil
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
