import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback FastCGI responder that answers nothing: it answers
/// FCGI_GET_VALUES with no values and otherwise records the record types it
/// receives per connection, and when each connection closed. For seeing
/// what a gateway sends, such as ABORT_REQUEST when its client leaves.
public final class FastCGIRecorder: @unchecked Sendable {
    /// What one connection received.
    public struct Received: Sendable {
        /// Record types in arrival order (1 BEGIN_REQUEST, 2 ABORT_REQUEST, 4 PARAMS, 5 STDIN, 9 GET_VALUES).
        public var types: [UInt8] = []
        /// Whether the gateway closed the connection.
        public var closed = false
    }

    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var connections: [Received] = []

    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard ok, listen(listener, 16) == 0 else { throw TestHTTPClient.Failure(description: "FastCGI recorder: bind failed") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Every connection's records so far.
    public var received: [Received] {
        lock.lock()
        defer { lock.unlock() }
        return connections
    }

    /// Stops accepting.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            lock.lock()
            let index = connections.count
            connections.append(Received())
            lock.unlock()
            Thread.detachNewThread { [self] in serve(fd, index) }
        }
    }

    private func serve(_ fd: Int32, _ index: Int) {
        defer {
            close(fd)
            lock.lock()
            connections[index].closed = true
            lock.unlock()
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            buffer += chunk[..<n]
            while buffer.count >= 8 {
                let length = Int(buffer[4]) << 8 | Int(buffer[5])
                let total = 8 + length + Int(buffer[6])
                guard buffer.count >= total else { break }
                let type = buffer[1]
                buffer.removeFirst(total)
                lock.lock()
                connections[index].types.append(type)
                lock.unlock()
                if type == 9 {
                    // GET_VALUES_RESULT with no values: the gateway learns nothing and goes on.
                    let empty: [UInt8] = [1, 10, 0, 0, 0, 0, 0, 0]
                    _ = empty.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }
        }
    }
}
