import StrataCore
import StrataIO

/// What a reverse-proxy route says: which requests (a path prefix), to
/// which servers, and how.
///
/// Written as `PREFIX=URL[,URL...][;option=value...]`, the value of
/// `--proxy` and of a `proxy` line in a gateway file:
///
/// ```
/// /legacy/=http://127.0.0.1:8001,http://127.0.0.1:8002;balance=round-robin;health=/healthz
/// /api/=http://10.0.0.5:9000/v2/;host=upstream
/// ```
///
/// A URL with a path (`/v2/` above) replaces the prefix in the forwarded
/// request-target, as nginx's `proxy_pass` with a URI does; without one the
/// target is forwarded unchanged. `unix:/path` names a Unix socket.
///
/// Options: `host=pass` (the client's `Host`, the default), `host=upstream`
/// or `host=VALUE`; `balance=least-outstanding|round-robin`;
/// `health=/path` and `health-interval=SECONDS` (active checks);
/// `connect-timeout`, `timeout` (until the response head), `read-timeout`
/// (between body bytes), `eject` (seconds out after failures), in seconds;
/// `max-fails` (consecutive failures before ejection);
/// `max-connections` (per upstream and event loop); `max-body` (the
/// largest request body, e.g. `2g`; request bodies stream through, so this
/// bounds traffic rather than memory; default: the tier's `--max-body`).
public struct ProxyRoute: Sendable {
    /// The path prefix requests must start with (`/legacy/`).
    public var prefix: String
    /// The servers.
    public var upstreams: [SocketAddress]
    /// What replaces `prefix` in the forwarded target; nil forwards it unchanged.
    public var rewrite: String?
    var host = ForwardedRequest.HostHeader.pass
    public var balancing = UpstreamGroup.Balancing.leastOutstanding
    public var healthCheck: UpstreamGroup.HealthCheck?
    public var settings = UpstreamSettings()

