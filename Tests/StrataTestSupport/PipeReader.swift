import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a child's output pipe to its end on a thread of its own, with
/// plain blocking reads.
///
/// Not `FileHandle.readabilityHandler`: on Linux that installs a libdispatch
/// read source, and tearing it down races the descriptor's close, which
/// crashes the whole test process now and then in `_dispatch_event_loop_drain`
/// (swift-corelibs-foundation#3276). A blocking read never registers the
/// descriptor with libdispatch.
final class PipeReader: @unchecked Sendable {
    private let pipe: Pipe
    private let ended = NSCondition()
    private var isEnded = false

    /// Starts reading; `receive` gets each chunk, on the reading thread.
    init(_ pipe: Pipe, receive: @escaping @Sendable ([UInt8]) -> Void) {
        self.pipe = pipe
        let fd = pipe.fileHandleForReading.fileDescriptor
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                receive(Array(buffer[..<n]))
            }
            ended.lock()
            isEnded = true
            ended.broadcast()
            ended.unlock()
        }
        thread.name = "test-pipe-reader"
        thread.start()
    }

    /// Waits up to `seconds` for end of file (every writer closed its end);
    /// returns whether it came.
    @discardableResult
    func waitForEnd(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        ended.lock()
        defer { ended.unlock() }
        while !isEnded && ended.wait(until: deadline) {}
        return isEnded
    }
}
