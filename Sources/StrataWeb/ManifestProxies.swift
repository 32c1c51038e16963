import StrataCore
import StrataHTTP
import StrataIO
import Synchronization

/// The reverse-proxy routes modules declare (`m.proxy`), as the web tier
/// serves them. A route keeps its `ReverseProxy` (pooled connections,
/// ejections, health checks) from one manifest version to the next while
/// its text is unchanged, so a template edit does not reset it.
final class ManifestProxies: Sendable {
    private struct Kept {
        let proxy: ReverseProxy
        let checks: Task<Void, Never>?
    }

    private let logger: Logger
    private let trustedProxies: Set<String>
    /// Runs the active health checks; nil: none are run (tests without a server).
    private let group: EventLoopGroup?
    private let kept = Mutex<[String: Kept]>([:])

    init(logger: Logger, trustedProxies: Set<String>, group: EventLoopGroup?) {
        self.logger = logger
        self.trustedProxies = trustedProxies
        self.group = group
    }

    /// The gateway for a manifest's routes (nil when it has none); routes no
    /// longer declared stop their health checks. A route that does not parse
    /// refuses the whole manifest, as a template that does not compile does.
    func gateway(for specs: [String]) throws -> Gateway? {
        var routes: [String: ProxyRoute] = [:]
        for spec in specs {
            do throws(GatewayConfigurationError) {
                routes[spec] = try ProxyRoute(parsing: spec)
            } catch {
                throw SiteError("proxy route '\(spec)': \(error.message)")
            }
        }
        let proxies = kept.withLock { kept -> [ReverseProxy] in
            for (spec, gone) in kept where routes[spec] == nil {
                gone.checks?.cancel()
                kept[spec] = nil
            }
            return specs.map { spec in
                if let existing = kept[spec] { return existing.proxy }
                let proxy = ReverseProxy(route: routes[spec]!, trustedProxies: trustedProxies, logger: logger)
                kept[spec] = Kept(proxy: proxy, checks: group.flatMap { proxy.startHealthChecks(group: $0) })
                return proxy
            }
        }
        guard !proxies.isEmpty else { return nil }
        return Gateway(mounts: proxies.map { Gateway.Mount(prefix: $0.route.prefix, handler: $0) })
    }

    /// Stops every route's health checks.
    func stop() {
        kept.withLock { kept in
            for route in kept.values { route.checks?.cancel() }
            kept.removeAll()
        }
    }
}
