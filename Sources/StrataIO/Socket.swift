#if canImport(Glibc)
    import Glibc
#endif

/// Socket option helpers.
enum Socket {
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func setOption(_ fd: Int32, _ option: Int32) {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, option, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Creates a non-blocking listening socket bound to `address`.
    static func listen(on address: SocketAddress, reusePort: Bool, backlog: Int32) throws(SocketError) -> Int32 {
        if case .unix(let path) = address { unlink(path) }
        return try address.withResolved(passive: true) { (family, pointer, length) throws(SocketError) -> Int32 in
            let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
            if family != AF_UNIX {
                setOption(fd, SO_REUSEADDR)
                if reusePort { setOption(fd, SO_REUSEPORT) }
            }
            guard bind(fd, pointer, length) == 0 else {
                let code = errno
                close(fd)
                throw SocketError(operation: "bind \(address)", errno: code)
            }
            guard Glibc.listen(fd, backlog) == 0 else {
                let code = errno
                close(fd)
                throw SocketError(operation: "listen \(address)", errno: code)
            }
            return fd
        }
    }
}
