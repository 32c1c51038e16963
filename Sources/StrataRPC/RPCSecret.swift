import StrataCore

/// The shared secret every tier proves it holds when it connects over RPC.
public enum RPCSecret {
    /// The environment variable that carries it. Never a flag: command lines are visible to every user of the machine.
    public static let variable = "STRATA_RPC_SECRET"

    /// The secret from the environment; at least 16 bytes.
    public static func load(from environment: [String: String]) throws -> [UInt8] {
        guard let text = environment[variable], !text.isEmpty else {
            throw StartupError("\(variable) is not set: every tier needs the same secret ('strata up' generates one for the tiers it starts)")
        }
        guard text.utf8.count >= 16 else {
            throw StartupError("\(variable) is too short: use at least 16 characters (for example 64 hex digits)")
        }
        return Array(text.utf8)
    }
}
