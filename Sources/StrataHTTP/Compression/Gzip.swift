import CZlib

/// gzip (RFC 1952) through zlib, for `Content-Encoding: gzip`.
enum Gzip {
    /// Level for bodies compressed once and kept (static files): the smallest output.
    static let cachedLevel: Int32 = 9
    /// Level for bodies compressed per response: the fastest, as nginx's
    /// `gzip_comp_level` default. On a 24 KB page level 6 cost strata-web
    /// about 120 µs of CPU per response; level 1 keeps most of the saving.
    static let dynamicLevel: Int32 = 1

    /// `bytes` compressed whole.
    static func compress(_ bytes: [UInt8], level: Int32 = dynamicLevel) -> [UInt8] {
        let stream = GzipStream(level: level)
        var out = stream.compress(bytes)
        out.append(contentsOf: stream.finish())
        return out
    }

    /// A gzip member decompressed, or nil when it is malformed, truncated or
    /// would exceed `limit` bytes (a small body can expand enormously).
    static func decompress(_ bytes: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
        var stream = z_stream()
        guard strata_inflate_init_gzip(&stream) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        guard let (out, status) = pump(&stream, bytes, limit: limit, { inflate(&$0, Z_NO_FLUSH) }), status == Z_STREAM_END else { return nil }
        return out
    }

    /// Feeds `input` to `step` (deflate or inflate) and collects what it
    /// produces, until the input is used up and zlib has output room to
    /// spare, the stream ends, or zlib fails; nil past `limit` bytes of output.
    static func pump(
        _ stream: inout z_stream, _ input: [UInt8], limit: Int = .max, chunkSize: Int = 16_384, _ step: (inout z_stream) -> Int32
    ) -> (output: [UInt8], status: Int32)? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var input = input
        return input.withUnsafeMutableBufferPointer { source -> (output: [UInt8], status: Int32)? in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            defer { stream.next_in = nil }
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    return step(&stream)
                }
                out.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if out.count > limit { return nil }
                if status == Z_STREAM_END || (status != Z_OK && status != Z_BUF_ERROR) { return (out, status) }
                if stream.avail_in == 0 && stream.avail_out > 0 { return (out, status) }
            }
        }
    }
}

/// A gzip stream compressed piece by piece (a chunked body). Not thread-safe:
/// one producer at a time, as a streamed body has.
final class GzipStream: @unchecked Sendable {
    private var stream = z_stream()
    private var finished = false

    init(level: Int32 = Gzip.dynamicLevel) {
        let status = strata_deflate_init_gzip(&stream, level)
        precondition(status == Z_OK, "zlib deflateInit2 failed: \(status)")
    }

    deinit { deflateEnd(&stream) }

    /// Compresses `bytes`, flushing so the client can decode what has arrived
    /// (a streamed page shows as it is produced). Empty when zlib holds it back.
    func compress(_ bytes: [UInt8], flush: Bool = false) -> [UInt8] {
        run(bytes, mode: flush ? Z_SYNC_FLUSH : Z_NO_FLUSH)
    }

    /// The end of the stream: whatever zlib held back, and the gzip trailer.
    func finish() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        return run([], mode: Z_FINISH)
    }

    private func run(_ bytes: [UInt8], mode: Int32) -> [UInt8] {
        Gzip.pump(&stream, bytes, chunkSize: max(4096, bytes.count / 2 + 64)) { deflate(&$0, mode) }?.output ?? []
    }
}
