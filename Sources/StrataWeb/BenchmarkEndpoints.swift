import StrataHTTP

/// TechEmpower's HTTP-layer tests, answered by the web tier alone when
/// benchmarking is switched on (`--bench` / `STRATA_BENCH=1`): `/plaintext`
/// and `/json`. Off by default, so production sites never expose them.
struct BenchmarkEndpoints: HTTPMiddleware {
    private static let plaintext = Array("Hello, World!".utf8)
    /// Every benchmark endpoint, these two and the Bench module's: exempt from
    /// the per-client rate limit in benchmark mode.
    static let paths = ["/plaintext", "/json", "/db", "/queries", "/fortunes", "/updates"]

    func intercept(_ request: inout HTTPRequest) -> HTTPResponse? {
        guard request.method == .get else { return nil }
        switch request.path {
        case "/plaintext":
            var response = HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/plain")]), body: Self.plaintext)
            response.route = "/plaintext"
            return response
        case "/json":
            // Serialized per request, as the test requires.
            var body: [UInt8] = []
            body.reserveCapacity(27)
            body.append(contentsOf: #"{"message":""#.utf8)
            body.append(contentsOf: "Hello, World!".utf8)
            body.append(contentsOf: #""}"#.utf8)
            var response = HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
            response.route = "/json"
            return response
        default:
            return nil
        }
    }
}
