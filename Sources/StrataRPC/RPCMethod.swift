/// One method between tiers, typed: its name, what it takes and answers,
/// and whether it may be retried. Caller and handler use the same value
/// (`RPCClient.call(_:_:)`, `RPCService.register(_:_:)`), so they cannot
/// disagree about a name or a type.
public struct RPCMethod<Input: Codable & Sendable, Output: Codable & Sendable>: Sendable {
    /// The name on the wire (`sql.query`).
    public let name: String
    /// Running it twice does no harm (a read), so a caller may retry it elsewhere.
    public let idempotent: Bool
    /// Who may call it, in words, as `rpc.methods` lists it.
    public let access: String

    /// Describes a method.
    public init(_ name: String, idempotent: Bool = false, access: String = "any peer tier") {
        self.name = name
        self.idempotent = idempotent
        self.access = access
    }
}
