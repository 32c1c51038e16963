import StrataHTTP
import StrataRPC
import StrataTemplates

/// What the web tier serves from one manifest: the router and the compiled
/// templates. Immutable; a new manifest makes a new site, swapped in whole,
/// so a request never sees half of an update.
final class Site: Sendable {
    /// The manifest version, nil before the app tier was first reached.
    let version: String?
    let router: Router<RouteDescriptor>
    let templates: TemplateLibrary

    /// The site for `manifest` (nil: only the web tier's own templates, no routes).
    init(manifest: RouteManifest?, ownTemplates: [String: String]) throws(TemplateError) {
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
    }
}
