import StrataIO

/// Where a handler that answered `.onLoop` delivers its answer.
///
/// Confined to the loop that read the request: `respond` and `onCancel` are
/// used only there. The first `respond` counts; later ones are ignored, so a
/// timeout and a late upstream answer cannot both be written.
public final class HTTPResponder: @unchecked Sendable {
    /// The loop the request arrived on; the answer must be given on it.
    public let loop: EventLoop
    private var deliver: ((HTTPResponse) -> Void)?
    /// What layers wrapped around the handler (middleware) do to the answer,
    /// outermost first; applied innermost first. Kept here rather than as a
    /// responder per layer: one object per request, whatever the depth.
    private var transforms: [(inout HTTPResponse) -> Void] = []
    /// Called on the loop when the client goes away before the answer, so
    /// the handler can stop its work (close an upstream connection, abort a
    /// FastCGI request). Cleared once the answer is given.
    public var onCancel: (() -> Void)?

    init(loop: EventLoop, deliver: @escaping (HTTPResponse) -> Void) {
        self.loop = loop
        self.deliver = deliver
    }

    /// Whether the answer was given or the client went away.
    public var isDone: Bool { deliver == nil }

    /// Gives the answer. Call on `loop`.
    public func respond(_ response: HTTPResponse) {
        guard let deliver else { return }
        self.deliver = nil
        onCancel = nil
        var response = response
        for transform in transforms.reversed() { transform(&response) }
        transforms = []
        deliver(response)
    }

    /// The client went away: no answer will be written.
    func cancel() {
        deliver = nil
        let cancelled = onCancel
        onCancel = nil
        cancelled?()
    }

    /// This responder, its answer from now on passing through `transform`
    /// (after the transforms added later, which are nearer the handler).
    func wrapped(_ transform: @escaping (inout HTTPResponse) -> Void) -> HTTPResponder {
        transforms.append(transform)
        return self
    }

    /// Runs `start` on `loop` and waits for its answer: for callers off the
    /// loop (tests, the in-process client).
    public static func await(on loop: EventLoop, _ start: @escaping @Sendable (HTTPResponder) -> Void) async -> HTTPResponse {
        await withCheckedContinuation { continuation in
            loop.execute {
                start(HTTPResponder(loop: loop) { continuation.resume(returning: $0) })
            }
        }
    }
}
