import StrataRPC

/// Slows down password guessing. Failed sign-ins are counted per account
/// and client address together, per address, and per account; past a key's
/// free failures each further attempt must wait twice as long as the one
/// before (1 s, 2 s, 4 s ...), up to that key's cap, and is answered
/// `resourceExhausted` (429 with `Retry-After`) until then.
///
/// The account-wide key allows many failures and waits at most a minute, so
/// someone guessing from elsewhere can slow the owner's sign-in a little but
/// never lock the account; the guesser's own keys cap at 15 minutes.
/// Failures are forgotten after a quiet hour.
struct LoginThrottle: Sendable {
    let db: Database

    struct Key: Sendable {
        let name: String
        let freeFailures: Int64
        let maxDelaySeconds: Int64
    }

    static let forgetAfter: Int64 = 60 * 60 * 1_000_000

    private struct Row: Decodable {
        let failures: Int64
        let last_failure_at: Int64
    }

    static func keys(email: String, address: String) -> [Key] {
        let account = Accounts.emailKey(email)
        return [
            Key(name: "pair:\(account)|\(address)", freeFailures: 5, maxDelaySeconds: 15 * 60),
            Key(name: "address:\(address)", freeFailures: 20, maxDelaySeconds: 15 * 60),
            Key(name: "account:\(account)", freeFailures: 50, maxDelaySeconds: 60),
        ]
    }

    /// Throws `resourceExhausted` with the seconds to wait when any key is cooling down.
    func check(_ keys: [Key]) async throws {
        let now = Accounts.now()
        for key in keys {
            guard
                let row = try await db.query(
                    Row.self, "SELECT failures, last_failure_at FROM login_failures WHERE throttle_key = $1", .text(key.name)
                ).first,
                now - row.last_failure_at < Self.forgetAfter
            else { continue }
            let excess = row.failures - key.freeFailures
            guard excess >= 0 else { continue }
            let delay = min(Int64(1) << min(excess, 20), key.maxDelaySeconds) * 1_000_000
            let wait = row.last_failure_at + delay - now
            if wait > 0 {
                let seconds = (wait + 999_999) / 1_000_000
                throw RPCError(
                    .resourceExhausted, "Too many failed sign-ins. Please wait \(seconds) seconds and try again.",
                    details: ["retry-after": String(seconds)])
            }
        }
    }

    /// Counts a failure against every key (starting afresh after a quiet hour).
    func recordFailure(_ keys: [Key]) async throws {
        let now = Accounts.now()
        for key in keys {
            try await db.execute(
                """
                INSERT INTO login_failures (throttle_key, failures, last_failure_at) VALUES ($1, 1, $2)
                ON CONFLICT (throttle_key) DO UPDATE SET
                  failures = CASE WHEN login_failures.last_failure_at < $3 THEN 1 ELSE login_failures.failures + 1 END,
                  last_failure_at = $2
                """,
                .text(key.name), .int(now), .int(now - Self.forgetAfter))
        }
    }

    /// A successful sign-in clears the pair's and the account's records (the address keeps its own).
    func recordSuccess(_ keys: [Key]) async throws {
        for key in keys where !key.name.hasPrefix("address:") {
            try await db.execute("DELETE FROM login_failures WHERE throttle_key = $1", .text(key.name))
        }
    }
}
