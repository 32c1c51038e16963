import Foundation
import StrataHTTP
import XCTest

@testable import StrataApp
@testable import StrataWeb

/// The pieces of the described API: schemas from Swift types (with their
/// validation rules), content negotiation by RFC 9110's rules, and the XML mapping.
final class OpenAPITests: XCTestCase {
    enum Colour: String, Codable, CaseIterable { case red, green }

    struct Line: Codable {
        let sku: String
        let quantity: Int64
    }

    struct Order: Codable, Validatable {
        let id: Int64
        let note: String?
        let colour: Colour
        let lines: [Line]
        let tags: [String]?
        let placed: Date
        let rush: Bool
        let weight: Double

        func validate(_ v: inout Validation) {
            v.length("note", note ?? "", 0...140)
            v.range("id", id, 1...999)
            v.matches("sku", "", "[A-Z]{3}", "must be three capitals")
        }
    }

    func testSchemasComeFromTheSwiftTypesAndTheirRules() throws {
        let operation = APIOperation(verb: "POST", path: "/orders", method: ModuleMethod<Order, [Line]>(name: "orders.place"))
        let input = try operation.input()
        XCTAssertEqual(input["type"] as? String, "object")
        XCTAssertEqual(
            Set(input["required"] as? [String] ?? []), ["id", "colour", "lines", "placed", "rush", "weight"], "optionals are not required")
        let properties = try XCTUnwrap(input["properties"] as? [String: [String: Any]])
        XCTAssertEqual(properties["id"]?["format"] as? String, "int64")
        XCTAssertEqual(properties["id"]?["minimum"] as? Int64, 1)
        XCTAssertEqual(properties["id"]?["maximum"] as? Int64, 999)
        XCTAssertEqual(properties["note"]?["maxLength"] as? Int, 140)
        XCTAssertEqual(properties["colour"]?["enum"] as? [String], ["red", "green"])
        XCTAssertEqual(properties["rush"]?["type"] as? String, "boolean")
        XCTAssertEqual(properties["weight"]?["type"] as? String, "number")
        XCTAssertEqual(properties["placed"]?["type"] as? String, "number", "Date as JSONEncoder writes it by default")
        let items = try XCTUnwrap(properties["lines"]?["items"] as? [String: Any])
        XCTAssertEqual(Set(items["required"] as? [String] ?? []), ["sku", "quantity"], "nested structs are described")
        XCTAssertEqual((properties["tags"]?["items"] as? [String: Any])?["type"] as? String, "string")
        let output = try operation.output()
        XCTAssertEqual(output["type"] as? String, "array", "a top-level array result")

        struct Loose: Codable { let extra: [String: String] }
        XCTAssertThrowsError(try APIOperation(verb: "GET", path: "/x", method: ModuleMethod<Loose, Loose>(name: "x")).input()) { error in
            XCTAssertTrue("\(error)".contains("dictionaries"), "\(error)")
        }
        struct OnlyEncodable: Encodable { let a: Int }
        XCTAssertThrowsError(try APIOperation(verb: "GET", path: "/x", method: ModuleMethod<Line, OnlyEncodable>(name: "x.y")).output()) { error in
            XCTAssertTrue("\(error)".contains("make it Codable"), "\(error)")
        }
    }

    func testTheDocumentPutsPathParametersInThePathAndTheRestInTheQueryOrBody() throws {
        struct Query: Codable { let project: Int64; let q: String? }
        let operations = [
            APIOperation(verb: "GET", path: "/api/projects/:project/tasks", method: ModuleMethod<Query, [Line]>(name: "tasks.list")),
            APIOperation(verb: "POST", path: "/api/projects/:project/tasks", method: ModuleMethod<Query, Line>(name: "tasks.add")),
        ]
        let bytes = try OpenAPIDocument.make(operations, access: ["tasks.list": .public, "tasks.add": .signedIn], version: "v1")
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let item = try XCTUnwrap((document["paths"] as? [String: [String: Any]])?["/api/projects/{project}/tasks"])
        let get = try XCTUnwrap(item["get"] as? [String: Any])
        let parameters = try XCTUnwrap(get["parameters"] as? [[String: Any]])
        XCTAssertEqual(
            parameters.map { "\($0["name"]!) \($0["in"]!) \(($0["required"] as? Bool) == true)" }, ["project path true", "q query false"])
        XCTAssertEqual((get["security"] as? [[String: Any]])?.first?.isEmpty, true, "a public method needs nothing")
        XCTAssertNotNil((get["responses"] as? [String: Any])?["401"], "a bad API token is refused on public routes too")
        let post = try XCTUnwrap(item["post"] as? [String: Any])
        let content = try XCTUnwrap((post["requestBody"] as? [String: Any])?["content"] as? [String: Any])
        let json = try XCTUnwrap((content["application/json"] as? [String: Any])?["schema"] as? [String: Any])
        XCTAssertEqual(((json["properties"] as? [String: Any])?["q"] as? [String: Any])?["type"] as? [String], ["string", "null"])
        // As XML carries it: nil is an absent field, never null; text only in characters XML keeps as sent.
        let xml = try XCTUnwrap((content["application/xml"] as? [String: Any])?["schema"] as? [String: Any])
        XCTAssertEqual((xml["xml"] as? [String: Any])?["name"] as? String, "request")
        XCTAssertEqual(
            (xml["additionalProperties"] as? [String: Any])?["type"] as? [String], ["string", "number", "boolean"],
            "a field the route does not take may be sent, as plain text, never nested")
        let q = try XCTUnwrap((xml["properties"] as? [String: Any])?["q"] as? [String: Any])
        XCTAssertEqual(q["type"] as? String, "string")
        XCTAssertEqual((q["allOf"] as? [[String: Any]])?.compactMap { $0["pattern"] as? String }, [OpenAPIDocument.xmlText])
        XCTAssertEqual((post["parameters"] as? [[String: Any]])?.count, 1, "only the path parameter")
        XCTAssertNotNil((post["responses"] as? [String: Any])?["401"])
        XCTAssertEqual((post["security"] as? [[String: Any]])?.count, 2, "an API token, or the session with its CSRF header")

        struct Wrong: Codable { let other: Int64 }
        XCTAssertThrowsError(
            try OpenAPIDocument.make(
                [APIOperation(verb: "GET", path: "/a/:id", method: ModuleMethod<Wrong, Wrong>(name: "w"))], access: [:], version: "v")
        ) { error in
            XCTAssertTrue("\(error)".contains(":id is not a field"), "\(error)")
        }
    }

