import StrataCore
import StrataIO

/// What uses an upstream connection for one request: an HTTP exchange or a
/// FastCGI request. Called on the connection's loop.
protocol UpstreamExchange: AnyObject {
    /// Bytes arrived in `connection.inbound`.
    func upstreamReadable(_ connection: UpstreamConnection)
    /// The upstream shut down its sending side.
    func upstreamInputClosed(_ connection: UpstreamConnection)
    /// The connection closed.
    func upstreamClosed(_ connection: UpstreamConnection)
    /// Everything queued was written (asked for with `notifiesWhenDrained`).
    func upstreamDrained(_ connection: UpstreamConnection)
}

/// A connection to an upstream server, kept by its loop's `UpstreamPool`
/// between requests. Loop-confined.
final class UpstreamConnection: ConnectionHandler, @unchecked Sendable {
    let connection: Connection
    let pool: UpstreamPool
    /// The request using the connection; nil while idle.
    var exchange: (any UpstreamExchange)?
    /// Requests completed on this connection (more than zero: it was reused,
    /// and the upstream may have closed it meanwhile).
    var completed = 0
    var idleSince: ContinuousClock.Instant

    init(connection: Connection, pool: UpstreamPool) {
        self.connection = connection
        self.pool = pool
        idleSince = connection.loop.now
    }

    /// The connection's received bytes.
    var inbound: ByteBuffer {
        get { connection.inbound }
        _modify { yield &connection.inbound }
    }

    func connectionReadable(_ connection: Connection) {
        guard let exchange else {
            // Bytes nobody asked for: the next answer could not be trusted.
            connection.close()
            return
        }
        exchange.upstreamReadable(self)
    }

    func connectionInputClosed(_ connection: Connection) {
        guard let exchange else {
            connection.close()
            return
        }
        exchange.upstreamInputClosed(self)
    }

    func connectionDrained(_ connection: Connection) {
        connection.notifiesWhenDrained = false
        exchange?.upstreamDrained(self)
    }

    func connectionClosed(_ connection: Connection) {
        pool.closed(self)
        let exchange = self.exchange
        self.exchange = nil
        exchange?.upstreamClosed(self)
    }
}
