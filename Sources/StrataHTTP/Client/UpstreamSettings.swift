/// Limits and timeouts for the connections to one upstream group.
public struct UpstreamSettings: Sendable {
    /// How long opening a connection may take.
    public var connectTimeout: Duration = .seconds(5)
    /// How long from sending the request until the response head has arrived.
    public var responseTimeout: Duration = .seconds(60)
    /// How long the upstream may go without sending a byte while the body is read.
    public var readTimeout: Duration = .seconds(60)
    /// Connections to one upstream per event loop, in use and idle; requests
    /// beyond it wait for one to free (up to `responseTimeout`).
    public var maxConnectionsPerLoop = 128
    /// Idle keep-alive connections kept per upstream and event loop.
    public var maxIdlePerLoop = 32
    /// An idle connection is closed after this long, well before common
    /// upstream keep-alive timeouts (nginx: 75 s) close it under us. FastCGI
    /// routes use one second: an idle connection holds a responder's worker.
    public var idleTimeout: Duration = .seconds(30)
    /// Consecutive failures after which an upstream is taken out of rotation.
    public var maxFailures = 3
    /// How long an upstream stays out before one request probes it again.
    public var ejectionTime: Duration = .seconds(10)
    /// Response bodies up to this size are read whole and answered in one
    /// write; larger ones are streamed to the client as they arrive.
    public var bufferLimit = 64 * 1024
    /// The largest request body passed on (bodies stream to the upstream,
    /// so this bounds traffic, not memory); nil keeps the web tier's `--max-body`.
    public var maxBodySize: Int?
    /// Streamed body bytes held for a slow client before reading from the upstream pauses.
    public var streamHighWatermark = 256 * 1024

    /// The defaults above.
    public init() {}
}
