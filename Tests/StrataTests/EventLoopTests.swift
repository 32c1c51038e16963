import Synchronization
import XCTest

@testable import StrataIO

final class EventLoopTests: XCTestCase {
    private final class Fired: Sendable {
        let names = Mutex<[String]>([])
    }

    func testCancelledTimersLeaveTheHeapAndNeverFire() async throws {
        let loop = EventLoop.start()
        defer { loop.shutdown() }
        let fired = Fired()
        let pending = try await loop.submit { () -> Int in
            var handles: [TimerHandle] = []
            for i in 0..<1_000 {
                handles.append(loop.scheduleTimer(after: .seconds(30)) { fired.names.withLock { $0.append("late \(i)") } })
            }
            for handle in handles { handle.cancel() }
            return loop.pendingTimers
        }
        XCTAssertEqual(pending, 0, "a cancelled timer must not wait in the heap for its deadline")

        // Timers due in the same round: the first cancels the second.
        try await loop.submit {
            var second: TimerHandle?
            loop.scheduleTimer(after: .milliseconds(20)) {
                fired.names.withLock { $0.append("first") }
                second?.cancel()
            }
            second = loop.scheduleTimer(after: .milliseconds(20)) { fired.names.withLock { $0.append("second") } }
            loop.scheduleTimer(after: .milliseconds(10)) { fired.names.withLock { $0.append("earliest") } }
        }
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertEqual(fired.names.withLock { $0 }, ["earliest", "first"])
        let left = try await loop.submit { loop.pendingTimers }
        XCTAssertEqual(left, 0)
    }

    /// What an RPC call does: it holds its deadline timer, whose callback holds it.
    private final class Holder: @unchecked Sendable {
        var timer: TimerHandle?
    }

    func testATimerLetsGoOfItsCallbackOnceCancelledOrFired() async throws {
        let loop = EventLoop.start()
        defer { loop.shutdown() }
        let (cancelled, fired) = try await loop.submit { () -> (Weak, Weak) in
            let first = Holder()
            first.timer = loop.scheduleTimer(after: .seconds(30)) { _ = first }
            first.timer?.cancel()
            let second = Holder()
            second.timer = loop.scheduleTimer(after: .milliseconds(1)) { _ = second }
            return (Weak(first), Weak(second))
        }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertNil(cancelled.object, "a cancelled timer kept its callback, and the cycle through it leaked")
        XCTAssertNil(fired.object, "a fired timer kept its callback, and the cycle through it leaked")
    }

    private final class Weak: @unchecked Sendable {
        weak var object: Holder?
        init(_ object: Holder) { self.object = object }
    }
}
