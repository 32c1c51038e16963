import StrataApp
import StrataTestSupport
import StrataTesting
import XCTest

/// Reverse-proxy routes declared by a module (`m.proxy`): the web tier
/// serves them from the manifest, beside the module's pages.
final class ModuleProxyTests: XCTestCase {
    /// A module with a page and an older site it sits beside.
    struct Legacy: DomainModule {
        let upstream: String
        var options: [String] = []

        func register(_ m: inout ModuleRegistry) {
            m.proxy("/legacy/", to: [upstream], options: options)
        }
    }

    func testAModulesProxyRouteForwardsUnderItsPrefix() async throws {
        let origin = try ScriptedUpstream { request, peer in
            peer.write(ScriptedUpstream.answer(200, "old site: \(request.line)", headers: ["Content-Type: text/plain"]))
            return true
        }
        defer { origin.stop() }
        let app = try await TestApp(modules: [Legacy(upstream: "http://127.0.0.1:\(origin.port)/old/")])
        let visitor = app.client()
        let answer = await visitor.get("/legacy/report?year=2026")
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(answer.text, "old site: GET /old/report?year=2026 HTTP/1.1", "the prefix is rewritten as the URL says")
        let received = try XCTUnwrap(origin.requests.first)
        XCTAssertEqual(received.header("X-Forwarded-For"), "127.0.0.1")
        XCTAssertNotNil(received.header("X-Request-ID"))
        // Outside the prefix the module's own routes answer, as before.
        let elsewhere = await visitor.get("/guestbook-nowhere")
        XCTAssertEqual(elsewhere.status, 404)
        XCTAssertEqual(origin.requests.count, 1)
    }

    func testProxyRoutesThatCannotWorkAreRegistrationProblems() async throws {
        do {
            _ = try await TestApp(modules: [
                Legacy(upstream: "https://example.com/"), Legacy(upstream: "http://127.0.0.1:1", options: ["balance=random"]),
            ])
            XCTFail("the modules were accepted")
        } catch let error as AppConfigurationError {
            XCTAssertEqual(error.problems.count, 2, "\(error.problems)")
            XCTAssertTrue(
                error.problems[0].contains("proxy /legacy/") && error.problems[0].contains("https upstreams are not supported"), error.problems[0])
            XCTAssertTrue(error.problems[1].contains("balance=random"), error.problems[1])
        }
        struct Hiding: DomainModule {
            func register(_ m: inout ModuleRegistry) {
                m.proxy("/account", to: ["http://127.0.0.1:1"])
            }
        }
        do {
            _ = try await TestApp(modules: [Hiding()])
            XCTFail("a proxy over the sign-in pages was accepted")
        } catch let error as AppConfigurationError {
            XCTAssertTrue(error.problems.contains { $0.contains("proxy /account would hide the route /account") }, "\(error.problems)")
        }
    }
}
