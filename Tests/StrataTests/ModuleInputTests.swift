import Foundation
import StrataCore
import StrataIO
import StrataProtocol
import StrataRPC
import XCTest

@testable import StrataApp

/// Typed input for module methods: text fields converted per property with
/// a message per field, JSON decoding errors by field, `Validatable` rules,
/// and the pieces of auth that need no server.
final class ModuleInputTests: XCTestCase {
    enum Status: String, Codable, CaseIterable { case open, done }

    struct Task: Codable, Equatable, Validatable {
        var title: String
        var points: Int
        var estimate: Double?
        var urgent: Bool
        var status: Status
        var note: String?

        func validate(_ v: inout Validation) {
            v.length("title", title, 1...10)
            v.range("points", points, 0...100)
            v.matches("note", note ?? "ok", "[a-z ]*", "must be lowercase letters")
        }
    }

    private func request(_ fields: [String: String]) throws -> RPCRequest {
        RPCRequest(
            method: "m", timeoutMilliseconds: 1000, metadata: [WebMetadataKey.fieldInput: "1"], body: try RPCCodec.encode(fields),
            bodyEncoding: .binary)
    }

    func testFieldsConvertToTypedPropertiesWithAMessagePerField() throws {
        let task = try MethodDispatcher.decode(
            Task.self, try request(["title": "Ship", "points": " 5 ", "estimate": "", "urgent": "on", "status": "done"]))
        XCTAssertEqual(task, Task(title: "Ship", points: 5, estimate: nil, urgent: true, status: .done, note: nil))
        // An unticked checkbox is simply absent.
        XCTAssertFalse(try MethodDispatcher.decode(Task.self, try request(["title": "a", "points": "1", "status": "open"])).urgent)

        do {
            _ = try MethodDispatcher.decode(Task.self, try request(["points": "five", "estimate": "1e999", "urgent": "maybe", "status": "open"]))
            XCTFail("bad fields were accepted")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertEqual(
                error.details,
                [
                    "title": "is required", "points": "must be a whole number", "estimate": "must be a number",
                    "urgent": "must be true or false",
                ])
        }
    }

    func testAnEnumFieldWithAValueItDoesNotHaveNamesTheValues() throws {
        // Found by schemathesis: `?status=null` was an internal error.
        XCTAssertThrowsError(try MethodDispatcher.decode(Task.self, try request(["title": "a", "points": "1", "status": "null"]))) { error in
            XCTAssertEqual((error as? RPCError)?.code, .invalidArgument)
            XCTAssertEqual((error as? RPCError)?.details, ["status": "must be one of open, done"])
        }
    }

