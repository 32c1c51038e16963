import StrataCore
import StrataProtocol
import XCTest

@testable import StrataApp
@testable import StrataRPC

/// The module API as the application tier runs it: typed handles, a form's
/// redirect computed from the typed result, signed-in handlers, and the
/// problems registration reports.
final class ModuleRegistryTests: XCTestCase {
    struct Note: Codable, Sendable, Equatable {
        let id: Int64
        let title: String
    }

    struct NewNote: Codable, Sendable, Validatable {
        let title: String
        func validate(_ v: inout Validation) { v.length("title", title, 1...20) }
    }

    private let logger = Logger(label: "t", level: .error)
    /// Nothing listens there: these calls carry no credentials, so no call reaches the data tier.
    private var data: RPCClient {
        RPCClient(
            address: .tcp(host: "127.0.0.1", port: 9), group: EventLoopGroupForTests.shared, callerName: "t",
            secret: Array(repeating: 1, count: 32))
    }

    private func call(
        _ registry: ModuleRegistry, _ name: String, _ fields: [String: String], form: String? = nil
    ) async throws(RPCError) -> [UInt8] {
        var metadata = [WebMetadataKey.fieldInput: "1"]
        if let form { metadata[WebMetadataKey.form] = form }
        let request = RPCRequest(
            method: name, timeoutMilliseconds: 1000, metadata: metadata, body: try RPCCodec.encode(fields), bodyEncoding: .binary)
        guard let method = registry.methods[name] else { throw RPCError(.unimplemented, name) }
        return try await MethodDispatcher(data: data, logger: logger).dispatch(
            method, request, RPCContext(method: name, metadata: metadata, deadline: nil))
    }

    private func notes() -> ModuleRegistry {
        var m = ModuleRegistry()
        let add = m.method("notes.add", access: .public) { (new: NewNote, _) in Note(id: 7, title: new.title) }
        let list = m.method("notes.list", access: .public, idempotent: true) { (_: Empty, _) in [Note]() }
        let page = m.page("/notes", list, template: "notes/index")
        m.form("/notes", add, shownOn: page) { "/notes/\($0.id)/\($0.title)" }
        m.api(.post, "/api/notes", add)
        return m
    }

    func testAFormCallAnswersTheRouteRedirectWithInterpolatedValuesEncoded() async throws {
        let registry = notes()
        let outcome = try RPCCodec.decode(FormOutcome.self, from: try await call(registry, "notes.add", ["title": "a b/c?#"], form: "/notes"))
        XCTAssertEqual(outcome, FormOutcome(location: "/notes/7/a%20b%2Fc%3F%23"))
        // The same method called for the API route (or another tier) answers its own result.
        let plain = try await call(registry, "notes.add", ["title": "x"])
        XCTAssertEqual(try RPCCodec.decode(Note.self, from: plain), Note(id: 7, title: "x"))
        XCTAssertEqual(
            registry.routes.map { "\($0.httpMethod) \($0.path) \($0.calls) \($0.shownOn ?? "-")" },
            ["GET /notes notes.list -", "POST /notes notes.add /notes", "POST /api/notes notes.add -"])
    }

    func testAFormCallFailsOnBadInputOrAFormTheMethodDoesNotHave() async throws {
        let registry = notes()
        do {
            _ = try await call(registry, "notes.add", ["title": ""], form: "/notes")
            XCTFail("an empty title was accepted")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertEqual(error.details, ["title": "is required"])
        }
        do {
            _ = try await call(registry, "notes.add", ["title": "x"], form: "/elsewhere")
            XCTFail("a form path the method has no route for was answered")
        } catch {
            XCTAssertEqual(error.code, .notFound)
        }
    }

    func testARedirectLeavingTheSiteGoesHome() {
        XCTAssertEqual(Redirect(to: "https://evil.example/").location, "/")
        XCTAssertEqual(Redirect(to: "//evil.example/").location, "/")
        let value = "x\r\nSet-Cookie: a=1"
        let redirect: Redirect = "/n/\(value)"
        XCTAssertEqual(redirect.location, "/n/x%0D%0ASet-Cookie%3A%20a%3D1")
        XCTAssertEqual(Redirect(to: "/done", flash: "Saved.").flash, "Saved.")
    }

    func testASignedInHandlerGetsTheUserAndAnonymousCallersAreAskedToSignIn() async throws {
        var m = ModuleRegistry()
        m.method("notes.mine", access: .role("editor"), idempotent: true) { (_: Empty, ctx) in ctx.user.name + " " + ctx.requestID }
        do {
            _ = try await call(m, "notes.mine", [:])
            XCTFail("an anonymous caller got through")
        } catch {
            XCTAssertEqual(error.code, .unauthenticated)
        }
        let ann = User(id: 1, email: "a@x", name: "Ann", roles: ["editor"])
        let context = ModuleContext(
            requestID: "r1", logger: logger, db: Database(client: data, requestID: "r1", logger: logger, deadline: nil), metadata: [:],
            deadline: nil, user: ann)
        let request = RPCRequest(
            method: "notes.mine", timeoutMilliseconds: 1000, metadata: [:], body: try RPCCodec.encode(Empty()), bodyEncoding: .binary)
        let reply = try await XCTUnwrap(m.methods["notes.mine"]).run(request, context, nil)
        XCTAssertEqual(try RPCCodec.decode(String.self, from: reply), "Ann r1")
        XCTAssertEqual(m.methods["notes.mine"]?.access.description, "role editor")
    }

    func testRegistrationListsEveryProblem() throws {
        var m = ModuleRegistry()
        let list = m.method("notes.list", access: .public) { (_: Empty, _) in [Note]() }
        m.method("notes.list", access: .public) { (_: Empty, _) in 1 }
        let page = m.page("/notes", list, template: "notes/missing")
        m.form("/notes", list) { _ in "/" }
        m.form("/notes", list) { _ in "/" }
        m.signIn(at: page)
        m.signIn(at: m.page("/other", list, template: "notes/missing"))
        XCTAssertEqual(
            m.problems,
            ["method 'notes.list' is registered twice", "form POST /notes is declared twice", "two sign-in pages: /notes and /other"])

        struct Broken: DomainModule {
            func register(_ m: inout ModuleRegistry) {
                m.page("/broken", m.method("broken.page", access: .public) { (_: Empty, _) in Empty() }, template: "broken/nowhere")
            }
        }
        XCTAssertThrowsError(try AppRuntime(modules: [Broken()], data: data, logger: logger)) { error in
            XCTAssertEqual(
                (error as? AppConfigurationError)?.problems, ["page /broken renders template 'broken/nowhere', which no module has"])
        }
    }
}
