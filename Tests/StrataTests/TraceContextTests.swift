import StrataCore
import XCTest

/// `traceparent` as W3C Trace Context defines it: what is accepted, what starts a new trace.
final class TraceContextTests: XCTestCase {
    func testAValidHeaderIsKeptAndAChildSharesItsTrace() throws {
        let parent = try XCTUnwrap(TraceContext(header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        XCTAssertEqual(parent.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(parent.spanID, "00f067aa0ba902b7")
        XCTAssertEqual(parent.header, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let child = parent.child()
        XCTAssertEqual(child.traceID, parent.traceID)
        XCTAssertEqual(child.flags, "01")
        XCTAssertNotEqual(child.spanID, parent.spanID)
        XCTAssertNotNil(TraceContext(header: child.header))
        // A later version may append fields; its first four are read.
        XCTAssertEqual(TraceContext(header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")?.traceID, parent.traceID)
    }

    func testMalformedHeadersStartANewTrace() {
        for bad in [
            "", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // all-zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // all-zero span id
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 has four parts
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", "00-4bf92f3577b34da6a3ce929d0e0e4736\n-00f067aa0ba902b7-01",
        ] {
            XCTAssertNil(TraceContext(header: bad), bad)
        }
        let fresh = TraceContext.start()
        XCTAssertEqual(fresh.traceID.count, 32)
        XCTAssertEqual(fresh.spanID.count, 16)
        XCTAssertEqual(TraceContext(header: fresh.header), fresh)
        XCTAssertNotEqual(TraceContext.start().traceID, fresh.traceID)
    }
}
