import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback HTTP server for gateway tests whose every answer the test
/// writes as raw bytes: well-formed, malformed, cut off, dripped slowly.
/// Each connection is served on a thread of its own, request after request,
/// until the script returns false or the client closes.
public final class ScriptedUpstream: @unchecked Sendable {
    /// A request as received: the head's text and the body.
    public struct Request: Sendable {
        public let head: String
        /// The body, de-chunked (empty when the upstream discards bodies).
        public let body: [UInt8]
        /// How many body bytes arrived.
        public var bodyLength = 0
        /// The body's last bytes (up to 64; kept when the body is discarded).
        public var bodyTail: [UInt8] = []

        /// The request line (`GET /x HTTP/1.1`).
        public var line: String { head.components(separatedBy: "\r\n").first ?? "" }

        /// The first value of header `name`.
        public func header(_ name: String) -> String? { headers(name).first }

        /// Every value of header `name`, in order.
        public func headers(_ name: String) -> [String] {
            head.components(separatedBy: "\r\n").dropFirst().compactMap { line in
                guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name.lowercased() else { return nil }
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// The connection's socket, for the script to answer on.
    public struct Peer {
        let fd: Int32

        /// Tells connections apart while they are open.
        public var connection: Int32 { fd }

        /// Writes `text` as it is.
        public func write(_ text: String) { write(Array(text.utf8)) }

        /// Writes `bytes` as they are (errors ignored: the client may be gone).
        public func write(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [Request] = []
    private var stopped = false
    private var open: Set<Int32> = []
    private let script: @Sendable (Request, Peer) -> Bool
    private let keepsBodies: Bool

    /// Listens on a free loopback port; `script` answers each request and
    /// returns whether the connection stays open for another. With
    /// `keepsBodies` false, bodies are only counted and summed (large uploads).
    public init(keepsBodies: Bool = true, script: @escaping @Sendable (Request, Peer) -> Bool) throws {
        self.script = script
        self.keepsBodies = keepsBodies
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 128) == 0 else { throw TestHTTPClient.Failure(description: "upstream: bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// A well-formed answer with `body` and extra header lines.
    public static func answer(_ status: Int = 200, _ body: String, headers: [String] = []) -> String {
        "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n" + body
    }

    /// Every request received so far.
    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Stops accepting and shuts every open connection down, as a server that exits would.
    public func stop() {
        lock.lock()
        stopped = true
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                lock.lock()
                defer { lock.unlock() }
                if stopped { return }
                continue
            }
            lock.lock()
            open.insert(client)
            lock.unlock()
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            lock.lock()
            open.remove(fd)
            lock.unlock()
            close(fd)
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            // One request: the head, then a Content-Length body.
            var headEnd: Int?
            while headEnd == nil {
                if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                    headEnd = end.lowerBound
                    break
                }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                buffer += chunk[..<n]
            }
            let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
            buffer.removeFirst(headEnd! + 4)
            let framing = Request(head: head, body: [])
            var body: [UInt8] = []
            var length = 0
            var tail: [UInt8] = []
            func take(_ count: Int) {
                length += count
                tail = Array((tail + buffer[max(0, count - 64)..<count]).suffix(64))
                if keepsBodies { body += buffer[..<count] }
                buffer.removeFirst(count)
            }
            func fill() -> Bool {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return false }
                buffer += chunk[..<n]
                return true
            }
            if framing.header("Transfer-Encoding")?.lowercased() == "chunked" {
                // Chunks until the last; no trailers are expected.
                while true {
                    while buffer.firstRange(of: Array("\r\n".utf8)) == nil { guard fill() else { return } }
                    let lineEnd = buffer.firstRange(of: Array("\r\n".utf8))!.lowerBound
                    let size = Int(String(decoding: buffer[..<lineEnd], as: UTF8.self), radix: 16) ?? -1
                    guard size >= 0 else { return }
                    buffer.removeFirst(lineEnd + 2)
                    while buffer.count < size + 2 { guard fill() else { return } }
                    take(size)
                    buffer.removeFirst(2)
                    if size == 0 { break }
                }
            } else {
                var remaining = Int(framing.header("Content-Length") ?? "0") ?? 0
                while remaining > 0 {
                    if buffer.isEmpty { guard fill() else { return } }
                    let count = min(remaining, buffer.count)
                    take(count)
                    remaining -= count
                }
            }
            var request = Request(head: head, body: body)
            request.bodyLength = length
            request.bodyTail = tail
            lock.lock()
            received.append(request)
            lock.unlock()
            guard script(request, Peer(fd: fd)) else { return }
        }
    }
}
