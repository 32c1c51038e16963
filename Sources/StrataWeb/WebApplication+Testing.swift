import Foundation
import StrataCore
import StrataHTTP
import StrataProtocol
import StrataRPC
import StrataTemplates

// What `StrataTesting` needs to run the web tier in a test process, with no
// server: the package's own, not public API.
extension WebApplication {
    /// The application with the web tier's bundled templates and static
    /// files, as `strata-web serve` builds it, behind the middleware every
    /// request passes (request ids, security headers; no rate limits, which
    /// a test's burst of requests would trip).
    package static func inProcess(manifest: RouteManifest, app: RPCClient, logger: Logger, secret: [UInt8]) throws -> any HTTPHandler {
        let resources = try WebCommand.resources
        let application = try WebApplication(
            manifest: manifest, app: app, staticFiles: try StaticFiles(root: resources.appendingPathComponent("Public").path),
            ownTemplates: try TemplateLibrary.sources(inDirectory: resources.appendingPathComponent("Templates").path), logger: logger,
            secret: secret)
        return MiddlewareChain([RequestIDMiddleware(), SecurityHeadersMiddleware()], handler: application)
    }

    /// The name of the session cookie and of the CSRF form field.
    package static let sessionCookie = BrowserSession.cookieName
    package static let csrfField = BrowserSession.fieldName

    /// A CSRF token that `secret`'s web tier accepts from the browser session
    /// `session` (the cookie's value), masked as a page carries it.
    package static func csrfToken(session: String, secret: [UInt8]) -> String? {
        let request = HTTPRequest(method: .get, target: "/", headers: HTTPHeaders([("Cookie", "\(sessionCookie)=\(session)")]))
        guard let browser = BrowserSession.existing(in: request) else { return nil }
        return BrowserSession.masked(browser.csrfToken(key: csrfKey(secret)))
    }
}
