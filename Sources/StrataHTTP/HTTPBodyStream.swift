import StrataIO

/// A response body written as it is produced, for answers too large or too
/// slow to build up front.
///
/// ```swift
/// var response = HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/csv")]))
/// response.stream = HTTPBodyStream { body in
///     for row in rows { try await body.write(Array(row.utf8)) }
/// }
/// ```
public struct HTTPBodyStream: Sendable {
    let produce: @Sendable (HTTPBodyWriter) async throws -> Void
    /// Whether the pieces are gzip-compressed on their way out (`CompressionMiddleware`).
    var gzip = false

    /// A body that `produce` writes; returning ends it, throwing aborts the connection.
    public init(_ produce: @escaping @Sendable (HTTPBodyWriter) async throws -> Void) {
        self.produce = produce
    }

    /// The same body, gzip-compressed as it is produced.
    func gzipped() -> HTTPBodyStream {
        var copy = self
        copy.gzip = true
        return copy
    }
}

/// Writes the pieces of a streamed body. `write` waits while the client is
/// slower than the producer, so memory stays bounded.
public final class HTTPBodyWriter: Sendable {
    private let connection: Connection
    private let sink: any StreamSink
    /// Compresses the pieces when the body is gzip-encoded; touched only by
    /// the one producer, one write at a time.
    private let compressor: GzipStream?

    init(connection: Connection, sink: any StreamSink, gzip: Bool = false) {
        self.connection = connection
        self.sink = sink
        compressor = gzip ? GzipStream() : nil
    }

    /// Sends `bytes` as the next piece; throws `HTTPBodyWriter.Closed` once the client is gone.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        // Flushed per piece, so the client can show what has arrived.
        try await send(compressor.map { $0.compress(bytes, flush: true) } ?? bytes)
    }

    /// Ends a compressed body: what zlib held back and the gzip trailer.
    func finish() async throws {
        guard let compressor else { return }
        try await send(compressor.finish())
    }

    private func send(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        let loop = connection.loop
        let sink = self.sink
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { sink.streamWrite(bytes, then: continuation) }
        }
    }

    /// The connection closed before the body was complete.
    public struct Closed: Error, CustomStringConvertible {
        public var description: String { "the client closed the connection before the streamed body was complete" }
    }
}

/// The connection side of a stream. Called on the connection's loop.
protocol StreamSink: AnyObject, Sendable {
    func streamWrite(_ bytes: [UInt8], then continuation: CheckedContinuation<Void, any Error>)
}
