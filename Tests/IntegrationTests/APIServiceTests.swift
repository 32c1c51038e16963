import Foundation
import StrataTestSupport
import XCTest

/// The JSON API as a web service other programs discover and use, through
/// the real tiers: the generated OpenAPI document (checked by the PyPI
/// `openapi-spec-validator`), its reference page, the RFC 9727 catalog,
/// XML by content negotiation (XXE and entity bombs refused), negotiated
/// error bodies, and CORS for the listed origins only.
final class APIServiceTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "api-service-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    /// A signed-up user's API token.
    private func token(port: Int) throws -> String {
        let ann = Browser(try TestHTTPClient(port: port), address: "203.0.113.7")
        try ann.signUp(email: "ann@example.com", name: "Ann")
        return try ann.makeAPIToken(named: "client")
    }

    func testTheServiceDescribesItselfAndSpeaksXML() throws {
        let (port, _) = try tiers.startStack(
            database: tiers.folder.path + "/api.db", web: ["--trusted-proxies", "127.0.0.1", "--cors-origins", "https://app.example.com"])
        let client = try TestHTTPClient(port: port)

        // The document: every API route, typed from the Swift methods.
        let document = try client.request("GET", "/api/openapi.json")
        XCTAssertEqual(document.status, 200)
        XCTAssertEqual(document.header("Content-Type"), "application/openapi+json")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(document.text.utf8)) as? [String: Any])
        XCTAssertEqual(json["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(json["paths"] as? [String: [String: Any]])
        XCTAssertNotNil(paths["/api/projects/{project}/tasks"]?["get"])
        let create = try XCTUnwrap(paths["/api/projects"]?["post"] as? [String: Any])
        let body = try XCTUnwrap(
            (((create["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
                as? [String: Any])
        let name = try XCTUnwrap((body["properties"] as? [String: Any])?["name"] as? [String: Any])
        XCTAssertEqual(name["minLength"] as? Int, 1, "validation rules are schema constraints")
        XCTAssertEqual(name["maxLength"] as? Int, 80)
        XCTAssertEqual(body["required"] as? [String], ["name"])
        // Errors are described in both forms the client may ask for; in XML the root element is the error itself.
        let unprocessable = try XCTUnwrap(((create["responses"] as? [String: Any])?["422"] as? [String: Any])?["content"] as? [String: Any])
        XCTAssertEqual(
            ((unprocessable["application/xml"] as? [String: Any])?["schema"] as? [String: Any])?["$ref"] as? String, "#/components/schemas/XMLError")
        let xmlError = try XCTUnwrap(((json["components"] as? [String: Any])?["schemas"] as? [String: Any])?["XMLError"] as? [String: Any])
        XCTAssertEqual((xmlError["xml"] as? [String: Any])?["name"] as? String, "error")
        let file = tiers.folder.path + "/openapi.json"
        try document.text.write(toFile: file, atomically: true, encoding: .utf8)
        if let validator = try? ExternalTool.run("openapi-spec-validator", [file], seconds: 60), validator.status != 127 {
            XCTAssertEqual(validator.status, 0, validator.output)
        } else if ProcessInfo.processInfo.environment["STRATA_REQUIRE_TOOLS"] == "1" {
            XCTFail("openapi-spec-validator is not installed")
        }
        let notModified = try client.request("GET", "/api/openapi.json", headers: [("If-None-Match", try XCTUnwrap(document.header("ETag")))])
        XCTAssertEqual(notModified.status, 304)
        // The same document as YAML: a YAML reader (PyYAML) gets the same value the JSON is, and the validator passes it too.
        let yaml = try client.request("GET", "/api/openapi.yaml")
        XCTAssertEqual(yaml.status, 200)
        XCTAssertEqual(yaml.header("Content-Type"), "application/openapi+yaml")
        XCTAssertTrue(yaml.text.contains("\nopenapi: \"3.1.0\"\n"), yaml.text)
        let yamlFile = tiers.folder.path + "/openapi.yaml"
        try yaml.text.write(toFile: yamlFile, atomically: true, encoding: .utf8)
        let same = try ExternalTool.run(
            "python3",
            [
                "-c", "import json, sys, yaml; sys.exit(0 if yaml.safe_load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 3)", yamlFile,
                file,
            ],
            seconds: 60)
        XCTAssertEqual(same.status, 0, "the YAML reads as the JSON document: \(same.output)")
        if let validator = try? ExternalTool.run("openapi-spec-validator", [yamlFile], seconds: 60), validator.status != 127 {
            XCTAssertEqual(validator.status, 0, validator.output)
        }

        let reference = try client.request("GET", "/api/docs")
        XCTAssertEqual(reference.status, 200)
        XCTAssertTrue(reference.text.contains("<code>POST /api/projects</code>"), reference.text)
        let catalog = try client.request("GET", "/.well-known/api-catalog")
        XCTAssertEqual(catalog.status, 200)
        XCTAssertTrue(try XCTUnwrap(catalog.header("Content-Type")).hasPrefix("application/linkset+json"))
        XCTAssertTrue(
            catalog.text.contains(#""service-desc":[{"href":"\/api\/openapi.json""#) || catalog.text.contains(#""href":"/api/openapi.json""#),
            catalog.text)

        // XML in and out, as Accept and Content-Type say.
        let token = try token(port: port)
        let auth = ("Authorization", "Bearer \(token)")
        let made = try client.request(
            "POST", "/api/projects", headers: [auth, ("Content-Type", "application/xml"), ("Accept", "application/xml")],
            body: "<project><name>Tom &amp; Jerry</name><description>x &lt; y</description></project>")
        XCTAssertEqual(made.status, 200, made.text)
        XCTAssertEqual(made.header("Content-Type"), "application/xml; charset=utf-8")
        let id = try XCTUnwrap(made.text.firstMatch(of: /<response><id>(\d+)<\/id><\/response>/)?.1, made.text)
        let listed = try client.request("GET", "/api/projects", headers: [auth, ("Accept", "application/json;q=0.5, application/xml")])
        XCTAssertTrue(listed.text.contains("<response><item>"), listed.text)
        XCTAssertTrue(listed.text.contains("<name>Tom &amp; Jerry</name>"), "escaped: \(listed.text)")
        XCTAssertTrue(listed.text.contains("<id>\(id)</id>"))
        let asJSON = try client.request("GET", "/api/projects", headers: [auth, ("Accept", "application/xml;q=0.1, application/*")])
        XCTAssertEqual(asJSON.header("Content-Type"), "application/json", "the more specific range wins")
        XCTAssertEqual(try client.request("GET", "/api/projects", headers: [auth, ("Accept", "text/csv")]).status, 406)
        let plain = try client.request("POST", "/api/projects", headers: [auth, ("Content-Type", "text/plain")], body: "name=x")
        XCTAssertEqual(plain.status, 415)
        let invalid = try client.request(
            "POST", "/api/projects", headers: [auth, ("Content-Type", "application/xml"), ("Accept", "application/xml")],
            body: "<project><name></name></project>")
        XCTAssertEqual(invalid.status, 422)
        XCTAssertTrue(invalid.text.contains("<error><code>invalidArgument</code><fields><name>"), invalid.text)

        // No DOCTYPE, so no external entity (XXE) and no entity expansion bomb.
        let xxe = """
            <?xml version="1.0"?><!DOCTYPE p [<!ENTITY secret SYSTEM "file:///etc/passwd">]><project><name>&secret;</name></project>
            """
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><project><name>&lol3;</name></project>
            """
        for attack in [xxe, laughs] {
            let refused = try client.request("POST", "/api/projects", headers: [auth, ("Content-Type", "application/xml")], body: attack)
            XCTAssertEqual(refused.status, 400, refused.text)
            XCTAssertTrue(refused.text.contains("DOCTYPE"), refused.text)
        }
        XCTAssertFalse(try client.request("GET", "/api/projects", headers: [auth]).text.contains("root:"), "nothing of /etc/passwd got in")

        // What schemathesis found, fixed: QUERY on a route is 405 with Allow (it was 501, a server error);
        // a task for someone outside the project is a conflict with its state, 409 (it was 422 for a valid request).
        let query = try client.request("QUERY", "/api/projects", headers: [auth])
        XCTAssertEqual(query.status, 405)
        XCTAssertEqual(query.header("Allow"), "GET, HEAD, POST, OPTIONS")
        let outsider = try client.request(
            "POST", "/api/projects/\(id)/tasks", headers: [auth, ("Content-Type", "application/json")], body: #"{"title":"t","assignee":999}"#)
        XCTAssertEqual(outsider.status, 409, outsider.text)
        // And a query field holding NUL was dropped and the call answered; it is refused, naming the field.
        let nul = try client.request("GET", "/api/projects/\(id)/tasks?q=a%00b", headers: [auth])
        XCTAssertEqual(nul.status, 422, nul.text)
        XCTAssertTrue(nul.text.contains(#""q":"must not contain a NUL character""#), nul.text)

        // Error bodies in the form the client reads.
        let jsonMissing = try client.request("GET", "/no-such-page", headers: [("Accept", "application/json")])
        XCTAssertEqual(jsonMissing.status, 404)
        XCTAssertEqual(jsonMissing.header("Content-Type"), "application/json")
        XCTAssertTrue(jsonMissing.text.contains(#""code":"notFound""#), jsonMissing.text)
        let htmlMissing = try client.request("GET", "/no-such-page", headers: [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")])
        XCTAssertTrue(try XCTUnwrap(htmlMissing.header("Content-Type")).hasPrefix("text/html"))

        // CORS: the listed origin may call with credentials, by name; others get no permission.
        let preflight = try client.request(
            "OPTIONS", "/api/projects",
            headers: [
                ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type"),
            ])
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(preflight.header("Access-Control-Allow-Origin"), "https://app.example.com")
        XCTAssertEqual(preflight.header("Access-Control-Allow-Credentials"), "true")
        XCTAssertTrue(try XCTUnwrap(preflight.header("Access-Control-Allow-Methods")).contains("POST"))
        let stranger = try client.request(
            "OPTIONS", "/api/projects", headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
        XCTAssertNil(stranger.header("Access-Control-Allow-Origin"))
        let crossOrigin = try client.request("GET", "/api/projects", headers: [auth, ("Origin", "https://app.example.com")])
        XCTAssertEqual(crossOrigin.header("Access-Control-Allow-Origin"), "https://app.example.com")
        XCTAssertNotEqual(crossOrigin.header("Access-Control-Allow-Origin"), "*")
    }
}
