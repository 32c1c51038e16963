/// Whether a tier can take work now, and if not, why (the reason is what an
/// operator reads in `/readyz` and in `probe`'s output).
public enum Readiness: Sendable, Equatable {
    /// Ready for traffic.
    case ready
    /// Not ready; the reason names what is missing, e.g. "the data tier does not answer".
    case notReady(String)
}
