/// What the application tier answers a call made for a form route
/// (`WebMetadataKey.form`): where the browser goes next, a one-time message,
/// and a change of the signed-in session.
public struct FormOutcome: Codable, Sendable, Equatable {
    /// The redirect target, a path on the site.
    public var location: String
    /// A one-time message for the next page.
    public var flash: String?
    /// A new session token for the session cookie; "" ends the session, nil leaves it.
    public var session: String?

    /// Creates an outcome.
    public init(location: String, flash: String? = nil, session: String? = nil) {
        self.location = location
        self.flash = flash
        self.session = session
    }

    /// Whether `location` is a path on this site: `//evil.example`,
    /// `https://...` or a control character would make a form an open
    /// redirect or split the response. Both tiers check it.
    public static func isLocal(_ location: String) -> Bool {
        location.hasPrefix("/") && !location.hasPrefix("//") && !location.contains("\\")
            && !location.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }
}
