import StrataCore

/// A FastCGI 1.0 record: an 8-byte header (version, type, request id,
/// content and padding lengths), the content, the padding.
struct FastCGIRecord: Equatable, Sendable {
    /// Record types of the FastCGI 1.0 specification.
    enum Kind: UInt8, Sendable {
        case beginRequest = 1, abortRequest, endRequest, params, stdin, stdout, stderr, data, getValues, getValuesResult, unknownType
    }

    var kind: Kind
    var requestID: UInt16
    var content: [UInt8]

    /// The most content one record carries.
    static let maxContent = 65_535

    /// Appends this record to `out`, padded to a multiple of 8 bytes.
    func write(to out: inout [UInt8]) {
        precondition(content.count <= Self.maxContent, "FastCGI record content over 65535 bytes")
        let padding = (8 - content.count % 8) % 8
        out.append(contentsOf: [
            1, kind.rawValue, UInt8(requestID >> 8), UInt8(requestID & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF),
            UInt8(padding), 0,
        ])
        out.append(contentsOf: content)
        out.append(contentsOf: repeatElement(0, count: padding))
    }

    /// Appends a stream (PARAMS, STDIN) as records of at most `maxContent`
    /// bytes each, then the empty record that ends it.
    static func writeStream(_ kind: Kind, requestID: UInt16, _ bytes: [UInt8], to out: inout [UInt8], ending: Bool = true) {
        var start = 0
        while start < bytes.count {
            let end = min(start + maxContent, bytes.count)
            FastCGIRecord(kind: kind, requestID: requestID, content: Array(bytes[start..<end])).write(to: &out)
            start = end
        }
        // An empty record ends a stream.
        if ending { FastCGIRecord(kind: kind, requestID: requestID, content: []).write(to: &out) }
    }

    /// Takes the next whole record from `buffer`; nil when it has not all
    /// arrived. A version other than 1 or an unknown type is `malformed`.
    static func read(from buffer: inout ByteBuffer) throws -> FastCGIRecord? {
        guard buffer.readableBytes >= 8 else { return nil }
        let (version, type, id, length, padding) = buffer.withReadableBytes { bytes in
            (bytes[0], bytes[1], UInt16(bytes[2]) << 8 | UInt16(bytes[3]), Int(bytes[4]) << 8 | Int(bytes[5]), Int(bytes[6]))
        }
        guard version == 1 else { throw UpstreamError(.malformed, "FastCGI record of version \(version)") }
        guard let kind = Kind(rawValue: type) else { throw UpstreamError(.malformed, "FastCGI record of unknown type \(type)") }
        guard buffer.readableBytes >= 8 + length + padding else { return nil }
        let content = buffer.withReadableBytes { Array(UnsafeRawBufferPointer(rebasing: $0[8..<(8 + length)])) }
        buffer.moveReaderIndex(by: 8 + length + padding)
        return FastCGIRecord(kind: kind, requestID: id, content: content)
    }

    // MARK: Name-value pairs

    /// PARAMS / GET_VALUES content: each length in 1 byte below 128, else 4 bytes with the top bit set.
    static func encodePairs(_ pairs: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pairs.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 })
        for (name, value) in pairs {
            appendLength(name.utf8.count, to: &out)
            appendLength(value.utf8.count, to: &out)
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: value.utf8)
        }
        return out
    }

    private static func appendLength(_ length: Int, to out: inout [UInt8]) {
        if length < 128 {
            out.append(UInt8(length))
        } else {
            out.append(contentsOf: [
                UInt8(0x80 | (length >> 24) & 0x7F), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF),
            ])
        }
    }

    /// The pairs of PARAMS or GET_VALUES_RESULT content; lengths running past the end are `malformed`.
    static func decodePairs(_ content: [UInt8]) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        var i = 0
        func length() throws -> Int {
            guard i < content.count else { throw UpstreamError(.malformed, "FastCGI name-value pair cut short") }
            if content[i] < 128 {
                i += 1
                return Int(content[i - 1])
            }
            guard i + 4 <= content.count else { throw UpstreamError(.malformed, "FastCGI name-value pair cut short") }
            let value = Int(content[i] & 0x7F) << 24 | Int(content[i + 1]) << 16 | Int(content[i + 2]) << 8 | Int(content[i + 3])
            i += 4
            return value
        }
        while i < content.count {
            let nameLength = try length()
            let valueLength = try length()
            guard nameLength <= content.count - i, valueLength <= content.count - i - nameLength else {
                throw UpstreamError(.malformed, "FastCGI name-value pair longer than its record")
            }
            let name = String(decoding: content[i..<(i + nameLength)], as: UTF8.self)
            i += nameLength
            let value = String(decoding: content[i..<(i + valueLength)], as: UTF8.self)
            i += valueLength
            pairs.append((name, value))
        }
        return pairs
    }

    /// BEGIN_REQUEST content: the responder role, and whether to keep the connection.
    static func beginRequest(keepConnection: Bool) -> [UInt8] { [0, 1, keepConnection ? 1 : 0, 0, 0, 0, 0, 0] }
}
