import StrataCore

/// Takes an upstream response's body out of the connection's buffer, undoing
/// chunked coding, and says when it is complete. Strict like the head parser:
/// a chunk size that is not hex, a missing CRLF, or trailers past the limit
/// make the answer `malformed`.
struct UpstreamBodyDecoder: Sendable {
    private(set) var framing: BodyFraming
    private var state: State
    /// Bytes of trailer fields accepted after the last chunk.
    static let maxTrailerSize = 16 * 1024

    private enum State: Sendable {
        case data(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers(seen: Int)
        case untilClose
        case done
    }

    init(framing: BodyFraming) {
        self.framing = framing
        switch framing {
        case .none, .length(0): state = .done
        case .length(let count): state = .data(remaining: count)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
    }

    /// Whether the whole body has been taken.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Moves the body bytes available in `buffer` to `out`; true once the body is complete.
    mutating func decode(_ buffer: inout ByteBuffer, into out: inout [UInt8]) throws -> Bool {
        while true {
            switch state {
            case .done:
                return true
            case .untilClose:
                buffer.withReadableBytes { out.append(contentsOf: $0) }
                buffer.moveReaderIndex(by: buffer.readableBytes)
                return false
            case .data(let remaining), .chunkData(let remaining):
                let take = min(remaining, buffer.readableBytes)
                buffer.withReadableBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<take])) }
                buffer.moveReaderIndex(by: take)
                let chunked: Bool
                if case .chunkData = state { chunked = true } else { chunked = false }
                if take < remaining {
                    state = chunked ? .chunkData(remaining: remaining - take) : .data(remaining: remaining - take)
                    return false
                }
                state = chunked ? .chunkEnd : .done
            case .chunkSize:
                guard let line = try takeLine(&buffer, limit: 1024) else { return false }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers(seen: 0) : .chunkData(remaining: size)
            case .chunkEnd:
                guard buffer.readableBytes >= 2 else { return false }
                let ok = buffer.withReadableBytes { $0[0] == 13 && $0[1] == 10 }
                guard ok else { throw UpstreamError(.malformed, "chunk data not followed by CRLF") }
                buffer.moveReaderIndex(by: 2)
                state = .chunkSize
            case .trailers(let seen):
                guard let line = try takeLine(&buffer, limit: Self.maxTrailerSize - seen) else { return false }
                if line.isEmpty {
                    state = .done
                } else {
                    // Trailer fields are checked like header fields, then dropped: none is forwarded.
                    _ = try line.withUnsafeBytes { bytes throws in try UpstreamResponseParser.parseField(bytes) }
                    state = .trailers(seen: seen + line.count + 2)
                }
            }
        }
    }

    /// The upstream closed its side: fine only for a close-delimited body.
    mutating func inputEnded() throws {
        switch state {
        case .done: return
        case .untilClose: state = .done
        default: throw UpstreamError(.closed, "the upstream closed the connection in the middle of the body")
        }
    }

    /// The next CRLF-terminated line without its CRLF, or nil when it has not all arrived.
    private func takeLine(_ buffer: inout ByteBuffer, limit: Int) throws -> [UInt8]? {
        let found = try buffer.withReadableBytes { bytes throws -> Int? in
            guard let lf = bytes.firstIndex(of: 10) else {
                guard bytes.count <= limit else { throw UpstreamError(.malformed, "chunk line longer than \(limit) bytes") }
                return nil
            }
            guard lf > 0, bytes[lf - 1] == 13, lf <= limit else { throw UpstreamError(.malformed, "invalid chunk line") }
            return lf
        }
        guard let lf = found else { return nil }
        let line = buffer.withReadableBytes { Array($0[..<(lf - 1)]) }
        buffer.moveReaderIndex(by: lf + 1)
        return line
    }

    /// `1*HEXDIG [ chunk-ext ]`.
    private static func chunkSize(_ line: [UInt8]) throws -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            guard let value = FormDecoding.hexValue(byte) else { break }
            digits += 1
            guard digits <= 15 else { throw UpstreamError(.malformed, "chunk size too large") }
            size = size * 16 + Int(value)
        }
        guard digits > 0 else { throw UpstreamError(.malformed, "invalid chunk size") }
        let rest = line[digits...]
        // Extensions are allowed (and ignored) after ";", with optional whitespace before it.
        let extensions = rest.drop { $0 == 32 || $0 == 9 }
        guard extensions.isEmpty || extensions.first == 59 else { throw UpstreamError(.malformed, "invalid chunk size") }
        guard extensions.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            throw UpstreamError(.malformed, "control character in a chunk extension")
        }
        return size
    }
}