    /// Parses a route; the error names the part that is wrong.
    public init(parsing text: String) throws(GatewayConfigurationError) {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmed() }
        guard let equals = parts[0].firstIndex(of: "=") else {
            throw GatewayConfigurationError("'\(text)' is not PREFIX=URL[,URL...]")
        }
        prefix = try Self.prefix(String(parts[0][..<equals]), in: text)
        var bases: Set<String> = []
        upstreams = []
        for url in parts[0][parts[0].index(after: equals)...].split(separator: ",").map({ $0.trimmed() }) where !url.isEmpty {
            let (address, base) = try Self.upstream(url)
            upstreams.append(address)
            bases.insert(base ?? "")
        }
        guard !upstreams.isEmpty else { throw GatewayConfigurationError("'\(text)' names no upstream URL") }
        guard bases.count == 1 else { throw GatewayConfigurationError("the upstream URLs of \(prefix) have different paths") }
        rewrite = bases.first!.isEmpty ? nil : bases.first!
        var healthInterval: Duration?
        for option in parts.dropFirst() where !option.isEmpty {
            guard let split = option.firstIndex(of: "=") else { throw GatewayConfigurationError("option '\(option)' of \(prefix) has no value") }
            let name = String(option[..<split]), value = String(option[option.index(after: split)...])
            switch name {
            case "host":
                host = value == "pass" ? .pass : value == "upstream" ? .upstream : .fixed(value)
                if case .fixed = host, value.isEmpty || !value.utf8.allSatisfy({ RequestParser.isTokenByte($0) || $0 == UInt8(ascii: ":") }) {
                    throw GatewayConfigurationError("host=\(value) of \(prefix) is not a host name")
                }
            case "health":
                guard value.hasPrefix("/") else { throw GatewayConfigurationError("health=\(value) of \(prefix): expected a path") }
                healthCheck = UpstreamGroup.HealthCheck(path: value)
            case "health-interval": healthInterval = try Self.seconds(name, value, of: prefix)
            default: try Self.applyUpstreamOption(name, value, of: prefix, to: &settings, balancing: &balancing)
            }
        }
        if let healthInterval {
            guard healthCheck != nil else { throw GatewayConfigurationError("health-interval of \(prefix) needs health=/path") }
            healthCheck?.interval = healthInterval
        }
    }

    /// Applies a balancing, timeout or limit option (shared by proxy and FastCGI routes).
    static func applyUpstreamOption(
        _ name: String, _ value: String, of prefix: String, to settings: inout UpstreamSettings, balancing: inout UpstreamGroup.Balancing
    ) throws(GatewayConfigurationError) {
        switch name {
        case "balance":
            guard let chosen = UpstreamGroup.Balancing(rawValue: value) else {
                throw GatewayConfigurationError("balance=\(value) of \(prefix): expected least-outstanding or round-robin")
            }
            balancing = chosen
        case "connect-timeout": settings.connectTimeout = try seconds(name, value, of: prefix)
        case "timeout": settings.responseTimeout = try seconds(name, value, of: prefix)
        case "read-timeout": settings.readTimeout = try seconds(name, value, of: prefix)
        case "eject": settings.ejectionTime = try seconds(name, value, of: prefix)
        case "max-fails": settings.maxFailures = try count(name, value, of: prefix)
        case "max-connections": settings.maxConnectionsPerLoop = try count(name, value, of: prefix)
        case "max-body":
            guard let size = ByteCount.parse(value) else {
                throw GatewayConfigurationError("max-body=\(value) of \(prefix): expected a number of bytes, optionally with k, m or g")
            }
            settings.maxBodySize = size
        default: throw GatewayConfigurationError("unknown option '\(name)' of \(prefix)")
        }
    }

    static func seconds(_ name: String, _ value: String, of prefix: String) throws(GatewayConfigurationError) -> Duration {
        guard let number = Double(value), number > 0, number <= 86_400 else {
            throw GatewayConfigurationError("\(name)=\(value) of \(prefix): expected seconds between 0 and 86400")
        }
        return .milliseconds(Int(number * 1000))
    }

    static func count(_ name: String, _ value: String, of prefix: String) throws(GatewayConfigurationError) -> Int {
        guard let number = Int(value), number > 0, number <= 100_000 else {
            throw GatewayConfigurationError("\(name)=\(value) of \(prefix): expected a whole number from 1")
        }
        return number
    }

    /// The request-target to send upstream for `target`, which starts with `prefix`.
    func upstreamTarget(for target: String) -> String {
        guard let rewrite else { return target }
        return rewrite + target.dropFirst(prefix.count)
    }

    static func prefix(_ text: String, in spec: String) throws(GatewayConfigurationError) -> String {
        guard text.hasPrefix("/"), !text.contains("?"), !text.contains("#"), !text.contains(" ") else {
            throw GatewayConfigurationError("'\(text)' in '\(spec)' is not a path prefix starting with /")
        }
        return text
    }

    /// `http://host:port[/path]` or `unix:/path`: the address and the path, if any.
    static func upstream(_ url: String) throws(GatewayConfigurationError) -> (SocketAddress, String?) {
        if url.hasPrefix("unix:") {
            do { return (try SocketAddress(parsing: url), nil) } catch { throw GatewayConfigurationError("\(url): \(error.message)") }
        }
        guard url.hasPrefix("http://") else {
            throw GatewayConfigurationError("'\(url)': upstream URLs start with http:// (or unix: for a socket); https upstreams are not supported")
        }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = String(rest[..<slash])
        if !authority.hasSuffix("]") && !authority.contains(":") || authority.hasSuffix("]") { authority += ":80" }
        let path = slash < rest.endIndex ? String(rest[slash...]) : nil
        do {
            return (try SocketAddress(parsing: authority), path)
        } catch {
            throw GatewayConfigurationError("'\(url)': \(error.message)")
        }
    }
}

/// A gateway route (`--proxy`, `--fastcgi`, `--cgi`, a gateway file) that cannot be used as written.
public struct GatewayConfigurationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the route.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
