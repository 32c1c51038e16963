import StrataCLI
import XCTest

@testable import StrataCore

final class CommandSpecTests: XCTestCase {
    let spec = CommandSpec(
        name: "tool serve", summary: "Serve.",
        options: [
            OptionSpec("port", env: "TOOL_PORT", value: "N", default: "8080", help: "port"),
            OptionSpec("name", env: "TOOL_NAME", help: "name"),
            OptionSpec(switch: "dry-run", help: "only show"),
        ])

    func testFlagsWinOverEnvironmentWhichWinsOverDefaults() throws {
        let fromDefault = try spec.parse([], environment: [:])
        XCTAssertEqual(try fromDefault.int("port"), 8080)
        let fromEnv = try spec.parse([], environment: ["TOOL_PORT": "9000"])
        XCTAssertEqual(try fromEnv.int("port"), 9000)
        let fromFlag = try spec.parse(["--port", "7000"], environment: ["TOOL_PORT": "9000"])
        XCTAssertEqual(try fromFlag.int("port"), 7000)
        let inline = try spec.parse(["--port=6000"], environment: [:])
        XCTAssertEqual(try inline.int("port"), 6000)
    }

    func testSwitchesAndPositionals() throws {
        let parsed = try spec.parse(["up", "--dry-run", "extra"], environment: [:])
        XCTAssertTrue(parsed.flag("dry-run"))
        XCTAssertEqual(parsed.positional, ["up", "extra"])
        XCTAssertNil(parsed.string("name"))
    }

    func testUnknownOptionIsAOneLineUsageError() {
        XCTAssertThrowsError(try spec.parse(["--bogus"], environment: [:])) { error in
            let text = "\(error)"
            XCTAssertEqual(text, "tool serve: unknown option '--bogus' (see 'tool serve --help')")
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testMissingValueAndBadNumberNameTheOption() throws {
        XCTAssertThrowsError(try spec.parse(["--port"], environment: [:])) { XCTAssertTrue("\($0)".contains("'--port' needs a value")) }
        let parsed = try spec.parse(["--port", "eighty"], environment: [:])
        XCTAssertThrowsError(try parsed.int("port", in: 0...65535)) { XCTAssertTrue("\($0)".contains("--port must be a whole number")) }
        let fromEnv = try spec.parse([], environment: ["TOOL_PORT": "70000"])
        XCTAssertThrowsError(try fromEnv.int("port", in: 0...65535)) { XCTAssertTrue("\($0)".contains("TOOL_PORT must be")) }
        XCTAssertThrowsError(try spec.parse(["--dry-run=yes"], environment: [:])) { XCTAssertTrue("\($0)".contains("takes no value")) }
    }

    func testHelpListsEveryOptionWithItsVariableAndDefault() {
        let help = spec.help
        XCTAssertTrue(help.contains("--port N"))
        XCTAssertTrue(help.contains("[env TOOL_PORT]"))
        XCTAssertTrue(help.contains("(default 8080)"))
        XCTAssertTrue(help.contains("--dry-run"))
        XCTAssertTrue(help.contains("--help"))
    }

    func testLoggerQuotesValuesThatWouldBreakTheLineFormat() {
        XCTAssertEqual(Logger.quote("plain"), "plain")
        XCTAssertEqual(Logger.quote("two words"), "\"two words\"")
        XCTAssertEqual(Logger.quote("a\nb"), "\"a\\nb\"")
        XCTAssertEqual(Logger.quote("k=v"), "\"k=v\"")
        XCTAssertEqual(Logger.quote(""), "\"\"")
    }

    func testDigest() {
        XCTAssertEqual(Digest.hex(Digest.sha256(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Digest.randomBytes(32).count, 32)
        XCTAssertNotEqual(Digest.randomBytes(16), Digest.randomBytes(16))
    }

    func testByteBufferConsumesAndCompacts() {
        var buffer = ByteBuffer()
        buffer.write("hello world")
        buffer.moveReaderIndex(by: 6)
        XCTAssertEqual(buffer.readableBytes, 5)
        XCTAssertEqual(String(decoding: buffer.readableBytesArray, as: UTF8.self), "world")
        buffer.moveReaderIndex(by: 5)
        XCTAssertEqual(buffer.readableBytes, 0)
        XCTAssertEqual(buffer.readerIndex, 0)
        buffer.write(bigEndian: UInt32(0x01020304))
        XCTAssertEqual(buffer.readableBytesArray, [1, 2, 3, 4])
    }
}
