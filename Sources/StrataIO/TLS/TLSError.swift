/// A TLS failure: a certificate or key that cannot be used, or a handshake
/// or record the peer got wrong. The message names the file or the reason.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for a log line or an operator.
    public let message: String
    /// Whether the peer spoke plain HTTP to a TLS port.
    public let isPlaintextHTTP: Bool

    public init(_ message: String, isPlaintextHTTP: Bool = false) {
        self.message = message
        self.isPlaintextHTTP = isPlaintextHTTP
    }

    public var description: String { message }
}
