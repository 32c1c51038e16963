import Synchronization

/// The paths whose POSTs are attempts at something worth guessing (a
/// password form), limited more strictly by `RateLimitMiddleware`. Replaced
/// whole while serving: the web tier sets them from the routes the
/// application tier declares, which can change with a new manifest.
public final class AttemptPaths: Sendable {
    private let paths: Mutex<Set<String>>

    /// Starts with `paths` (exact paths).
    public init(_ paths: Set<String> = []) { self.paths = Mutex(paths) }

    /// Replaces the paths.
    public func set(_ paths: Set<String>) { self.paths.withLock { $0 = paths } }

    /// Whether `path` is one of them, exactly.
    public func contains(_ path: String) -> Bool { paths.withLock { $0.contains(path) } }
}
