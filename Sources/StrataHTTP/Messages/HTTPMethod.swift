/// An HTTP request method. Methods that are not `isKnown` are answered 501.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method name as sent, such as `GET`.
    public let rawValue: String
    /// A method by name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The GET method.
    public static let get = HTTPMethod(rawValue: "GET")
    /// The HEAD method.
    public static let head = HTTPMethod(rawValue: "HEAD")
    /// The POST method.
    public static let post = HTTPMethod(rawValue: "POST")
    /// The PUT method.
    public static let put = HTTPMethod(rawValue: "PUT")
    /// The PATCH method.
    public static let patch = HTTPMethod(rawValue: "PATCH")
    /// The DELETE method.
    public static let delete = HTTPMethod(rawValue: "DELETE")
    /// The OPTIONS method.
    public static let options = HTTPMethod(rawValue: "OPTIONS")
    /// The TRACE method.
    public static let trace = HTTPMethod(rawValue: "TRACE")
    /// The CONNECT method.
    public static let connect = HTTPMethod(rawValue: "CONNECT")

    /// Whether this server implements the method (the nine of RFC 9110 plus
    /// PATCH and QUERY, the safe method with a body of the IETF's HTTP working
    /// group: a route that does not take it answers 405, not 501).
    public var isKnown: Bool {
        switch rawValue {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY": true
        default: false
        }
    }

    /// Methods that must not change state, so need no CSRF check.
    public var isSafe: Bool { self == .get || self == .head || self == .options || self == .trace }

    public var description: String { rawValue }
}
