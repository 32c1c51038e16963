import StrataCore
import StrataIO

/// A one-off request on a connection of its own, closed afterwards: the
/// active health checks use it, so a check never takes a pooled connection
/// from a request.
enum UpstreamFetch {
    /// The status `GET path` gets from `upstream` within `timeout`, or nil
    /// when it could not be reached or answered nothing valid.
    static func status(of path: String, at upstream: Upstream, on loop: EventLoop, timeout: Duration) async -> Int? {
        let request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(upstream.authority)\r\nUser-Agent: strata-health-check\r\nConnection: close\r\n\r\n".utf8)
        return await withCheckedContinuation { continuation in
            loop.execute {
                Connection.connect(to: upstream.address, on: loop, timeout: timeout) { result in
                    guard case .success(let connection) = result else {
                        continuation.resume(returning: nil)
                        return
                    }
                    let reader = HeadReader(connection: connection, timeout: timeout) { continuation.resume(returning: $0) }
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

    /// Reads until a response head parses (or fails), then closes.
    private final class HeadReader: ConnectionHandler {
        private var completion: ((Int?) -> Void)?
        private var timer: TimerHandle?

        init(connection: Connection, timeout: Duration, completion: @escaping (Int?) -> Void) {
            self.completion = completion
            timer = connection.loop.scheduleTimer(after: timeout) { [weak connection] in connection?.close() }
        }

        func connectionReadable(_ connection: Connection) {
            do {
                guard let head = try UpstreamResponseParser().parseHead(&connection.inbound, requestMethod: .get) else { return }
                finish(head.status.code)
            } catch {
                finish(nil)
            }
            connection.close()
        }

        func connectionClosed(_ connection: Connection) {
            timer?.cancel()
            finish(nil)
        }

        private func finish(_ status: Int?) {
            completion?(status)
            completion = nil
        }
    }
}
