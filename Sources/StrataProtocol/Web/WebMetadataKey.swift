/// What the web tier tells the app tier about a browser's call, in the
/// call's metadata (the transport's own keys are `RPCMetadataKey`).
public enum WebMetadataKey {
    /// The browser's address, as seen by the web tier.
    public static let clientAddress = "client-address"
    /// The browser's session token (its session cookie), for the app tier to resolve.
    public static let session = "session"
    /// An API token from an `Authorization: Bearer` header.
    public static let bearerToken = "bearer-token"
    /// `1` when the input is text fields (a form, a query string, path
    /// parameters) to be converted to the method's typed argument.
    public static let fieldInput = "field-input"
    /// `1` when the caller wants the signed-in user added to an object
    /// result as `viewer` (the web tier asks for pages, to show who is signed in).
    public static let wantsViewer = "wants-viewer"
    /// The path of the form route a call serves: the app tier then answers
    /// that route's `FormOutcome` instead of the method's result.
    public static let form = "form"
}
