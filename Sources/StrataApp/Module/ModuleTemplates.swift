import Foundation

/// Where a module's templates live: the `templates` folder copied into its
/// resource bundle, and the same folder in the source tree, which the app
/// tier reads instead in development mode so an edit shows without a build.
///
/// ```swift
/// var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }
/// ```
public struct ModuleTemplates: Sendable {
    /// The bundled copy (what production serves).
    public let bundled: URL?
    /// The folder next to the source file that created this value.
    public let source: URL

    /// Templates in `bundle`'s `templates` resource folder; `file` is filled in
    /// by the compiler with the calling module's source file.
    public init(bundle: Bundle, file: String = #filePath) {
        bundled = bundle.url(forResource: "templates", withExtension: nil)
        source = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("templates")
    }

    /// The folder to read: the source folder in development when it exists, else the bundled one.
    func folder(development: Bool) -> URL? {
        if development && FileManager.default.fileExists(atPath: source.path) { return source }
        return bundled
    }
}

/// A module's static files (stylesheets, scripts, images): the `public`
/// folder copied into its resource bundle. The application tier hands them
/// to the web tier with the templates, which serves them under
/// `/static/modules/` with fingerprinted URLs (`{{assets.modules_tasks_css}}`
/// for `public/tasks.css`).
///
/// ```swift
/// var assets: ModuleAssets? { ModuleAssets(bundle: .module) }
/// ```
public struct ModuleAssets: Sendable {
    /// The bundled folder.
    public let folder: URL?

    /// The `public` resource folder of `bundle`.
    public init(bundle: Bundle) {
        folder = bundle.url(forResource: "public", withExtension: nil)
    }

    /// Every file below the folder by relative path; refuses more than `limit` bytes in all.
    func files(limit: Int) throws -> [String: [UInt8]] {
        guard let folder else { return [:] }
        var files: [String: [UInt8]] = [:]
        var total = 0
        let base = folder.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [:] }
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
            guard !path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
            let bytes = Array(try Data(contentsOf: url))
            total += bytes.count
            guard total <= limit else {
                throw AppConfigurationError(problems: ["module assets exceed \(limit) bytes (serve large files from the web tier's --public folder)"])
            }
            files[path] = bytes
        }
        return files
    }
}
