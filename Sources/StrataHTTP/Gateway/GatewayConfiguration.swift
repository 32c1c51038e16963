import Foundation
import StrataCore
import StrataIO

/// The gateway routes of a web tier: from `--proxy` and a gateway file.
///
/// A gateway file has one route per line, the kind first and then what the
/// matching option takes; `#` starts a comment:
///
/// ```
/// # the old PHP site, and an internal service behind a load balancer
/// proxy /legacy/=http://127.0.0.1:8001,http://127.0.0.1:8002;health=/healthz
/// fastcgi /php/=unix:/run/php/php8.2-fpm.sock;root=/srv/php
/// cgi /cgi-bin/=/srv/cgi-bin;timeout=10
/// ```
public struct GatewayConfiguration: Sendable {
    /// One route.
    public enum Route: Sendable {
        case proxy(ProxyRoute)
        case fastCGI(FastCGIRoute)
        case cgi(CGIRoute)
    }

    /// The routes, in the order given.
    public private(set) var routes: [Route] = []

    /// No routes.
    public init() {}

    /// Adds the routes of an option value: routes separated by whitespace.
    public mutating func add(_ kind: String, routes text: String) throws(GatewayConfigurationError) {
        for route in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            try add(kind, String(route))
        }
    }

    private mutating func add(_ kind: String, _ text: String) throws(GatewayConfigurationError) {
        switch kind {
        case "proxy": routes.append(.proxy(try ProxyRoute(parsing: text)))
        case "fastcgi": routes.append(.fastCGI(try FastCGIRoute(parsing: text)))
        case "cgi": routes.append(.cgi(try CGIRoute(parsing: text)))
        default: throw GatewayConfigurationError("unknown route kind '\(kind)' (expected proxy, fastcgi or cgi)")
        }
        let prefixes = routes.map(\.prefix)
        if Set(prefixes).count != prefixes.count { throw GatewayConfigurationError("two routes for the prefix \(routes.last!.prefix)") }
    }

    /// Adds the routes of the gateway file at `path`; an error names the file and line.
    public mutating func load(file path: String) throws(GatewayConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw GatewayConfigurationError("\(path): cannot be read") }
        guard let text = String(data: data, encoding: .utf8) else { throw GatewayConfigurationError("\(path): not UTF-8 text") }
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = (rawLine.firstIndex(of: "#").map { rawLine[..<$0] } ?? rawLine[...]).trimmed()
            guard !line.isEmpty else { continue }
            let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmed() }
            do throws(GatewayConfigurationError) {
                guard parts.count == 2 else { throw GatewayConfigurationError("expected KIND ROUTE, such as 'proxy /app/=http://127.0.0.1:9000'") }
                try add(parts[0], parts[1])
            } catch {
                throw GatewayConfigurationError("\(path):\(index + 1): \(error.message)")
            }
        }
    }

    /// The handlers for the routes, ready to mount in a `Gateway`.
    public func handlers(trustedProxies: Set<String>, logger: Logger) -> [Gateway.Mount] {
        routes.map { route in
            switch route {
            case .proxy(let proxy):
                Gateway.Mount(prefix: proxy.prefix, handler: ReverseProxy(route: proxy, trustedProxies: trustedProxies, logger: logger))
            case .fastCGI(let fastCGI): Gateway.Mount(prefix: fastCGI.prefix, handler: FastCGIHandler(route: fastCGI, logger: logger))
            case .cgi(let cgi): Gateway.Mount(prefix: cgi.prefix, handler: CGIHandler(route: cgi, logger: logger))
            }
        }
    }
}

extension GatewayConfiguration.Route {
    /// The path prefix the route answers.
    public var prefix: String {
        switch self {
        case .proxy(let route): route.prefix
        case .fastCGI(let route): route.prefix
        case .cgi(let route): route.prefix
        }
    }
}
