import StrataCore
import StrataIO

/// The kind of an RPC frame. See "RPC wire format" in ARCHITECTURE.md.
public enum FrameType: UInt8, Sendable {
    case hello = 1
    case request = 2
    case response = 3
    case error = 4
    case cancel = 5
    case ping = 6
    case pong = 7
    case goaway = 8
}

/// One length-prefixed frame: `u32 length | u8 type | u8 flags | u32 stream id | payload`.
/// `length` counts everything after itself, so it is at least 6.
struct Frame: Sendable, Equatable {
    var type: FrameType
    var flags: UInt8 = 0
    var streamID: UInt32
    var payload: [UInt8]

    static let headerSize = 10
    /// Flag bit on REQUEST and RESPONSE: the body is JSON (else binary).
    static let jsonBody: UInt8 = 1

    func encoded() -> [UInt8] {
        var buffer = ByteBuffer(capacity: Self.headerSize + payload.count)
        buffer.write(bigEndian: UInt32(6 + payload.count))
        buffer.write(byte: type.rawValue)
        buffer.write(byte: flags)
        buffer.write(bigEndian: streamID)
        buffer.write(payload)
        return buffer.storage
    }
}

/// A malformed or oversized frame; the connection is closed after it.
public struct FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public let message: String
    public var description: String { message }
}

/// Splits a byte stream into frames, refusing oversized or unknown ones before buffering them.
struct FrameDecoder: Sendable {
    let maxFrameSize: Int

    /// The next whole frame in `buffer`, or nil if more bytes are needed.
    func next(_ buffer: inout ByteBuffer) throws(FrameError) -> Frame? {
        guard buffer.readableBytes >= 4 else { return nil }
        let header: (Int, UInt8, UInt8, UInt32)? = buffer.withReadableBytes { raw in
            let length = Int(raw.loadUnaligned(as: UInt32.self).bigEndian)
            guard raw.count >= Frame.headerSize else { return (length, 0, 0, 0) }
            return (length, raw[4], raw[5], raw.loadUnaligned(fromByteOffset: 6, as: UInt32.self).bigEndian)
        }
        guard let (length, typeByte, flags, streamID) = header else { return nil }
        guard length >= 6 else { throw FrameError(message: "frame length \(length) is shorter than the 6-byte frame header") }
        guard length - 6 <= maxFrameSize else {
            throw FrameError(message: "frame of \(length - 6) bytes exceeds the \(maxFrameSize)-byte limit")
        }
        guard buffer.readableBytes >= Frame.headerSize else { return nil }
        guard let type = FrameType(rawValue: typeByte) else {
            throw FrameError(message: "unknown frame type \(typeByte)")
        }
        guard buffer.readableBytes >= 4 + length else { return nil }
        let payload = buffer.withReadableBytes { Array($0[Frame.headerSize..<(4 + length)]) }
        buffer.moveReaderIndex(by: 4 + length)
        return Frame(type: type, flags: flags, streamID: streamID, payload: payload)
    }
}

extension FrameDecoder {
    /// Hands each whole frame in the connection's buffer to `handle` until
    /// the buffer runs dry or the connection closes; a malformed frame goes to
    /// `malformed` and stops the loop.
    func forEachFrame(in connection: Connection, malformed: (FrameError) -> Void, _ handle: (Frame) -> Void) {
        while !connection.isClosed {
            do {
                guard let frame = try next(&connection.inbound) else { return }
                handle(frame)
            } catch {
                malformed(error)
                return
            }
        }
    }
}

/// Reads the fields of a frame payload, failing cleanly on truncation.
struct PayloadReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: [UInt8] { Array(bytes[offset...]) }

    mutating func u16() throws(FrameError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw FrameError(message: "truncated frame payload") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(FrameError) -> UInt32 {
        let high = try u16()
        return UInt32(high) << 16 | UInt32(try u16())
    }

    mutating func shortBytes() throws(FrameError) -> [UInt8] {
        let count = Int(try u16())
        guard offset + count <= bytes.count else { throw FrameError(message: "truncated bytes in frame payload") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func string() throws(FrameError) -> String {
        let count = Int(try u16())
        guard offset + count <= bytes.count else { throw FrameError(message: "truncated string in frame payload") }
        defer { offset += count }
        guard let text = String(validating: bytes[offset..<(offset + count)], as: UTF8.self) else {
            throw FrameError(message: "string in frame payload is not valid UTF-8")
        }
        return text
    }
}

extension ByteBuffer {
    /// Writes a `u16` length and the UTF-8 bytes of `string` (at most 65535 bytes).
    mutating func writeShortString(_ string: String) {
        let utf8 = string.utf8
        if utf8.count <= Int(UInt16.max) {
            write(bigEndian: UInt16(utf8.count))
            write(utf8)
        } else {
            write(bigEndian: UInt16.max)
            write(utf8.prefix(Int(UInt16.max)))
        }
    }
}

extension RPCBodyEncoding {
    /// The frame flags announcing this encoding.
    var flags: UInt8 { self == .json ? Frame.jsonBody : 0 }
}
