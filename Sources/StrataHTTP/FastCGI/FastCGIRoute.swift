import Foundation
import StrataIO
import Synchronization

/// What a FastCGI route says: which requests, to which responders, and
/// which script answers.
///
/// Written `PREFIX=ADDRESS[,ADDRESS...][;option=value...]`, the value of
/// `--fastcgi` and of a `fastcgi` line in a gateway file; an address is
/// `host:port` or `unix:/path`:
///
/// ```
/// /php/=unix:/run/php/php8.2-fpm.sock;root=/srv/php
/// /app/=127.0.0.1:9000,127.0.0.1:9001;script=/srv/app/public/index.php
/// ```
///
/// With `root=DIR`, `/php/blog/post.php/extra` runs `DIR/blog/post.php` with
/// `PATH_INFO=/extra`, and a path ending in `/` runs its `index.php` (the
/// `index=` option names another); the script must exist inside the folder,
/// else 404, so no other file reaches the responder. With `script=FILE`
/// every request runs that one front controller, the rest of the path as
/// `PATH_INFO`. `workers=N` says how many requests each responder works at
/// once (php-fpm's `pm.max_children`), so connections can be kept (see
/// `FastCGIHandler.discover`). Balancing and timeout options are those of `ProxyRoute`.
public struct FastCGIRoute: Sendable {
    public var prefix: String
    public var responders: [SocketAddress]
    /// The folder scripts are found in (resolved).
    public var root: String
    /// The one script every request runs, when set.
    public var script: String?
    /// The script a folder's address runs.
    public var index = "index.php"
    /// How many requests the responders work at once (php-fpm's
    /// `pm.max_children`), when they do not say so themselves (php-fpm
    /// answers FCGI_GET_VALUES without FCGI_MAX_CONNS): connections are
    /// then kept, this many per responder split across the event loops.
    public var workers: Int?
    /// Only files with this extension are scripts.
    public var scriptExtension = ".php"
    public var balancing = UpstreamGroup.Balancing.leastOutstanding
    public var settings = UpstreamSettings()
    private let lookups = ScriptLookups()

    /// Parses a route; the error names what is wrong.
    public init(parsing text: String) throws(GatewayConfigurationError) {
        var rootOption: String?
        // An idle connection holds a worker of the responder: give it back soon.
        settings.idleTimeout = .seconds(1)
        let parts = text.split(separator: ";").map { $0.trimmed() }
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else {
            throw GatewayConfigurationError("'\(text)' is not PREFIX=ADDRESS[,ADDRESS...]")
        }
        prefix = try ProxyRoute.prefix(String(first[..<equals]), in: text)
        responders = []
        for address in first[first.index(after: equals)...].split(separator: ",").map({ $0.trimmed() }) where !address.isEmpty {
            do { responders.append(try SocketAddress(parsing: address)) } catch {
                throw GatewayConfigurationError("\(prefix): '\(address)': \(error.message)")
            }
        }
        guard !responders.isEmpty else { throw GatewayConfigurationError("'\(text)' names no FastCGI address") }
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw GatewayConfigurationError("option '\(option)' of \(prefix) has no value") }
            switch pair[0] {
            case "root": rootOption = pair[1]
            case "script": script = pair[1]
            case "index":
                guard !pair[1].contains("/") else { throw GatewayConfigurationError("index=\(pair[1]) of \(prefix) must be a file name") }
                index = pair[1]
            case "workers":
                guard let count = Int(pair[1]), count > 0, count <= 100_000 else {
                    throw GatewayConfigurationError("workers=\(pair[1]) of \(prefix): expected a whole number from 1")
                }
                workers = count
            case "health": throw GatewayConfigurationError("health= of \(prefix): FastCGI routes have no HTTP health check")
            default: try ProxyRoute.applyUpstreamOption(pair[0], pair[1], of: prefix, to: &settings, balancing: &balancing)
            }
        }
        if let script {
            guard FileManager.default.fileExists(atPath: script), let resolved = realpath(script, nil) else {
                throw GatewayConfigurationError("script=\(script) of \(prefix) does not exist")
            }
            self.script = String(cString: resolved)
            free(resolved)
            root = rootOption ?? (self.script! as NSString).deletingLastPathComponent
        } else {
            guard let rootOption else { throw GatewayConfigurationError("\(prefix) needs root=DIR or script=FILE") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: rootOption, isDirectory: &isDirectory), isDirectory.boolValue,
                let resolved = realpath(rootOption, nil)
            else { throw GatewayConfigurationError("root=\(rootOption) of \(prefix) is not a folder") }
            root = String(cString: resolved)
            free(resolved)
        }
    }

    /// The script `path` (under `prefix`) runs, or nil when there is none.
    /// Looking a file up costs a `stat` and a `realpath` (a system call per
    /// path component), so answers are kept for `ScriptLookups.lifetime`.
    func script(for path: String) -> CGIEnvironment.Script? {
        lookups.script(for: path) { resolveScript(for: $0) }
    }

    private func resolveScript(for path: String) -> CGIEnvironment.Script? {
        let rest = String(path.dropFirst(prefix.count))
        if let script {
            let name = prefix + (script as NSString).lastPathComponent
            return CGIEnvironment.Script(name: name, pathInfo: rest.isEmpty ? "" : "/" + rest, filename: script, root: root)
        }
        var segments = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var scriptSegments: [String] = []
        while !segments.isEmpty {
            let segment = segments.removeFirst()
            scriptSegments.append(segment)
            if segment.hasSuffix(scriptExtension) { break }
        }
        var relative = scriptSegments.joined(separator: "/")
        if !relative.hasSuffix(scriptExtension) {
            // No script named: a folder's address runs its index.
            guard segments.isEmpty, relative.isEmpty || relative.hasSuffix("/") else { return nil }
            relative += index
        }
        guard let decoded = relative.removingPercentEncoding, !decoded.contains("\0") else { return nil }
        let filename = root + "/" + decoded
        var info = stat()
        guard stat(filename, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let resolved = realpath(filename, nil) else { return nil }
        let real = String(cString: resolved)
        free(resolved)
        guard real.hasPrefix(root + "/") else { return nil }
        let pathInfo = segments.isEmpty ? "" : "/" + segments.joined(separator: "/")
        return CGIEnvironment.Script(name: prefix + relative, pathInfo: pathInfo, filename: real, root: root)
    }
}

/// Recent script lookups of a FastCGI route, by request path: a file added
/// or removed is seen within `lifetime`.
final class ScriptLookups: Sendable {
    static let lifetime = 2
    static let capacity = 4096
    private let entries = Mutex<[String: (script: CGIEnvironment.Script?, until: Int)]>([:])

    func script(for path: String, resolve: (String) -> CGIEnvironment.Script?) -> CGIEnvironment.Script? {
        let now = CacheEntry.now
        if let hit = entries.withLock({ $0[path] }), hit.until > now { return hit.script }
        let script = resolve(path)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[path] = (script, now + Self.lifetime)
        }
        return script
    }
}
