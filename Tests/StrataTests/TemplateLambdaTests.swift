import Synchronization
import XCTest

@testable import StrataTemplates

/// The specification's optional lambdas module, as Swift closures.
final class TemplateLambdaTests: XCTestCase {
    private func render(_ source: String, _ values: [String: TemplateValue]) throws -> String {
        let library = try TemplateLibrary(sources: ["main": source])
        return String(decoding: try library.render("main", .object(values)), as: UTF8.self)
    }

    private func lambda(_ body: @escaping @Sendable (String) -> String) -> TemplateValue { .lambda(TemplateLambda(body)) }

    func testInterpolation() throws {
        XCTAssertEqual(try render("Hello, {{lambda}}!", ["lambda": lambda { _ in "world" }]), "Hello, world!")
        XCTAssertEqual(try render("Hello, {{lambda}}!", ["planet": .string("world"), "lambda": lambda { _ in "{{planet}}" }]), "Hello, world!")
        XCTAssertEqual(
            try render("{{= | | =}}\nHello, (|&lambda|)!", ["planet": .string("world"), "lambda": lambda { _ in "|planet| => {{planet}}" }]),
            "Hello, (|planet| => world)!")
        XCTAssertEqual(try render("<{{lambda}}{{{lambda}}}", ["lambda": lambda { _ in ">" }]), "<&gt;>")
    }

    func testEachUseCallsTheLambdaAgain() throws {
        let calls = Counter()
        let value = lambda { _ in String(calls.next()) }
        XCTAssertEqual(try render("{{lambda}} == {{{lambda}}} == {{lambda}}", ["lambda": value]), "1 == 2 == 3")
    }

    func testSections() throws {
        XCTAssertEqual(
            try render("<{{#lambda}}{{x}}{{/lambda}}>", ["x": .string("Error!"), "lambda": lambda { $0 == "{{x}}" ? "yes" : "no" }]), "<yes>")
        XCTAssertEqual(
            try render("<{{#lambda}}-{{/lambda}}>", ["planet": .string("Earth"), "lambda": lambda { $0 + "{{planet}}" + $0 }]), "<-Earth->")
        XCTAssertEqual(
            try render("{{= | | =}}<|#lambda|-|/lambda|>", ["planet": .string("Earth"), "lambda": lambda { $0 + "{{planet}} => |planet|" + $0 }]),
            "<-{{planet}} => Earth->")
        XCTAssertEqual(
            try render("{{#lambda}}FILE{{/lambda}} != {{#lambda}}LINE{{/lambda}}", ["lambda": lambda { "__" + $0 + "__" }]), "__FILE__ != __LINE__")
        XCTAssertEqual(try render("<{{^lambda}}{{static}}{{/lambda}}>", ["static": .string("static"), "lambda": lambda { _ in "" }]), "<>")
    }

    func testAMalformedLambdaResultIsAnErrorNotATrap() throws {
        XCTAssertThrowsError(try render("{{lambda}}", ["lambda": lambda { _ in "{{#open}}" }])) { error in
            XCTAssertTrue("\(error)".contains("lambda result"), "\(error)")
        }
    }

    private final class Counter: Sendable {
        private let value = Mutex(0)
        func next() -> Int {
            value.withLock {
                $0 += 1; return $0
            }
        }
    }
}
