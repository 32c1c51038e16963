import Foundation
import Synchronization

/// A folder of templates for development: `library()` recompiles when a
/// `*.mustache` file is added, removed or changed (checked at most once per
/// `interval`), so an edited template shows on the next request. In
/// production load a `TemplateLibrary` once instead.
public final class TemplateFolder: Sendable {
    /// The folder watched.
    public let path: String
    private let interval: Duration
    private let state: Mutex<State>

    private struct State {
        var library: TemplateLibrary
        var stamps: [String: Date]
        var checkedAt: ContinuousClock.Instant
    }

    /// Loads every template below `path`; fails on the first malformed one.
    public init(path: String, interval: Duration = .seconds(1)) throws {
        self.path = path
        self.interval = interval
        let stamps = try Self.stamps(path)
        state = Mutex(State(library: try TemplateLibrary(sources: TemplateLibrary.sources(inDirectory: path)), stamps: stamps, checkedAt: .now))
    }

    /// The current templates, recompiled first if a file changed. A change
    /// that does not compile throws, naming the template, line and column; the
    /// next call tries again.
    public func library() throws -> TemplateLibrary {
        try state.withLock { state in
            let now = ContinuousClock.now
            guard now - state.checkedAt >= interval else { return state.library }
            state.checkedAt = now
            let stamps = try Self.stamps(path)
            guard stamps != state.stamps else { return state.library }
            state.library = try TemplateLibrary(sources: TemplateLibrary.sources(inDirectory: path))
            state.stamps = stamps
            return state.library
        }
    }

    private static func stamps(_ path: String) throws -> [String: Date] {
        let root = URL(fileURLWithPath: path)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.contentModificationDateKey]) else {
            throw TemplateError(template: path, line: 0, column: 0, message: "template folder cannot be read")
        }
        var stamps: [String: Date] = [:]
        for case let url as URL in walker where url.pathExtension == "mustache" {
            stamps[url.path] = (try? url.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate ?? .distantPast
        }
        return stamps
    }
}
