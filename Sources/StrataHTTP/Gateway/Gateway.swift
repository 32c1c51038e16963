/// Sends requests under mounted path prefixes to other servers (reverse
/// proxy, FastCGI, CGI) and everything else to the application, in the
/// same process and behind the same middleware.
public struct Gateway: HTTPHandler {
    /// A handler answering every request under `prefix`.
    public struct Mount: Sendable {
        public var prefix: String
        public var handler: any HTTPHandler

        public init(prefix: String, handler: any HTTPHandler) {
            self.prefix = prefix
            self.handler = handler
        }
    }

    private let mounts: [Mount]
    private let fallback: any HTTPHandler

    /// Routes to `mounts` (the longest matching prefix wins) and otherwise to `fallback`.
    public init(mounts: [Mount], fallback: any HTTPHandler) {
        self.mounts = mounts.sorted { $0.prefix.count > $1.prefix.count }
        self.fallback = fallback
    }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        for mount in mounts {
            if request.path.hasPrefix(mount.prefix) {
                // A dot segment could climb out of the prefix once the
                // upstream resolves it (`/legacy/../admin`): refused here,
                // where the prefix was matched.
                if Self.hasDotSegment(request.path) {
                    return .response(.text("400 Bad Request: the path has a '.' or '..' segment\n", status: .badRequest))
                }
                return mount.handler.handle(request)
            }
            if mount.prefix.hasSuffix("/"), request.path.count == mount.prefix.count - 1, mount.prefix.hasPrefix(request.path) {
                // `/legacy` for a `/legacy/` mount: the address with its slash, as nginx answers.
                let location = mount.prefix + (request.query.map { "?" + $0 } ?? "")
                var response = HTTPResponse(status: .permanentRedirect, headers: HTTPHeaders([("Location", location)]))
                response.route = mount.prefix
                return .response(response)
            }
        }
        return fallback.handle(request)
    }

    /// Whether `path` has a `.` or `..` segment, percent-encoded or not.
    static func hasDotSegment(_ path: String) -> Bool {
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            let decoded = segment.replacingOccurrences(of: "%2e", with: ".", options: .caseInsensitive)
            if decoded == "." || decoded == ".." { return true }
        }
        return false
    }
}
