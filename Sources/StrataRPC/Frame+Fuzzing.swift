import StrataCore

/// Entry points for the fuzz targets in `Tests/Fuzz`; not part of the API.
@_spi(Fuzzing)
public enum FrameFuzzing {
    /// Splits `bytes` into frames and decodes every payload the way the server
    /// and client do. Returns how many frames were read before the stream ended or was refused.
    public static func decodeAll(_ bytes: [UInt8], maxFrameSize: Int = 4096) -> Int {
        let decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var buffer = ByteBuffer(bytes: bytes)
        var frames = 0
        while let frame = try? decoder.next(&buffer) {
            frames += 1
            switch frame.type {
            case .request: _ = try? RPCRequest(payload: frame.payload, flags: frame.flags)
            case .hello: _ = try? Hello(payload: frame.payload)
            case .error: _ = RPCError(payload: frame.payload)
            default: break
            }
        }
        return frames
    }
}
