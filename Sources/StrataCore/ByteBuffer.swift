/// A growable byte buffer with a read cursor: bytes are appended at the end
/// and consumed from the front without shifting on every read.
public struct ByteBuffer: Sendable {
    /// The underlying storage; bytes before `readerIndex` are already consumed.
    public private(set) var storage: [UInt8]
    /// Index of the first unread byte in `storage`.
    public private(set) var readerIndex: Int = 0

    /// Creates an empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// Creates a buffer holding `bytes`.
    public init(bytes: [UInt8]) { storage = bytes }

    /// The number of unread bytes.
    public var readableBytes: Int { storage.count - readerIndex }

    /// The unread bytes, copied.
    public var readableBytesArray: [UInt8] { Array(storage[readerIndex...]) }

    /// Appends bytes at the end.
    public mutating func write<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        storage.append(contentsOf: bytes)
    }

    /// Appends the UTF-8 bytes of a string.
    public mutating func write(_ string: String) {
        storage.append(contentsOf: string.utf8)
    }

    /// Appends one byte.
    public mutating func write(byte: UInt8) { storage.append(byte) }

    /// Appends an integer in big-endian byte order.
    public mutating func write<I: FixedWidthInteger>(bigEndian value: I) {
        withUnsafeBytes(of: value.bigEndian) { storage.append(contentsOf: $0) }
    }

    /// Marks `count` bytes as read; reclaims the space once most of the buffer is consumed.
    public mutating func moveReaderIndex(by count: Int) {
        precondition(count >= 0 && count <= readableBytes, "moveReaderIndex past the written bytes")
        readerIndex += count
        if readerIndex == storage.count {
            // Keep a small buffer for the next read; give a large one back, so
            // thousands of idle connections do not each pin a big allocation.
            storage.removeAll(keepingCapacity: storage.capacity <= 16_384)
            readerIndex = 0
        } else if readerIndex > 65_536 && readerIndex * 2 > storage.count {
            storage.removeFirst(readerIndex)
            readerIndex = 0
        }
    }

    /// Calls `body` with a view of the unread bytes.
    public func withReadableBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[readerIndex...]))
        }
    }

    /// Removes all bytes.
    public mutating func clear() {
        storage.removeAll(keepingCapacity: true)
        readerIndex = 0
    }
}
