import StrataCore
import StrataIO
import Synchronization

/// One address a client calls: its connection (opened on first use, again
/// after it drops), the calls outstanding on it, and a back-off after failures.
final class RPCEndpoint: Sendable {
    let address: SocketAddress
    /// The loop this endpoint's connections live on. Callers running on it
    /// reach the socket without a hand-off to another thread.
    let loop: EventLoop
    private let open: @Sendable (SocketAddress, EventLoop) async throws -> ClientConnection
    private let state = Mutex<State>(State())
    private let outstandingCalls = Atomic<Int>(0)

    private struct State {
        var connection: ClientConnection?
        var connecting: Task<ClientConnection, any Error>?
        var failures = 0
        var retryAt: ContinuousClock.Instant?
    }

    init(address: SocketAddress, loop: EventLoop, open: @escaping @Sendable (SocketAddress, EventLoop) async throws -> ClientConnection) {
        self.address = address
        self.loop = loop
        self.open = open
    }

    /// Calls in flight on this endpoint, for least-outstanding balancing.
    var outstanding: Int { outstandingCalls.load(ordering: .relaxed) }

    /// Calls waiting for room on this endpoint's connection.
    var queued: Int { state.withLock { $0.connection?.queued ?? 0 } }

    /// Whether the endpoint is backing off after a failed connection attempt.
    func isBackingOff(at now: ContinuousClock.Instant) -> Bool {
        state.withLock { $0.retryAt.map { now < $0 } ?? false }
    }

    /// When the back-off ends (nil if none).
    var retryAt: ContinuousClock.Instant? { state.withLock { $0.retryAt } }

    /// Sends `request` on `connection`, counting it as outstanding here.
    func send(_ request: RPCRequest, on connection: ClientConnection, timeout: Duration) async -> Result<[UInt8], RPCError> {
        outstandingCalls.wrappingAdd(1, ordering: .relaxed)
        defer { outstandingCalls.wrappingSubtract(1, ordering: .relaxed) }
        return await connection.send(request, timeout: timeout)
    }

    /// Closes the connection; the next call opens a new one.
    func close() {
        let connection = state.withLock { state in
            defer { state.connection = nil }
            return state.connection
        }
        connection?.close()
    }

    /// The open, authenticated connection, opening one if needed.
    func connection() async throws(RPCError) -> ClientConnection {
        if let connection = state.withLock({ $0.connection }), connection.isOpen { return connection }
        let task: Task<ClientConnection, any Error> = state.withLock { state in
            if let connecting = state.connecting { return connecting }
            let address = self.address
            let loop = self.loop
            let open = self.open
            let connecting = Task { try await open(address, loop) }
            state.connecting = connecting
            return connecting
        }
        do {
            let connection = try await task.value
            state.withLock { state in
                state.connection = connection
                state.connecting = nil
                state.failures = 0
                state.retryAt = nil
            }
            return connection
        } catch {
            state.withLock { state in
                state.connecting = nil
                state.failures += 1
                state.retryAt = .now + Self.backoff(afterFailures: state.failures)
            }
            if let error = error as? RPCError { throw error }
            throw RPCError(.unavailable, error is SocketError ? "\(error)" : "cannot reach \(address): \(error)")
        }
    }

    /// Exponential back-off with jitter: between half and all of 50 ms × 2^(n−1),
    /// capped at 5 s, so replicas that lost a peer together do not retry in lockstep.
    static func backoff(afterFailures failures: Int) -> Duration {
        let ceiling = min(50 * (1 << min(failures - 1, 10)), 5_000)
        return .milliseconds(Int.random(in: ceiling / 2...ceiling))
    }
}
