import Foundation
import StrataTesting
import XCTest

@testable import StrataApp

/// Arguments that arrive as text (an XML body, a query, a page's path, a
/// form): which routes may take them is decided from the method's Swift
/// types at start, said in the OpenAPI document and kept to by the web tier.
final class TextArgumentTests: XCTestCase {
    struct Note: Codable, Sendable {
        let title: String
        let count: Int64?
        let urgent: Bool
    }

    struct Plan: Codable, Sendable {
        let when: Date
        let tags: [String]
    }

    struct Planner: DomainModule {
        func register(_ m: inout ModuleRegistry) {
            let note = m.method("planner.note", access: .public) { (note: Note, _) in note }
            let plan = m.method("planner.plan", access: .public) { (plan: Plan, _) in plan }
            m.api(.post, "/api/notes", note)
            m.api(.post, "/api/plans", plan)
        }
    }

    func testOnlyRoutesWhoseArgumentXMLCanCarryReadXMLBodies() async throws {
        let app = try await TestApp(modules: [Planner()])
        let client = app.client()
        let note = await client.api("POST", "/api/notes", xml: "<request><title>A &amp; B</title><urgent>true</urgent></request>")
        XCTAssertEqual(note.status, 200, note.text)
        XCTAssertEqual(note.text, #"{"title":"A & B","urgent":true}"#)

        let plan = await client.api("POST", "/api/plans", xml: "<request><when>1</when><tags>a</tags></request>")
        XCTAssertEqual(plan.status, 415, "a date and a list cannot come from XML text: \(plan.text)")
        XCTAssertTrue(plan.text.contains("this route reads no XML"), plan.text)
        let asJSON = await client.api("POST", "/api/plans", json: #"{"when":1,"tags":["a","b"]}"#)
        XCTAssertEqual(asJSON.status, 200, asJSON.text)

        let document = await client.get("/api/openapi.json")
        XCTAssertEqual(document.status, 200)
        let paths = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(document.text.utf8)) as? [String: Any])?["paths"] as? [String: Any])
        func bodyTypes(_ path: String) -> Set<String> {
            let post = (paths[path] as? [String: Any])?["post"] as? [String: Any]
            return Set((((post?["requestBody"] as? [String: Any])?["content"]) as? [String: Any])?.keys.map { $0 } ?? [])
        }
        XCTAssertEqual(bodyTypes("/api/notes"), ["application/json", "application/xml"])
        XCTAssertEqual(bodyTypes("/api/plans"), ["application/json"])
    }

    func testWhatTextCanCarryIsDecidedByTheDeclaredType() {
        enum Size: String, Codable, CaseIterable { case small, large }
        struct Code: Codable {
            let raw: String
            init(from decoder: any Decoder) throws { raw = try decoder.singleValueContainer().decode(String.self) }
        }
        struct Order: Codable { let size: Size; let code: Code?; let note: String?; let count: Int64 }
        let operation = APIOperation(verb: "POST", path: "/orders", method: ModuleMethod<Order, Order>(name: "orders.place"))
        XCTAssertEqual(operation.fieldsNotReadAsText, ["code"], "a wrapper of a String is not a String to the field reader")
        XCTAssertFalse(operation.readsXMLBody)
    }

    func testPagesAndFormsWhoseArgumentTextCannotCarryStopTheStart() async throws {
        struct Since: Codable, Sendable { let since: Date }
        struct Booking: Codable, Sendable { let nights: Int64; let guests: [String] }
        struct Hotel: DomainModule {
            func register(_ m: inout ModuleRegistry) {
                let list = m.method("hotel.list", access: .public, idempotent: true) { (since: Since, _) in since }
                let book = m.method("hotel.book", access: .public) { (booking: Booking, _) in booking }
                m.page("/hotel", list, template: "hotel/list")
                m.form("/hotel/book", book) { _ in "/hotel" }
            }
        }
        do {
            _ = try await TestApp(modules: [Hotel()])
            XCTFail("the module was accepted")
        } catch let error as AppConfigurationError {
            let problems = error.problems
            XCTAssertTrue(problems.contains { $0.contains("page '/hotel' calls hotel.list") && $0.contains(": since") }, "\(problems)")
            XCTAssertTrue(problems.contains { $0.contains("form POST /hotel/book calls hotel.book") && $0.contains(": guests") }, "\(problems)")
        }
    }

    func testAQueryFieldTextCannotCarryIsAStartUpProblem() async throws {
        struct Since: Codable, Sendable { let since: Date }
        struct Feed: DomainModule {
            func register(_ m: inout ModuleRegistry) {
                m.api(.get, "/api/feed", m.method("feed.list", access: .public, idempotent: true) { (since: Since, _) in since })
            }
        }
        do {
            _ = try await TestApp(modules: [Feed()])
            XCTFail("a Date query field was accepted")
        } catch let error as AppConfigurationError {
            XCTAssertTrue(error.problems.contains { $0.contains("GET /api/feed") && $0.contains("the field since") }, "\(error.problems)")
        }
    }
}
