import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A file kept open for sending to many connections with `sendfile`, which
/// takes an explicit offset, so connections on any loop can share the one
/// descriptor. It is closed when the last reference goes: the cache that
/// opened it, and every connection still sending from it.
public final class SharedFile: Sendable {
    /// The open descriptor (read-only).
    public let descriptor: Int32

    /// Files open at once in this process; past `limit` new ones are refused,
    /// so a cache of many files cannot use up the descriptors connections need.
    private static let open = Atomic<Int>(0)
    /// The most files kept open at once.
    public static let limit = 1_024

    /// Opens `path` read-only; nil when it cannot be opened or `limit` files are open.
    public init?(path: String) {
        guard Self.open.wrappingAdd(1, ordering: .relaxed).newValue <= Self.limit else {
            Self.open.wrappingSubtract(1, ordering: .relaxed)
            return nil
        }
        descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            Self.open.wrappingSubtract(1, ordering: .relaxed)
            return nil
        }
    }

    deinit {
        Glibc.close(descriptor)
        Self.open.wrappingSubtract(1, ordering: .relaxed)
    }
}
