import StrataCore
import StrataIO

#if canImport(Glibc)
    import Glibc
#endif

/// The client side of `HealthEndpoint`: what each tier's `probe` command
/// runs, so a container healthcheck needs no curl in the image.
public enum HealthProbe {
    /// The outcome of one probe: the HTTP status (nil when nothing answered) and what to print.
    public struct Result: Sendable, Equatable {
        /// The status the endpoint answered, or nil when it could not be reached.
        public let status: Int?
        /// The endpoint's answer, or why there was none.
        public let message: String

        /// Whether the probe passed (status 200).
        public var passed: Bool { status == 200 }
    }

    /// Sends `GET path` to `address` and reads the answer, all within
    /// `timeout`. A wildcard listen address (0.0.0.0, ::) is probed on
    /// loopback, so the probe can be given the tier's own setting.
    /// `method` is GET for probes; the cache purge command POSTs.
    public static func check(_ address: SocketAddress, path: String, method: String = "GET", timeout: Duration = .seconds(3)) -> Result {
        guard case .tcp(var host, let port) = address else {
            return Result(status: nil, message: "\(address): only host:port health addresses can be probed")
        }
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            return Result(status: nil, message: "\(address): cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Result(status: nil, message: "\(address): no socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            return Result(status: nil, message: "\(address): not answering (\(String(cString: strerror(errno))))")
        }
        let length = method == "GET" ? "" : "Content-Length: 0\r\n"
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\(length)User-Agent: strata-probe\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
            return Result(status: nil, message: "\(address): could not send the request")
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // The endpoint closes after answering; the cap keeps a wrong port from feeding us forever.
        while answer.count < 65_536 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return parse(answer, from: address)
    }

    static func parse(_ answer: [UInt8], from address: SocketAddress) -> Result {
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let space = text.firstIndex(of: " "),
            let status = Int(text[text.index(after: space)...].prefix(3))
        else {
            return Result(status: nil, message: "\(address): no HTTP answer within the time allowed")
        }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        let message = body.trimmed()
        return Result(status: status, message: message.isEmpty ? "HTTP \(status)" : message)
    }
}
