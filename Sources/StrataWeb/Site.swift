import Foundation
import StrataHTTP
import StrataProtocol
import StrataRPC
import StrataTemplates

/// What the web tier serves from one manifest: the router, the compiled
/// templates and the modules' static files. Immutable; a new manifest makes a
/// new site, swapped in whole, so a request never sees half of an update.
final class Site: Sendable {
    /// The manifest version, nil before the app tier was first reached.
    let version: String?
    let router: Router<RouteDescriptor>
    let templates: TemplateLibrary
    /// The modules' static files, under `/static/modules/` (nil when they have none).
    let moduleFiles: StaticFiles?
    /// Fingerprinted URLs of the web tier's and the modules' static files, for templates.
    let assets: TemplateValue
    /// Where a browser signs in, when a page needs a user (nil: no module offers it).
    let signInPath: String?
    /// The forms whose posts are attempts at a password, limited more strictly.
    let attemptPaths: Set<String>
    /// The modules' reverse-proxy routes (nil: none).
    let proxies: Gateway?
    /// The API's description, reference page and catalog (nil: no API routes).
    let api: APIDescription?

    static let modulePrefix = "/static/modules/"

    /// The site for `manifest` (nil: only the web tier's own templates, no routes).
    /// Module assets are written below `assetsRoot` (one folder per version)
    /// and served from there with everything `StaticFiles` does (ETags, ranges, fingerprints).
    init(
        manifest: RouteManifest?, ownTemplates: [String: String], ownAssets: [String: String], assetsRoot: String,
        proxies: Gateway? = nil
    ) throws {
        self.proxies = proxies
        api = APIDescription(document: manifest?.openAPI, version: manifest?.version)
        var sources = ownTemplates
        for (name, source) in manifest?.templates ?? [:] { sources[name] = source }
        // Strict: a page naming a layout or partial that does not exist fails here, not as a blank render.
        templates = try TemplateLibrary(sources: sources, strict: true)
        var router = Router<RouteDescriptor>()
        for route in manifest?.routes ?? [] {
            router.add(HTTPMethod(rawValue: route.httpMethod), route.path, route)
        }
        self.router = router
        version = manifest?.version
        signInPath = manifest?.signInPath
        attemptPaths = Set((manifest?.routes ?? []).filter { $0.kind == .form && $0.attemptLimited == true }.map(\.path))
        var urls = ownAssets
        if let manifest, let files = manifest.assets, !files.isEmpty {
            let folder = try Self.write(files, to: assetsRoot + "/" + manifest.version)
            let served = try StaticFiles(root: folder, urlPrefix: Self.modulePrefix)
            for (key, url) in served.assetURLs() { urls["modules_" + key] = url }
            moduleFiles = served
        } else {
            moduleFiles = nil
        }
        assets = .object(urls.mapValues { .string($0) })
    }

    /// Writes `files` below `folder` (created afresh); refuses paths that would leave it.
    private static func write(_ files: [String: [UInt8]], to folder: String) throws -> String {
        let manager = FileManager.default
        try? manager.removeItem(atPath: folder)
        try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (path, bytes) in files {
            let parts = path.split(separator: "/")
            guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." || $0.hasPrefix(".") || $0.contains("\0") }) else {
                throw SiteError("module asset path '\(path)' is not allowed")
            }
            let target = folder + "/" + parts.joined(separator: "/")
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard manager.createFile(atPath: target, contents: Data(bytes)) else {
                throw SiteError("cannot write module asset '\(path)' to \(folder)")
            }
        }
        return folder
    }
}

/// A manifest the web tier cannot serve.
struct SiteError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
