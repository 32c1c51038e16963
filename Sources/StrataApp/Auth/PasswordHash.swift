import CStrataPassword
import StrataCore

/// Password hashing with yescrypt (libxcrypt's `crypt_rn`), the default of
/// current Linux distributions: salted, memory-hard, and self-describing
/// (`$y$...`), so the cost can rise later without breaking stored hashes.
public enum PasswordHash {
    /// Accepted password lengths, in bytes: long enough to matter, short
    /// enough that hashing one cannot be used to exhaust the server.
    public static let allowedLength = 8...1024

    /// A new hash of `password` with a fresh random salt.
    public static func make(_ password: String) throws(PasswordHashError) -> String {
        var out = [CChar](repeating: 0, count: 512)
        guard !password.utf8.contains(0), strata_password_hash(password, &out, out.count) == 0 else { throw PasswordHashError() }
        return String(cString: out)
    }

    /// Whether `password` matches `hash`, compared in constant time. A
    /// malformed hash matches nothing.
    public static func verify(_ password: String, against hash: String) -> Bool {
        var out = [CChar](repeating: 0, count: 512)
        guard !password.utf8.contains(0), hash.hasPrefix("$"), strata_password_rehash(password, hash, &out, out.count) == 0 else { return false }
        return Digest.constantTimeEquals(Array(String(cString: out).utf8), Array(hash.utf8))
    }
}

/// The system's password hashing failed (libxcrypt missing yescrypt, or out of memory).
public struct PasswordHashError: Error, CustomStringConvertible, Sendable {
    public var description: String { "password hashing failed (is libxcrypt with yescrypt installed?)" }
}
