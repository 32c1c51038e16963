#if canImport(Glibc)
    import Glibc
#endif

/// Loopback helpers for tests.
public enum Loopback {
    /// Asks the kernel for a free loopback port.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bindAnyPort(fd) ?? 0
    }

    /// A TCP socket listening on a free loopback port that nobody accepts
    /// from: the kernel completes connections into its queue of `backlog`,
    /// and once that is full drops every further SYN, as a host that is down
    /// would. Close `fd` when done.
    public static func unservedListener(backlog: Int32) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, let port = bindAnyPort(fd), listen(fd, backlog) == 0 else {
            close(fd)
            return nil
        }
        return (fd, port)
    }

    /// Binds `fd` to 127.0.0.1 on a port the kernel picks, and returns that port.
    private static func bindAnyPort(_ fd: Int32) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
