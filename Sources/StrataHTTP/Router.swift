/// Maps a method and path to a value, capturing `:name` segments and a trailing `*`.
///
/// Literal segments win over parameters, so `/tasks/new` and `/tasks/:id` can coexist.
/// `HEAD` requests match `GET` routes.
public struct Router<Value: Sendable>: Sendable {
    private struct Route: Sendable {
        let method: HTTPMethod
        let segments: [Segment]
        let value: Value
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)

        var isLiteral: Bool {
            if case .literal = self { return true }
            return false
        }
    }

    /// The outcome of `match`.
    public enum Match {
        /// A route matched; parameters hold the captured, percent-decoded segments.
        case found(Value, parameters: [String: String])
        /// The path exists but not for this method.
        case methodNotAllowed(allowed: [HTTPMethod])
        /// No route has this path.
        case notFound
    }

    private var routes: [Route] = []

    /// Creates an empty router.
    public init() {}

    /// Adds a route. `pattern` is a path such as `/tasks/:id` or `/static/*path`.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ value: Value) {
        let segments: [Segment] = pattern.split(separator: "/").map { part in
            if part.hasPrefix(":") { return .parameter(String(part.dropFirst())) }
            if part.hasPrefix("*") { return .rest(String(part.dropFirst())) }
            return .literal(String(part))
        }
        routes.append(Route(method: method, segments: segments, value: value))
        // Keep more specific routes first: fewer parameters, then longer.
        routes.sort { a, b in
            let pa = a.segments.filter { !$0.isLiteral }.count
            let pb = b.segments.filter { !$0.isLiteral }.count
            return pa != pb ? pa < pb : a.segments.count > b.segments.count
        }
    }

    /// Finds the route for `method` and `path` (the raw, percent-encoded path).
    public func match(_ method: HTTPMethod, path: String) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let parameters = Self.capture(route.segments, parts) else { continue }
            if route.method == method || (method == .head && route.method == .get) {
                return .found(route.value, parameters: parameters)
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private static func capture(_ segments: [Segment], _ parts: [Substring]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .rest(let name):
                let rest = parts[index...].joined(separator: "/")
                if !name.isEmpty { parameters[name] = rest }
                return parameters
            case .literal(let text):
                guard index < parts.count, parts[index] == text else { return nil }
            case .parameter(let name):
                guard index < parts.count, let value = try? FormDecoding.percentDecode(parts[index]) else { return nil }
                parameters[name] = value
            }
        }
        return parts.count == segments.count ? parameters : nil
    }
}
