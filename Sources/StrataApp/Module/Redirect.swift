import StrataProtocol
import StrataRPC

/// Where a form sends the browser after its method succeeded, and a message
/// to show there once. Written as a string with interpolations, whose values
/// are percent-encoded, so a title or name cannot change the URL's shape:
///
/// ```swift
/// m.form("/tasks/:id/comments", comment, shownOn: taskPage) { "/tasks/\($0.task)#comments" }
/// ```
public struct Redirect: Sendable, ExpressibleByStringInterpolation {
    /// The target: a path on this site (anything else becomes `/`).
    public let location: String
    /// A one-time message for the next page (`flash` in its template).
    public let flash: String?
    /// A new session token ("" to end the session); only the auth module
    /// starts and ends sessions.
    let session: String?

    /// To `location` (taken as it is, not encoded), with an optional one-time message.
    public init(to location: String, flash: String? = nil) {
        self.init(location: location, flash: flash, session: nil)
    }

    init(location: String, flash: String?, session: String?) {
        self.location = FormOutcome.isLocal(location) ? location : "/"
        self.flash = flash
        self.session = session
    }

    public init(stringLiteral value: String) { self.init(to: value) }

    public init(stringInterpolation: Interpolation) { self.init(to: stringInterpolation.text) }

    /// Literal text as written, interpolated values percent-encoded.
    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 8 * interpolationCount) }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        public mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            for byte in value.description.utf8 {
                if Self.unreserved(byte) {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    text += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
                }
            }
        }

        /// RFC 3986's unreserved characters, the only ones a value keeps as they are.
        private static func unreserved(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
            default: false
            }
        }
    }
}
