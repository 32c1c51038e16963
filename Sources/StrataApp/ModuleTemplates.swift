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
