import StrataCore

/// The shared secret every tier proves it holds when it connects over RPC.
public enum RPCSecret {
    /// The environment variable that carries it. Never a flag: command lines are visible to every user of the machine.
    public static let variable = "STRATA_RPC_SECRET"

    /// The secret from the environment; at least 16 bytes.
    public static func load(from environment: [String: String]) throws(RPCSecretError) -> [UInt8] {
        guard let text = environment[variable], !text.isEmpty else {
            throw RPCSecretError("\(variable) is not set: every tier needs the same secret ('strata up' generates one for the tiers it starts)")
        }
        guard text.utf8.count >= 16 else {
            throw RPCSecretError("\(variable) is too short: use at least 16 characters (for example 64 hex digits)")
        }
        return Array(text.utf8)
    }
}

/// `STRATA_RPC_SECRET` is missing or too short; the message says what to set.
public struct RPCSecretError: Error, CustomStringConvertible, Sendable {
    /// What is wrong with the secret and what to do about it.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
