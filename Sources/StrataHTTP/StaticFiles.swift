import StrataCore
import StrataIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the files below one folder.
///
/// - Nothing leaves the root: the path is percent-decoded first; `..`, `.`,
///   hidden (dot) names, NUL and backslashes are refused, and the resolved
///   path (symlinks followed) must still lie under the root.
/// - Strong `ETag` and `Last-Modified`; `If-None-Match` and
///   `If-Modified-Since` answer 304; one `Range` (suffix ranges too) with
///   `If-Range` answers 206, an unsatisfiable one 416.
/// - A `.br` or `.gz` sibling is served when the client accepts it, with
///   `Vary: Accept-Encoding`. A text asset (css, js, svg, json, html, txt,
///   xml, map, wasm, ...) without a `.gz` sibling gets a gzip representation
///   made once when the file is loaded, with its own strong `ETag`; 304s and
///   ranges apply to whichever representation was selected.
/// - Fingerprinted names (`app.1a2b3c4d5e.css` for `app.css`, see `url(for:)`)
///   are served with a year-long `immutable` policy; other files must revalidate.
/// - `If-Match` and `If-Unmodified-Since` that fail answer 412 (RFC 9110 §13.2.2 order).
/// - Files over 16 KiB go out with sendfile from a descriptor the cache keeps
///   open (up to `SharedFile.limit` of them); smaller ones from memory.
/// - File metadata and contents are cached and re-checked at most once a
///   second, so a changed file is noticed without a `stat` per request. Each
///   event loop keeps its own index of the cache, so loops never wait on one lock.
public final class StaticFiles: Sendable {
    /// The absolute, symlink-free root folder.
    public let root: String
    /// The URL prefix the files are served under, such as `/static/`.
    public let urlPrefix: String
    private let cache = Mutex<[String: CacheEntry]>([:])
    /// Each loop's view of `cache`, consulted first without a lock.
    private let loopCaches = LoopLocal { _ in LoopCache() }

    /// Files larger than this are read per request instead of kept in memory.
    static let maxCachedSize = 1 << 20
    /// Files larger than this (and up to `maxCachedSize`) are sent from a
    /// descriptor kept open rather than from memory.
    static let sendfileSize = 16 * 1024
    /// Files smaller than this are not worth a gzip representation.
    static let minimumCompressedSize = 256
    /// Entries a cache holds before it is emptied.
    static let maxEntries = 10_000

    /// A file as last read: immutable, shared by every loop's cache.
    final class CachedFile: Sendable {
        let path: String
        let size: Int
        let modified: timespec
        let etag: String
        let lastModified: String
        let contentType: String
        /// The contents, for files served from memory; empty for those sent from disk.
        let body: [UInt8]
        /// The file kept open, for files sent with sendfile without opening them per request.
        let open: SharedFile?
        let fingerprint: String
        let variants: [(encoding: String, body: [UInt8], etag: String)]

        init(
            path: String, size: Int, modified: timespec, etag: String, lastModified: String, contentType: String,
            body: [UInt8], open: SharedFile? = nil, fingerprint: String, variants: [(encoding: String, body: [UInt8], etag: String)]
        ) {
            self.open = open
            self.path = path
            self.size = size
            self.modified = modified
            self.etag = etag
            self.lastModified = lastModified
            self.contentType = contentType
            self.body = body
            self.fingerprint = fingerprint
            self.variants = variants
        }
    }

    /// A cached file and the second it was last checked against the disk.
    struct CacheEntry: Sendable {
        let file: CachedFile
        var checkedAt: Int
    }

    /// One loop's index, misses included: a fingerprinted URL is first looked
    /// up as named (a miss), and a miss costs a `realpath` and a `stat`, so
    /// it is remembered for the second like a hit. Loop-confined: no runtime
    /// exclusivity checks.
    final class LoopCache {
        @exclusivity(unchecked) var entries: [String: (file: CachedFile?, checkedAt: Int)] = [:]
    }

