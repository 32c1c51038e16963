import StrataCore
import StrataIO

/// A one-off exchange on a connection of its own, closed afterwards: the
/// active health checks and the FastCGI capability query use it, so neither
/// takes a pooled connection from a request.
enum UpstreamFetch {
    /// Sends `request` to `address` and reads until `parse` makes something
    /// of the bytes; nil when the upstream cannot be reached, closes first,
    /// sends what `parse` refuses, or takes longer than `timeout`.
    static func run<Value: Sendable>(
        _ request: [UInt8], to address: SocketAddress, on loop: EventLoop, timeout: Duration,
        parse: @escaping @Sendable (inout ByteBuffer) throws -> Value?
    ) async -> Value? {
        await withCheckedContinuation { continuation in
            loop.execute {
                Connection.connect(to: address, on: loop, timeout: timeout) { result in
                    guard case .success(let connection) = result else {
                        continuation.resume(returning: nil)
                        return
                    }
                    let reader = Reader(connection: connection, timeout: timeout, parse: parse) { continuation.resume(returning: $0) }
                    do {
                        try connection.start(handler: reader)
                        connection.write(request)
                    } catch {
                        connection.close()
                    }
                }
            }
        }
    }

    /// The status `GET path` gets from `upstream`, or nil.
    static func status(of path: String, at upstream: Upstream, on loop: EventLoop, timeout: Duration) async -> Int? {
        let request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(upstream.authority)\r\nUser-Agent: strata-health-check\r\nConnection: close\r\n\r\n".utf8)
        return await run(request, to: upstream.address, on: loop, timeout: timeout) { buffer in
            try UpstreamResponseParser().parseHead(&buffer, requestMethod: .get)?.status.code
        }
    }

    /// Reads until `parse` yields a value (or fails), then closes.
    private final class Reader<Value>: ConnectionHandler {
        private let parse: (inout ByteBuffer) throws -> Value?
        private var completion: ((Value?) -> Void)?
        private var timer: TimerHandle?

        init(connection: Connection, timeout: Duration, parse: @escaping (inout ByteBuffer) throws -> Value?, completion: @escaping (Value?) -> Void)
        {
            self.parse = parse
            self.completion = completion
            timer = connection.loop.scheduleTimer(after: timeout) { [weak connection] in connection?.close() }
        }

        func connectionReadable(_ connection: Connection) {
            do {
                guard let value = try parse(&connection.inbound) else { return }
                finish(value)
            } catch {
                finish(nil)
            }
            connection.close()
        }

        func connectionClosed(_ connection: Connection) {
            timer?.cancel()
            finish(nil)
        }

        private func finish(_ value: Value?) {
            completion?(value)
            completion = nil
        }
    }
}
