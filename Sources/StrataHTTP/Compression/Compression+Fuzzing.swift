/// Entry points for the fuzz targets (`Tests/Fuzz`), which are not built with testing enabled.
@_spi(Fuzzing) public enum CompressionFuzzing {
    /// gzip: arbitrary bytes either decode or are refused (never a trap or an
    /// unbounded output), and whatever is compressed decodes to itself.
    public static func gzip(_ bytes: [UInt8]) {
        _ = Gzip.decompress(bytes, limit: 1 << 20)
        precondition(Gzip.decompress(Gzip.compress(bytes)) == bytes, "gzip round trip changed the bytes")
    }

    /// Header values the server reads after parsing: content codings and entity-tag lists.
    public static func headerValues(_ request: HTTPRequest) {
        let acceptEncoding = request.headers["Accept-Encoding"]
        // Never a trap, whatever the list; without the header nothing is accepted.
        let gzip = ContentCoding.accepts("gzip", acceptEncoding), br = ContentCoding.accepts("br", acceptEncoding)
        precondition(acceptEncoding != nil || (!gzip && !br), "a coding accepted without an Accept-Encoding header")
        for name in ["If-Match", "If-None-Match"] {
            for value in request.headers.values(name) { _ = Preconditions.entityTags(value) }
        }
        _ = Preconditions.evaluate(request, etag: #""abc""#, lastModified: 1_000_000)
        _ = request.queryParameters
    }
}