    /// Serves `root` under `urlPrefix`; fails if the folder does not exist.
    public init(root: String, urlPrefix: String = "/static/") throws(StaticFilesError) {
        guard let resolved = Self.realPath(root) else { throw StaticFilesError(message: "static file root '\(root)' does not exist") }
        self.root = resolved
        self.urlPrefix = urlPrefix
    }

    /// The fingerprinted URL of `asset` (a path relative to the root, such as
    /// `css/app.css`): `/static/css/app.<hash>.css`. Falls back to the plain
    /// URL when the file does not exist, so a missing asset shows up as a 404.
    public func url(for asset: String) -> String {
        guard let file = lookup(asset) else { return urlPrefix + asset }
        return urlPrefix + Self.fingerprinted(asset, file.fingerprint)
    }

    /// Fingerprinted URLs of every visible file, keyed for templates: the
    /// relative path with `/`, `.` and `-` turned into `_` (`css/app.css` →
    /// `css_app_css`), so `{{assets.css_app_css}}` needs no dotted-name escaping.
    public func assetURLs() -> [String: String] {
        var urls: [String: String] = [:]
        var folders = [""]
        while let folder = folders.popLast(), urls.count < 10_000 {
            guard let directory = opendir(root + "/" + folder) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard !name.hasPrefix("."), !name.hasSuffix(".gz"), !name.hasSuffix(".br") else { continue }
                let relative = folder.isEmpty ? name : folder + "/" + name
                if entry.pointee.d_type == UInt8(DT_DIR) {
                    folders.append(relative)
                } else {
                    urls[String(relative.map { $0 == "/" || $0 == "." || $0 == "-" ? "_" : $0 })] = url(for: relative)
                }
            }
        }
        return urls
    }

    /// The response for `relativePath` (percent-encoded, relative to the root),
    /// or nil when there is no such file.
    public func response(for relativePath: String, request: HTTPRequest) -> HTTPResponse? {
        var immutable = false
        var file = lookup(relativePath)
        if file == nil, let (plain, hash) = Self.splitFingerprint(relativePath), let candidate = lookup(plain), candidate.fingerprint == hash {
            file = candidate
            immutable = true
        }
        guard let file else { return nil }

        var headers = HTTPHeaders()
        headers.add("Content-Type", file.contentType)
        headers.add("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
        headers.add("Accept-Ranges", "bytes")
        var body = file.body
        var etag = file.etag
        if !file.variants.isEmpty {
            headers.add("Vary", "Accept-Encoding")
            let acceptEncoding = request.headers["Accept-Encoding"]
            let takes = (br: ContentCoding.accepts("br", acceptEncoding), gzip: ContentCoding.accepts("gzip", acceptEncoding))
            if let variant = file.variants.first(where: { $0.encoding == "br" ? takes.br : takes.gzip }) {
                headers.add("Content-Encoding", variant.encoding)
                body = variant.body
                etag = variant.etag
            }
        }
        headers.add("ETag", etag)
        headers.add("Last-Modified", file.lastModified)

        switch Preconditions.evaluate(request, etag: etag, lastModified: file.modified.tv_sec) {
        case .proceed: break
        case .notModified: return HTTPResponse(status: .notModified, headers: headers)
        case .failed: return HTTPResponse(status: .preconditionFailed, headers: headers)
        }
        // Large files are not kept in memory: they go out with sendfile.
        let onDisk = body.isEmpty && file.size > 0
        let total = onDisk ? file.size : body.count
        var bounds: ClosedRange<Int>? = total > 0 ? 0...(total - 1) : nil
        var status = HTTPStatus.ok
        if let range = request.headers["Range"], request.method == .get,
            Self.ifRangeHolds(request.headers["If-Range"], etag: etag, lastModified: file.lastModified)
        {
            switch Self.byteRange(range, size: total) {
            case .none:
                break
            case .unsatisfiable:
                headers.add("Content-Range", "bytes */\(total)")
                return HTTPResponse(status: HTTPStatus(416), headers: headers)
            case .range(let requested):
                headers.add("Content-Range", "bytes \(requested.lowerBound)-\(requested.upperBound)/\(total)")
                bounds = requested
                status = HTTPStatus(206)
            }
        }
        var response = HTTPResponse(status: status, headers: headers)
        guard let bounds else { return response }
        if onDisk {
            response.file = FileRegion(path: file.path, offset: Int64(bounds.lowerBound), count: Int64(bounds.count), open: file.open)
        } else {
            response.body = bounds.count == body.count ? body : Array(body[bounds])
        }
        return response
    }

    // MARK: Cache

    private func lookup(_ relativePath: String) -> CachedFile? {
        let now = time(nil)
        let local = loopCaches.value
        if let entry = local?.entries[relativePath], entry.checkedAt == now { return entry.file }
        let file = sharedLookup(relativePath, now: now)
        if let local {
            if local.entries.count >= Self.maxEntries { local.entries.removeAll() }
            local.entries[relativePath] = (file, now)
        }
        return file
    }

    /// The cache every loop shares: re-checked against the disk once a second.
    private func sharedLookup(_ relativePath: String, now: Int) -> CachedFile? {
        if let cached = cache.withLock({ $0[relativePath] }), cached.checkedAt == now { return cached.file }
        guard let path = resolve(relativePath) else {
            _ = cache.withLock { $0.removeValue(forKey: relativePath) }
            return nil
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        if var cached = cache.withLock({ $0[relativePath] }), cached.file.path == path, cached.file.size == Int(info.st_size),
            cached.file.modified.tv_sec == info.st_mtim.tv_sec, cached.file.modified.tv_nsec == info.st_mtim.tv_nsec
        {
            cached.checkedAt = now
            cache.withLock { $0[relativePath] = cached }
            return cached.file
        }
        guard let loaded = Self.load(path, info) else { return nil }
        cache.withLock { cache in
            if cache.count >= Self.maxEntries { cache.removeAll() }
            cache[relativePath] = CacheEntry(file: loaded, checkedAt: now)
        }
        return loaded
    }

    private static func load(_ path: String, _ info: stat) -> CachedFile? {
        let size = Int(info.st_size)
        let body: [UInt8]
        let fingerprint: String
        if size <= maxCachedSize {
            guard let bytes = readFile(path) else { return nil }
            body = bytes
            fingerprint = String(Digest.hex(Digest.sha256(bytes)).prefix(10))
        } else {
            body = []
            // Large files: fingerprint from identity, not contents, to avoid hashing them.
            fingerprint = String(Digest.hex(Digest.sha256(Array("\(path)|\(size)|\(info.st_mtim.tv_sec)|\(info.st_mtim.tv_nsec)".utf8))).prefix(10))
        }
        let etag = "\"\(String(size, radix: 16))-\(String(info.st_mtim.tv_sec, radix: 16))\(String(info.st_mtim.tv_nsec, radix: 16))\""
        var variants: [(String, [UInt8], String)] = []
        for (encoding, suffix) in [("br", ".br"), ("gzip", ".gz")] where size <= maxCachedSize {
            var sibling = stat()
            guard stat(path + suffix, &sibling) == 0, sibling.st_mode & S_IFMT == S_IFREG,
                Int(sibling.st_size) <= maxCachedSize, let bytes = readFile(path + suffix)
            else { continue }
            variants.append((encoding, bytes, String(etag.dropLast()) + "-\(encoding)\""))
        }
        // No gzip sibling: make one, once, for text worth compressing.
        let contentType = MediaType.forPath(path)
        if size >= minimumCompressedSize, size <= maxCachedSize, !variants.contains(where: { $0.0 == "gzip" }),
            ContentCoding.isCompressible(contentType)
        {
            let compressed = Gzip.compress(body, level: Gzip.cachedLevel)
            if compressed.count < body.count { variants.append(("gzip", compressed, String(etag.dropLast()) + "-gzip\"")) }
        }
        // Bigger files go out with sendfile from a descriptor kept open: one
        // copy fewer than writing them from memory, and no open per request.
        // (Their compressed forms, smaller, stay in memory.)
        let open = size > sendfileSize && size <= maxCachedSize ? SharedFile(path: path) : nil
        return CachedFile(
            path: path, size: size, modified: info.st_mtim, etag: etag,
            lastModified: HTTPDate.format(epochSeconds: info.st_mtim.tv_sec), contentType: contentType,
            body: open == nil ? body : [], open: open, fingerprint: fingerprint, variants: variants)
    }

    /// The absolute path of a regular, visible file under the root, or nil.
    func resolve(_ relativePath: String) -> String? {
        guard let decoded = try? FormDecoding.percentDecode(relativePath) else { return nil }
        var parts: [Substring] = []
        for part in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            if part.hasPrefix(".") || part.contains("\0") || part.contains("\\") { return nil }
            parts.append(part)
        }
        guard !parts.isEmpty else { return nil }
        let candidate = root + "/" + parts.joined(separator: "/")
        guard let resolved = Self.realPath(candidate), resolved.hasPrefix(root + "/") else { return nil }
        var info = stat()
        guard stat(resolved, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return resolved
    }

    // MARK: Fingerprints

    static func fingerprinted(_ path: String, _ hash: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        guard let dot = path[slash...].lastIndex(of: "."), dot > slash else { return path + "." + hash }
        return String(path[..<dot]) + "." + hash + String(path[dot...])
    }

    /// `css/app.1a2b3c4d5e.css` → (`css/app.css`, `1a2b3c4d5e`).
    static func splitFingerprint(_ path: String) -> (String, String)? {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let name = path[slash...]
        let pieces = name.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count >= 2 else { return nil }
        let hashIndex = pieces.count >= 3 ? pieces.count - 2 : pieces.count - 1
        let hash = pieces[hashIndex]
        guard hash.count == 10, hash.utf8.allSatisfy({ FormDecoding.hexValue($0) != nil }) else { return nil }
        var plain = pieces
        plain.remove(at: hashIndex)
        return (String(path[..<slash]) + plain.joined(separator: "."), String(hash))
    }

    // MARK: Conditional and range requests

    static func ifRangeHolds(_ value: String?, etag: String, lastModified: String) -> Bool {
        guard let value else { return true }
        if value.hasPrefix("\"") { return value == etag }  // strong comparison
        return value == lastModified
    }

    enum RangeResult: Equatable {
        case none
        case unsatisfiable
        case range(ClosedRange<Int>)
    }

    /// Parses a single `bytes=` range against `size`. Several ranges, other
    /// units and malformed values are ignored (the whole file is sent), as RFC 9110 allows.
    static func byteRange(_ header: String, size: Int) -> RangeResult {
        guard header.hasPrefix("bytes=") else { return .none }
        let spec = header.dropFirst(6).trimmed()
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .none }
        let startText = spec[..<dash], endText = spec[spec.index(after: dash)...]
        guard startText.allSatisfy(\.isASCIIDigit), endText.allSatisfy(\.isASCIIDigit), !(startText.isEmpty && endText.isEmpty),
            startText.count < 19, endText.count < 19
        else { return .none }
        if startText.isEmpty {
            // Suffix range: the last N bytes.
            let count = Int(endText)!
            guard count > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - count)...(size - 1))
        }
        let start = Int(startText)!
        let end = endText.isEmpty ? size - 1 : min(Int(endText)!, size - 1)
        if !endText.isEmpty && Int(endText)! < start { return .none }
        guard start < size else { return .unsatisfiable }
        return .range(start...end)
    }

    // MARK: Files

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

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
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
        "json": "application/json; charset=utf-8", "map": "application/json; charset=utf-8", "txt": "text/plain; charset=utf-8",
        "csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "xml": "application/xml; charset=utf-8", "svg": "image/svg+xml; charset=utf-8", "png": "image/png", "jpg": "image/jpeg",
        "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "ico": "image/x-icon",
        "woff": "font/woff", "woff2": "font/woff2", "pdf": "application/pdf", "wasm": "application/wasm",
        "webmanifest": "application/manifest+json", "mp4": "video/mp4", "webm": "video/webm",
    ]
}