    func testANULCharacterCountsOnlyInFieldsTheArgumentHas() throws {
        func decode(_ json: String) throws(RPCError) -> Task {
            try MethodDispatcher.decode(
                Task.self, RPCRequest(method: "m", timeoutMilliseconds: 1000, metadata: [:], body: Array(json.utf8), bodyEncoding: .json))
        }
        // Found by schemathesis: an unknown field holding NUL was refused though nothing reads it.
        XCTAssertEqual(try decode(#"{"title":"a","points":2,"urgent":false,"status":"open","ex\u0000tra":"\u0000"}"#).title, "a")
        XCTAssertThrowsError(try decode(#"{"title":"a\u0000b","points":2,"urgent":false,"status":"open"}"#)) { error in
            XCTAssertEqual((error as? RPCError)?.details, ["title": "must not contain a NUL character"])
        }
    }

    func testValidationRulesReportEveryProblem() throws {
        var v = Validation()
        Task(title: "  ", points: 101, estimate: nil, urgent: false, status: .open, note: "Shouting").validate(&v)
        XCTAssertEqual(v.errors, ["title": "is required", "points": "must be between 0 and 100", "note": "must be lowercase letters"])
        v = Validation()
        Task(title: "far too long a title", points: 1, estimate: nil, urgent: false, status: .open, note: nil).validate(&v)
        XCTAssertEqual(v.errors, ["title": "must be at most 10 characters"])
    }

    func testJSONBodiesReportTheFieldThatIsWrong() throws {
        func decode(_ json: String) throws(RPCError) -> Task {
            try MethodDispatcher.decode(
                Task.self, RPCRequest(method: "m", timeoutMilliseconds: 1000, metadata: [:], body: Array(json.utf8), bodyEncoding: .json))
        }
        XCTAssertEqual(try decode(#"{"title":"a","points":2,"urgent":false,"status":"open"}"#).points, 2)
        for (json, field, message) in [
            (#"{"points":2,"urgent":false,"status":"open"}"#, "title", "is required"),
            (#"{"title":"a","points":"2","urgent":false,"status":"open"}"#, "points", "must be a number"),
            (#"{"title":1,"points":2,"urgent":false,"status":"open"}"#, "title", "must be text"),
            (#"{"title":"a","points":2,"urgent":false,"status":"closed"}"#, "status", "is malformed"),
            (#"[1,2"#, "body", "is not valid JSON"),
        ] {
            XCTAssertThrowsError(try decode(json), json) { error in
                XCTAssertEqual((error as? RPCError)?.details, [field: message], json)
            }
        }
    }

    func testAccessRulesAdmitOnlyWhomTheySay() async throws {
        func context(_ user: User?) -> ModuleContext {
            ModuleContext(
                requestID: "t", logger: Logger(label: "t", level: .error),
                db: Database(
                    client: RPCClient(
                        address: .tcp(host: "127.0.0.1", port: 9), group: EventLoopGroupForTests.shared, callerName: "t",
                        secret: Array(repeating: 1, count: 32)),
                    requestID: "t", logger: Logger(label: "t", level: .error), deadline: nil),
                metadata: [:], deadline: nil, user: user)
        }
        let ann = User(id: 1, email: "a@x", name: "Ann", roles: ["editor"])
        let root = User(id: 2, email: "r@x", name: "Root", roles: ["admin"])
        func outcome(_ access: AccessRule, _ user: User?) async -> String {
            do {
                try await access.check(context(user))
                return "ok"
            } catch {
                return "\((error as? RPCError)?.code.description ?? "\(error)")"
            }
        }
        let results = [
            await outcome(.public, nil), await outcome(.signedIn, nil), await outcome(.signedIn, ann),
            await outcome(.role("editor"), ann), await outcome(.role("billing"), ann), await outcome(.role("billing"), root),
            await outcome(.custom("owns it") { $0.user?.id == 1 }, ann), await outcome(.custom("owns it") { $0.user?.id == 1 }, root),
            await outcome(.custom("owns it") { $0.user?.id == 1 }, nil),
        ]
        XCTAssertEqual(results, ["ok", "unauthenticated", "ok", "ok", "permissionDenied", "ok", "ok", "permissionDenied", "unauthenticated"])
    }

    func testPasswordsHashWithYescryptAndVerifyOnlyTheRightOne() throws {
        let hash = try PasswordHash.make("correct horse")
        XCTAssertTrue(hash.hasPrefix("$y$"), hash)
        XCTAssertNotEqual(hash, try PasswordHash.make("correct horse"), "every hash has its own salt")
        XCTAssertTrue(PasswordHash.verify("correct horse", against: hash))
        XCTAssertFalse(PasswordHash.verify("correct horsE", against: hash))
        XCTAssertFalse(PasswordHash.verify("correct horse", against: "not a hash"))
        XCTAssertFalse(PasswordHash.verify("", against: ""))
    }

    func testAViewerIsSplicedIntoAMapResultOnly() throws {
        struct Page: Codable, Equatable { var title: String }
        struct WithViewer: Codable, Equatable { var title: String; var viewer: User }
        let ann = User(id: 1, email: "a@x", name: "Ann", roles: [])
        let spliced = try XCTUnwrap(try RPCCodec.addingEntry("viewer", ann, toMap: try RPCCodec.encode(Page(title: "Hi"))))
        XCTAssertEqual(try RPCCodec.decode(WithViewer.self, from: spliced), WithViewer(title: "Hi", viewer: ann))
        XCTAssertEqual(
            try RPCCodec.decode(
                WithViewer.self,
                from: try XCTUnwrap(try RPCCodec.addingEntry("title", "x", toMap: try RPCCodec.addingEntry("viewer", ann, toMap: [])!))
            ).viewer, ann)
        XCTAssertNil(try RPCCodec.addingEntry("viewer", ann, toMap: try RPCCodec.encode([1, 2])))
        XCTAssertNil(try RPCCodec.addingEntry("viewer", ann, toMap: [0x09, 0x80]), "a truncated count is refused")
    }

    func testSafeNextKeepsSignInFromBeingAnOpenRedirect() {
        XCTAssertEqual(NextPage(next: "/tasks?page=2").safeNext, "/tasks?page=2")
        for hostile in ["//evil.example", "https://evil.example", "/\\evil.example", "evil", nil] {
            XCTAssertEqual(NextPage(next: hostile).safeNext, "/", hostile ?? "nil")
        }
    }
}

/// One loop group for tests that need a client object but make no calls.
enum EventLoopGroupForTests {
    static let shared = EventLoopGroup(loopCount: 1)
}
