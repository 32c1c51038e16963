import StrataIO
import Synchronization

/// Picks the host of a multi-host URL by asking each server what it is
/// (`pg_is_in_recovery()`), instead of leaving `target_session_attrs` to
/// libpq.
///
/// libpq decides from the parameters the server reported at login, and a
/// PgBouncer in front of each node replays the ones its first server
/// connection reported (`in_hot_standby` included, pgbouncer issue 859): after
/// a failover the new primary's bouncer still says "standby" and the old
/// one's "primary". A query reaches the real server behind any bouncer.
final class HostChoice: Sendable {
    enum Wanted: String, Sendable {
        case primary, standby, preferStandby
    }

    /// One single-host URL per host, in the order given, without `target_session_attrs`.
    let hosts: [String]
    let wanted: Wanted
    /// The host that matched last: tried first next time.
    private let last = Atomic<Int>(0)

    /// Longest wait for a server's answer: a bouncer whose server is gone holds the query.
    static let answerTimeout = Duration.seconds(3)

    /// A choice for `url`, or nil when libpq's own choice will do (one host, or no role asked for).
    init?(url: String) {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let userEnd = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hostList = authority[userEnd...].split(separator: ",")
        guard hostList.count > 1 else { return nil }
        var tail = String(rest[authorityEnd...])
        var wanted: Wanted?
        if let query = tail.firstIndex(of: "?") {
            var kept: [Substring] = []
            for pair in tail[tail.index(after: query)...].split(separator: "&") {
                guard pair.hasPrefix("target_session_attrs=") else {
                    kept.append(pair)
                    continue
                }
                switch pair.dropFirst("target_session_attrs=".count) {
                case "read-write", "primary": wanted = .primary
                case "standby", "read-only": wanted = .standby
                case "prefer-standby": wanted = .preferStandby
                default: break
                }
            }
            tail = String(tail[..<query]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        }
        guard let wanted else { return nil }
        let head = url[..<schemeEnd.upperBound] + authority[..<userEnd]
        hosts = hostList.map { head + $0 + tail }
        self.wanted = wanted
    }

    /// A connection to the first host, starting from the last good one,
    /// whose server is what was asked for; for `preferStandby`, any that
    /// answers when no standby does.
    func connect(
        on loop: EventLoop, using open: (String) async throws -> PostgresConnection
    ) async throws -> PostgresConnection {
        let start = last.load(ordering: .relaxed)
        let order = (0..<hosts.count).map { (start + $0) % hosts.count }
        var fallback: (index: Int, connection: PostgresConnection)?
        var reasons: [String] = []
        for index in order {
            guard let connection = try? await open(hosts[index]) else {
                reasons.append("host \(index + 1) refused")
                continue
            }
            guard let standby = await Self.isStandby(connection) else {
                connection.close()
                reasons.append("host \(index + 1) did not answer")
                continue
            }
            if standby == (wanted != .primary) {
                fallback?.connection.close()
                last.store(index, ordering: .relaxed)
                return connection
            }
            if wanted == .preferStandby && fallback == nil {
                fallback = (index, connection)
            } else {
                connection.close()
                reasons.append("host \(index + 1) is a \(standby ? "standby" : "primary")")
            }
        }
        if let fallback {
            last.store(fallback.index, ordering: .relaxed)
            return fallback.connection
        }
        throw SQLError(
            .unavailable, "no \(wanted == .primary ? "primary" : "standby") among the \(hosts.count) hosts: \(reasons.joined(separator: ", "))")
    }

    /// Whether the server is in recovery or read-only, or nil when it does
    /// not answer within `answerTimeout` (the connection is closed then).
    private static func isStandby(_ connection: PostgresConnection) async -> Bool? {
        let watchdog = Task {
            try await Task.sleep(for: answerTimeout)
            connection.close()
        }
        defer { watchdog.cancel() }
        guard
            let row = try? await connection.execute("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'", [])
                .rows.first
        else { return nil }
        return row.first == .bool(true)
    }
}
