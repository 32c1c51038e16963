import StrataIO

/// A request body handed to its handler while it is still arriving, for
/// routes that pass bodies on rather than use them (the reverse proxy and
/// FastCGI): a 1 GB upload goes through without being held in memory.
///
/// Confined to the loop that reads the request. Until `read` is called,
/// arriving bytes wait here, up to `highWatermark`, and then the server
/// stops reading the client; a consumer that cannot keep up calls `pause`,
/// which does the same until `resume`.
public final class HTTPRequestBody: @unchecked Sendable {
    /// What the consumer is told.
    public enum Event {
        /// More of the body.
        case bytes([UInt8])
        /// The body is complete.
        case end
        /// The body will not complete: the client went away, stalled, or broke
        /// the framing. The status is what to answer when nothing was yet.
        case failed(HTTPStatus, String)
    }

    /// The declared length (`Content-Length`), or nil for a chunked body.
    public let length: Int?
    /// Bytes held before the server stops reading the client.
    static let highWatermark = 64 * 1024

    private var held: [UInt8] = []
    private var ended = false
    private var failure: (HTTPStatus, String)?
    private var receive: ((Event) -> Void)?
    private var paused = false
    private var discarding = false
    /// Called by the body on the server when it wants bytes again (read
    /// started, resumed, discarding): the server reads the client again.
    var onDemand: (() -> Void)?

    init(length: Int?) { self.length = length }

    // MARK: The consumer's side

    /// Starts delivery to `receive`, on the loop: what arrived so far first.
    public func read(_ receive: @escaping (Event) -> Void) {
        self.receive = receive
        deliver()
        onDemand?()
    }

    /// Stops delivery (and soon the client's reading) until `resume`.
    public func pause() { paused = true }

    /// Delivers again after `pause`.
    public func resume() {
        guard paused else { return }
        paused = false
        deliver()
        onDemand?()
    }

    /// The consumer needs no more of the body: the rest is read and dropped,
    /// so the client can finish sending and read the answer.
    public func discard() {
        discarding = true
        receive = nil
        held = []
        onDemand?()
    }

    // MARK: The server's side

    /// Whether the server should read more of it from the client.
    var wantsBytes: Bool {
        if discarding { return true }
        if isComplete { return false }
        return (receive != nil && !paused) || held.count < Self.highWatermark
    }

    /// Whether the server's part is over: everything arrived, or the body failed.
    var isComplete: Bool { ended || failure != nil }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard !discarding, !bytes.isEmpty else { return }
        if let receive, !paused, held.isEmpty {
            receive(.bytes(Array(bytes)))
        } else {
            held.append(contentsOf: bytes)
        }
    }

    func finish() {
        guard !ended, failure == nil else { return }
        ended = true
        deliver()
    }

    func fail(_ status: HTTPStatus, _ reason: String) {
        guard !ended, failure == nil else { return }
        failure = (status, reason)
        held = []
        // Told at once, paused or not: nothing more will come, and a consumer
        // waiting to resume would otherwise hold on to the body (and it to them).
        paused = false
        deliver()
    }

    private func deliver() {
        guard let receive, !paused else { return }
        if !held.isEmpty {
            let bytes = held
            held = []
            receive(.bytes(bytes))
        }
        // `receive` may have paused, or discarded.
        guard self.receive != nil, !paused else { return }
        if let failure {
            self.receive = nil
            receive(.failed(failure.0, failure.1))
        } else if ended {
            self.receive = nil
            receive(.end)
        }
    }
}
