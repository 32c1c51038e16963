#if canImport(Glibc)
import Glibc
#endif

/// Serves files below one folder, refusing any path that would leave it.
///
/// The request path is percent-decoded first; `..`, `.`, NUL and backslash
/// segments are refused, and the resolved path (symlinks followed) must
/// still lie under the root.
public struct StaticFiles: Sendable {
    /// The absolute, symlink-free root folder.
    public let root: String

    /// Uses `root` as the folder to serve; fails if it does not exist.
    public init(root: String) throws(StaticFilesError) {
        guard let resolved = Self.realPath(root) else { throw StaticFilesError(message: "static file root '\(root)' does not exist") }
        self.root = resolved
    }

    /// The response for `relativePath` (percent-encoded, relative to the root), or nil when there is no such file.
    public func response(for relativePath: String, method: HTTPMethod) -> HTTPResponse? {
        guard let path = resolve(relativePath) else { return nil }
        guard let body = Self.readFile(path) else { return nil }
        var headers = HTTPHeaders()
        headers.add("Content-Type", MediaType.forPath(path))
        headers.add("Cache-Control", "no-cache")
        headers.add("X-Content-Type-Options", "nosniff")
        return HTTPResponse(status: .ok, headers: headers, body: body)
    }

    /// The absolute path of a regular file under the root, or nil.
    func resolve(_ relativePath: String) -> String? {
        guard let decoded = try? FormDecoding.percentDecode(relativePath) else { return nil }
        var parts: [Substring] = []
        for part in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            if part == ".." || part == "." || part.contains("\0") || part.contains("\\") { return nil }
            parts.append(part)
        }
        guard !parts.isEmpty else { return nil }
        let candidate = root + "/" + parts.joined(separator: "/")
        guard let resolved = Self.realPath(candidate), resolved.hasPrefix(root + "/") else { return nil }
        var info = stat()
        guard stat(resolved, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return resolved
    }

    static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

/// The static file root could not be used.
public struct StaticFilesError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public let message: String
    public var description: String { message }
}

/// Media types by file extension.
public enum MediaType {
    /// The `Content-Type` for a file name; `application/octet-stream` when unknown.
    public static func forPath(_ path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        return byExtension[name[name.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }

    static let byExtension: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
        "json": "application/json", "map": "application/json", "txt": "text/plain; charset=utf-8",
        "xml": "application/xml", "svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg",
        "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "ico": "image/x-icon",
        "woff": "font/woff", "woff2": "font/woff2", "pdf": "application/pdf", "wasm": "application/wasm",
        "webmanifest": "application/manifest+json",
    ]
}
