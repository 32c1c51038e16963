import Foundation

/// An answer of the web tier, as a test client received it.
public struct TestResponse: Sendable {
    /// The status code (`303` after a form, `422` when it is shown again, ...).
    public let status: Int
    /// The header fields, in order.
    public let headers: [(name: String, value: String)]
    /// The body bytes.
    public let body: [UInt8]

    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header field named `name` (any case).
    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    /// Where a redirect points.
    public var location: String? { header("Location") }

    /// The body decoded as JSON.
    public func json<T: Decodable>(_ type: T.Type = T.self) throws -> T { try JSONDecoder().decode(T.self, from: Data(body)) }
}
