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

    /// A body that `produce` writes; returning ends it, throwing aborts the connection.
    public init(_ produce: @escaping @Sendable (HTTPBodyWriter) async throws -> Void) {
        self.produce = produce
    }
}

/// Writes the pieces of a streamed body. `write` waits while the client is
/// slower than the producer, so memory stays bounded.
public final class HTTPBodyWriter: Sendable {
    private let connection: Connection
    private let sink: any StreamSink

    init(connection: Connection, sink: any StreamSink) {
        self.connection = connection
        self.sink = sink
    }

    /// Sends `bytes` as the next piece; throws `HTTPBodyWriter.Closed` once the client is gone.
    public func write(_ bytes: [UInt8]) async throws {
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
