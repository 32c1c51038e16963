// Middleware benchmark: nanoseconds per request through the web tier's
// default middleware chain in front of a handler that answers at once (as
// /plaintext does), with request metrics (`HTTPMetrics` first, `/metrics`)
// and without (`--no-metrics`), on an event loop as in the server. Rounds
// alternate between the two chains; the table prints each round and the
// medians. No sockets: this is the user-space cost the metrics add to a
// request, to set beside strata-web's CPU µs per request from http-bench.sh.
//
//   swift run -c release StrataMiddlewareBench [ROUNDS]
import Dispatch
import StrataCore
import StrataHTTP
import StrataIO

let rounds = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 7
let requestsPerRound = 400_000

struct Plaintext: HTTPHandler {
    static let body = Array("Hello, World!".utf8)
    func handle(_ request: HTTPRequest) -> HTTPOutcome {
        .response(HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/plain")]), body: Self.body))
    }
}

// Warning: the access log's lines would go to the terminal; its cost is the same either way.
let logger = Logger(label: "web", level: .warning)
func chain(metrics: Bool) -> MiddlewareChain {
    var middleware: [any HTTPMiddleware] = []
    let registry = MetricsRegistry()
    if metrics {
        let requests = HTTPMetrics(endpoint: MetricsEndpoint(registry: registry))
        registry.keep(requests)
        middleware.append(requests)
    }
    middleware += [RequestIDMiddleware(), AccessLogMiddleware(logger: logger, slowRequest: nil), SecurityHeadersMiddleware()]
    // As `strata up --bench` runs it: /plaintext is outside the per-client limit.
    middleware += [HealthMiddleware(), RateLimitMiddleware(exempt: RateLimitMiddleware.defaultExempt + ["/plaintext"])]
    middleware.append(CompressionMiddleware(minimumSize: 1024))
    return MiddlewareChain(middleware, handler: Plaintext())
}

let loop = EventLoop.start(index: 0, name: "bench")
let request = HTTPRequest(
    method: .get, target: "/plaintext", headers: HTTPHeaders([("Host", "localhost"), ("Accept", "text/plain"), ("Connection", "keep-alive")]),
    remoteAddress: "127.0.0.1:50000")

/// Nanoseconds per request through `chain`, measured on the loop.
func measure(_ chain: MiddlewareChain) -> Double {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var nanos = 0.0
    loop.execute {
        var sink = 0
        let start = ContinuousClock.now
        for _ in 0..<requestsPerRound {
            // Stamped as the parser does, with the loop's clock.
            var next = request
            next.receivedAt = loop.now
            if case .response(let response) = chain.handle(next) { sink &+= response.body.count }
        }
        let elapsed = ContinuousClock.now - start
        nanos = Double(elapsed.wholeMicroseconds) * 1000 / Double(requestsPerRound)
        precondition(sink > 0)
        done.signal()
    }
    done.wait()
    return nanos
}

let with = chain(metrics: true)
let without = chain(metrics: false)
_ = measure(with)
_ = measure(without)
var on: [Double] = []
var off: [Double] = []
print("| round | metrics on ns/request | metrics off ns/request | difference ns |")
print("|---|---|---|---|")
for round in 1...rounds {
    let a = measure(with)
    let b = measure(without)
    on.append(a)
    off.append(b)
    print("| \(round) | \(Int(a)) | \(Int(b)) | \(Int(a - b)) |")
}
let median = { (values: [Double]) in values.sorted()[values.count / 2] }
print("| median | \(Int(median(on))) | \(Int(median(off))) | \(Int(median(on) - median(off))) |")
loop.shutdown()