    func testNegotiationFollowsWeightsAndSpecificity() {
        let offers = ["application/json", "application/xml"]
        XCTAssertEqual(MediaTypeNegotiation.preferred(nil, among: offers), "application/json")
        XCTAssertEqual(MediaTypeNegotiation.preferred("application/xml", among: offers), "application/xml")
        XCTAssertEqual(MediaTypeNegotiation.preferred("application/json;q=0.5, application/xml", among: offers), "application/xml")
        XCTAssertEqual(MediaTypeNegotiation.preferred("*/*", among: offers), "application/json", "ties go to the server's order")
        XCTAssertEqual(MediaTypeNegotiation.preferred("application/*;q=0.2, application/xml;q=0", among: offers), "application/json", "q=0 refuses")
        XCTAssertEqual(MediaTypeNegotiation.preferred("text/html, application/xml;q=0.9, */*;q=0.8", among: offers), "application/xml")
        XCTAssertNil(MediaTypeNegotiation.preferred("text/csv", among: offers))
        XCTAssertNil(MediaTypeNegotiation.preferred("application/json;q=0", among: ["application/json"]))
        XCTAssertEqual(
            MediaTypeNegotiation.preferred("garbage, ;;, application/xml", among: offers), "application/xml", "malformed ranges are skipped")
        // Found by the accept fuzz target: an element of only semicolons trapped.
        XCTAssertEqual(MediaTypeNegotiation.preferred(";;,application/xml", among: offers), "application/xml")
    }

    func testTheXMLMappingEscapesAndRefusesWhatXMLCannotCarry() throws {
        let json = Array(#"{"b":[1,2],"a":"x<&>\"'","c":null,"d":{"e":true}}"#.utf8)
        let xml = String(decoding: try XCTUnwrap(XMLMapping.document(fromJSON: json, root: "response")), as: UTF8.self)
        XCTAssertEqual(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><a>x&lt;&amp;&gt;&quot;&apos;</a><b>1</b><b>2</b><d><e>true</e></d></response>")
        XCTAssertNil(XMLMapping.document(fromJSON: Array(#"{"a":"bell\u0007"}"#.utf8), root: "response"), "control characters cannot be sent")
        XCTAssertNil(XMLMapping.document(fromJSON: Array(#"{"1a":"x"}"#.utf8), root: "response"), "nor names XML does not allow")

        XCTAssertEqual(try XMLMapping.fields(fromXML: Array("<r><a>1</a><b>x &amp; y</b><c/></r>".utf8)), ["a": "1", "b": "x & y", "c": ""])
        XCTAssertEqual(try XMLMapping.fields(fromXML: Array("<r>\n  <a> 1 </a>\n</r>".utf8)), ["a": " 1 "], "layout between fields is not text")
        for (bad, reason) in [
            ("<r><a><b>1</b></a></r>", "nested"), ("<r><a>1</a><a>2</a></r>", "twice"), ("<r a=\"1\"/>", "attributes"),
            ("<r><a>1</r>", "well-formed"), ("<!DOCTYPE r><r/>", "DOCTYPE"), ("", "well-formed"),
            // Found by the xml fuzz target: XMLParser crashed on a processing instruction without data.
            ("<r><?x?></r>", "processing instructions"), ("<?xml-stylesheet?><r/>", "processing instructions"),
            ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>", "UTF-8"),
            ("<r>5</r>", "text outside a field"), ("<r><a>1</a> x </r>", "text outside a field"),
        ] {
            XCTAssertThrowsError(try XMLMapping.fields(fromXML: Array(bad.utf8)), bad) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(bad): \(error)")
            }
        }
        // And a name that is not UTF-8, which FoundationXML trapped on.
        XCTAssertThrowsError(try XMLMapping.fields(fromXML: Array("<r><".utf8) + [0xE9, 0xE9] + Array("/></r>".utf8))) { error in
            XCTAssertTrue("\(error)".contains("UTF-8"), "\(error)")
        }
    }

    func testTheYAMLFormKeepsEveryValueItsType() throws {
        let json = #"""
            {"openapi":"3.1.0","paths":{"/a/{id}":{"get":{"responses":{"200":{"description":"yes"}}}}},
             "list":[[1,2],{"on":true,"n":null,"x":1.5},"no",[],{}],"empty":{},"text":"a: b # c\n\u0001"}
            """#
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8))
        let yaml = try XCTUnwrap(YAMLText.text(of: value))
        XCTAssertEqual(
            yaml,
            """
            empty: {}
            list:
              - - 1
                - 2
              - "n": null
                "on": true
                x: 1.5
              - "no"
              - []
              - {}
            openapi: "3.1.0"
            paths:
              "/a/{id}":
                get:
                  responses:
                    "200":
                      description: "yes"
            text: "a: b # c\\n\\u0001"

            """)
    }
}
