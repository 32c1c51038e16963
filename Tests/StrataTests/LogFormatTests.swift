import Foundation
import StrataCore
import XCTest

/// Log lines in both styles carry the same fields; JSON ones parse whatever the values hold.
final class LogFormatTests: XCTestCase {
    private func line(_ style: LogStyle) -> String {
        var out: [UInt8] = []
        var clock = LogClock()
        LogFormat.appendStart(to: &out, level: .warning, label: "web", message: "slow \"request\"", clock: &clock, style: style)
        LogFormat.appendField(named: "path", "/a b\n\u{1}\\", to: &out, style: style)
        LogFormat.appendField("status", 404, to: &out, style: style)
        LogFormat.appendField("client", "é=x", to: &out, style: style)
        LogFormat.appendEnd(to: &out, style: style)
        return String(decoding: out, as: UTF8.self)
    }

    func testJSONLinesAreOneObjectWithTheSameFields() throws {
        let text = line(.json)
        XCTAssertTrue(text.hasSuffix("}\n"))
        XCTAssertEqual(text.filter { $0 == "\n" }.count, 1, "one line whatever the values hold")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["level"] as? String, "warning")
        XCTAssertEqual(object["tier"] as? String, "web")
        XCTAssertEqual(object["msg"] as? String, "slow \"request\"")
        XCTAssertEqual(object["path"] as? String, "/a b\n\u{1}\\")
        XCTAssertEqual(object["status"] as? Int, 404)
        XCTAssertEqual(object["client"] as? String, "é=x")
        XCTAssertNotNil((object["ts"] as? String)?.firstMatch(of: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/))
    }

    func testLogfmtLinesQuoteWhatNeedsIt() {
        let text = line(.logfmt)
        XCTAssertTrue(text.contains(#" level=warning tier=web msg="slow \"request\"" path="/a b\n\u{1}\\" status=404 client="é=x""#), text)
        XCTAssertEqual(LogStyle(name: "JSON"), .json)
        XCTAssertNil(LogStyle(name: "xml"))
    }
}
