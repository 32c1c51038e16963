import StrataIO
import Synchronization

/// One event loop's connections to one upstream: idle keep-alive connections
/// reused newest first, a cap on how many are open, and requests waiting
/// for one when the cap is reached. Loop-confined, so no locks.
final class UpstreamPool: @unchecked Sendable {
    let loop: EventLoop
    let address: SocketAddress
    let settings: UpstreamSettings
    /// Connections open at most on this loop; lowered when the server says it takes fewer (FastCGI's FCGI_MAX_CONNS).
    private let limit: ConnectionLimit
    private var idle: [UpstreamConnection] = []
    /// Connections open or being opened.
    private(set) var open = 0
    private var waiters: [(Result<UpstreamConnection, UpstreamError>) -> Void] = []
    /// Set while a sweep of idle connections is scheduled.
    private var sweep: TimerHandle?

    init(loop: EventLoop, address: SocketAddress, settings: UpstreamSettings, limit: ConnectionLimit) {
        self.loop = loop
        self.address = address
        self.settings = settings
        self.limit = limit
    }

    /// Hands a connection to `completion` (on the loop): an idle one at
    /// once, else a new one, else the next one freed. `fresh` skips the
    /// idle ones (after one turned out closed by the upstream).
    func acquire(fresh: Bool = false, _ completion: @escaping (Result<UpstreamConnection, UpstreamError>) -> Void) {
        let now = loop.now
        while !fresh, let connection = idle.popLast() {
            if connection.connection.isClosed { continue }
            guard now - connection.idleSince < settings.idleTimeout else {
                connection.connection.close()
                continue
            }
            completion(.success(connection))
            return
        }
        guard open < limit.perLoop.load(ordering: .relaxed) else {
            waiters.append(completion)
            return
        }
        connect(completion)
    }

    private func connect(_ completion: @escaping (Result<UpstreamConnection, UpstreamError>) -> Void) {
        open += 1
        Connection.connect(to: address, on: loop, timeout: settings.connectTimeout) { [self] result in
            switch result {
            case .success(let connection):
                let upstream = UpstreamConnection(connection: connection, pool: self)
                do {
                    try connection.start(handler: upstream)
                    completion(.success(upstream))
                } catch {
                    connection.close()
                    completion(.failure(UpstreamError(.connect, "\(address): \(error)")))
                }
            case .failure(let error):
                open -= 1
                completion(.failure(UpstreamError(.connect, "\(address): \(error)")))
                serveWaiter()
            }
        }
    }

    /// Takes back a connection after a request: kept for the next one when
    /// the exchange ended cleanly, closed otherwise.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        connection.exchange = nil
        guard reusable, !connection.connection.isClosed, connection.connection.inbound.readableBytes == 0 else {
            connection.connection.close()
            return
        }
        connection.completed += 1
        if !waiters.isEmpty {
            waiters.removeFirst()(.success(connection))
            return
        }
        guard idle.count < settings.maxIdlePerLoop else {
            connection.connection.close()
            return
        }
        connection.idleSince = loop.now
        idle.append(connection)
        if sweep == nil { scheduleSweep() }
    }

    /// Closes connections idle past `idleTimeout` even when no request comes
    /// to find them: an idle FastCGI connection holds one of the responder's
    /// workers, which others sharing the pool may be waiting for.
    private func scheduleSweep() {
        sweep = loop.scheduleTimer(after: settings.idleTimeout) { [self] in
            sweep = nil
            let now = loop.now
            // Oldest first: connections are reused newest first, so the stale ones lead.
            while let oldest = idle.first, now - oldest.idleSince >= settings.idleTimeout {
                idle.removeFirst()
                oldest.connection.close()
            }
            if !idle.isEmpty { scheduleSweep() }
        }
    }

    /// Called when a connection closed, for whatever reason.
    func closed(_ connection: UpstreamConnection) {
        open -= 1
        if let index = idle.firstIndex(where: { $0 === connection }) { idle.remove(at: index) }
        serveWaiter()
    }

    private func serveWaiter() {
        guard !waiters.isEmpty, open < limit.perLoop.load(ordering: .relaxed) else { return }
        connect(waiters.removeFirst())
    }

    /// Idle connections, for tests and metrics.
    var idleCount: Int { idle.count }
}

/// How many connections each event loop may open to one upstream.
final class ConnectionLimit: Sendable {
    let perLoop: Atomic<Int>

    init(_ perLoop: Int) { self.perLoop = Atomic(perLoop) }
}
