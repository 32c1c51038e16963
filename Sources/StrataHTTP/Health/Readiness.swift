/// Whether a tier can take work now, and if not, why (the reason is what an
/// operator reads in `/readyz` and in `probe`'s output).
public enum Readiness: Sendable, Equatable {
    /// Ready for traffic.
    case ready
    /// Not ready; the reason names what is missing, e.g. "the data tier does not answer".
    case notReady(String)
}

extension Readiness {
    /// The `/readyz` answer: 200 "ready", or 503 "not ready: <reason>"; never cached.
    public var response: HTTPResponse {
        var response: HTTPResponse
        switch self {
        case .ready: response = .text("ready\n")
        case .notReady(let reason): response = .text("not ready: \(reason)\n", status: .serviceUnavailable)
        }
        response.headers.add("Cache-Control", "no-store")
        response.route = "/readyz"
        return response
    }
}
