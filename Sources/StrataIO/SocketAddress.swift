import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a socket listens or connects: `host:port`, `[v6]:port` or `unix:/path`.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// A TCP address; `host` is a name or a numeric IPv4/IPv6 address.
    case tcp(host: String, port: Int)
    /// A Unix-domain socket path.
    case unix(path: String)

    /// Parses `host:port`, `[::1]:port`, `:port` (all interfaces) or `unix:/path`.
    public init(parsing text: String) throws(SocketError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty, path.utf8.count < 108 else {
                throw SocketError(operation: "parse address", message: "'\(text)' needs a socket path of 1 to 107 bytes after 'unix:'")
            }
            self = .unix(path: path)
            return
        }
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw SocketError(operation: "parse address", message: "'\(text)' is not [ipv6]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw SocketError(operation: "parse address", message: "'\(text)' has no port (expected host:port or unix:/path)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw SocketError(operation: "parse address", message: "'\(text)' has no valid port (0-65535)")
        }
        if host.isEmpty { host = "0.0.0.0" }
        self = .tcp(host: String(host), port: port)
    }

    /// Parses a comma-separated list of addresses, such as `app-1:7001,app-2:7001`.
    public static func list(parsing text: String) throws(SocketError) -> [SocketAddress] {
        let parts = text.split(separator: ",").map { $0.trimmed() }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw SocketError(operation: "parse address", message: "no address given") }
        var addresses: [SocketAddress] = []
        for part in parts { addresses.append(try SocketAddress(parsing: part)) }
        return addresses
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }

    /// The host name or numeric address of a TCP address, nil for a Unix-domain one.
    public var host: String? {
        if case .tcp(let host, _) = self { return host }
        return nil
    }

    /// The TCP port, or nil for a Unix-domain address.
    public var port: Int? {
        if case .tcp(_, let port) = self { return port }
        return nil
    }

    /// Whether this is a TCP address with a host name (not a numeric address),
    /// which may resolve to several addresses that change over time.
    public var isHostName: Bool {
        guard case .tcp(let host, _) = self else { return false }
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) != 1 && inet_pton(AF_INET6, host, &v6) != 1
    }

    /// Every numeric address a host name resolves to (empty if it does not
    /// resolve); other addresses resolve to themselves.
    public func resolveAll() -> [SocketAddress] {
        guard case .tcp(let host, let port) = self, isHostName else { return [self] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var found: [SocketAddress] = []
        var cursor = list
        while let info = cursor {
            var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST) == 0 {
                let numeric = SocketAddress.tcp(host: name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, port: port)
                if !found.contains(numeric) { found.append(numeric) }
            }
            cursor = info.pointee.ai_next
        }
        return found
    }

    /// Resolves the address and calls `body` with each candidate sockaddr until one succeeds.
    func withResolved<R>(
        passive: Bool, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) throws(SocketError) -> R
    ) throws(SocketError) -> R {
        switch self {
        case .unix(let path):
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                let bytes = Array(path.utf8)
                raw.copyBytes(from: bytes.prefix(raw.count - 1))
            }
            let result: Result<R, SocketError> = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    do throws(SocketError) {
                        return .success(try body(AF_UNIX, pointer, socklen_t(MemoryLayout<sockaddr_un>.size)))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            return try result.get()
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_flags = passive ? AI_PASSIVE : 0
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let first = list else {
                let reason = String(cString: gai_strerror(status))
                throw SocketError(operation: "resolve \(self)", message: reason)
            }
            defer { freeaddrinfo(list) }
            var lastError = SocketError(operation: "resolve \(self)", message: "no usable address")
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor {
                do throws(SocketError) {
                    return try body(info.pointee.ai_family, info.pointee.ai_addr, info.pointee.ai_addrlen)
                } catch {
                    lastError = error
                }
                cursor = info.pointee.ai_next
            }
            throw lastError
        }
    }

    /// Reads back the address a socket is bound to (for port 0 listeners).
    static func local(of fd: Int32, fallback: SocketAddress) -> SocketAddress {
        guard case .tcp(let host, _) = fallback else { return fallback }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return fallback }
        switch Int32(storage.ss_family) {
        case AF_INET:
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
            return .tcp(host: host, port: Int(port))
        case AF_INET6:
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return .tcp(host: host, port: Int(port))
        default:
            return fallback
        }
    }
}

/// A socket call failed; the message names the operation and the system's reason.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    /// What was being done, for example `connect 127.0.0.1:7001`.
    public let operation: String
    /// Why it failed.
    public let message: String
    /// The errno value, when the failure came from a system call.
    public let errno: Int32?

    /// Creates an error with an explicit message.
    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
        self.errno = nil
    }

    /// Creates an error from a failed system call's errno.
    public init(operation: String, errno code: Int32) {
        self.operation = operation
        self.message = String(cString: strerror(code))
        self.errno = code
    }

    public var description: String { "\(operation): \(message)" }
}
