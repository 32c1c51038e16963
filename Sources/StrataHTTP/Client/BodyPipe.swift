import StrataIO

/// Carries a body from an upstream connection (pushed on its loop) to the
/// task writing it to the client (which pulls with `next`). The writer only
/// pulls after its last piece went out, so `buffered` grows only while the
/// client is slower than the upstream; the exchange pauses reading above
/// its high watermark and `resumed` restarts it once the client has taken
/// everything.
final class BodyPipe: @unchecked Sendable {
    private let loop: EventLoop
    private let resumed: () -> Void
    private let abandoned: () -> Void
    private var pieces: [[UInt8]] = []
    /// Bytes pushed and not yet taken.
    private(set) var buffered = 0
    private var ended = false
    private var failure: UpstreamError?
    private var waiting: CheckedContinuation<[UInt8]?, any Error>?

    init(loop: EventLoop, resumed: @escaping () -> Void, abandon: @escaping () -> Void) {
        self.loop = loop
        self.resumed = resumed
        self.abandoned = abandon
    }

    // MARK: The upstream side (on the loop)

    func push(_ piece: [UInt8]) {
        guard !piece.isEmpty else { return }
        if let waiting {
            self.waiting = nil
            waiting.resume(returning: piece)
            return
        }
        pieces.append(piece)
        buffered += piece.count
    }

    func end() {
        ended = true
        if let waiting, pieces.isEmpty {
            self.waiting = nil
            waiting.resume(returning: nil)
        }
    }

    func fail(_ error: UpstreamError) {
        failure = error
        if let waiting {
            self.waiting = nil
            waiting.resume(throwing: error)
        }
    }

    // MARK: The client side (any thread)

    /// The next piece, nil at the end; throws when the upstream failed.
    func next() async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute { self.take(continuation) }
        }
    }

    /// The writer stopped (the client went away): the upstream side stops too.
    func abandonFromProducer() {
        loop.execute { self.abandoned() }
    }

    private func take(_ continuation: CheckedContinuation<[UInt8]?, any Error>) {
        if !pieces.isEmpty {
            var piece = pieces[0]
            if pieces.count > 1 {
                piece.reserveCapacity(buffered)
                for more in pieces.dropFirst() { piece.append(contentsOf: more) }
            }
            pieces.removeAll(keepingCapacity: true)
            buffered = 0
            continuation.resume(returning: piece)
            if !ended { resumed() }
        } else if let failure {
            continuation.resume(throwing: failure)
        } else if ended {
            continuation.resume(returning: nil)
        } else {
            waiting = continuation
        }
    }
}
