import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// PgBouncer in transaction pooling mode in front of a test's PostgreSQL
/// server, on loopback: each transaction (or statement outside one) may
/// reach a different server connection.
///
/// Needs `pgbouncer` (Debian `pgbouncer`); without it tests skip, unless
/// `STRATA_REQUIRE_TOOLS=1` makes that a failure. As root (CI) it runs as
/// the `postgres` user: PgBouncer refuses to run as root.
public final class PgBouncer: @unchecked Sendable {
    /// A libpq URL for the `strata` user through the bouncer.
    public let url: String
    private let process: TierProcess
    private let folder: String

    /// Started in front of `server` with `serverConnections` server connections, or nil without pgbouncer.
    public static func startIfAvailable(inFrontOf server: PostgresServer, serverConnections: Int = 3) throws -> PgBouncer? {
        try startIfAvailable(inFrontOfPort: server.port, serverConnections: serverConnections)
    }

    /// Started in front of the PostgreSQL server on 127.0.0.1:`port` (a cluster node, say), or nil without pgbouncer.
    public static func startIfAvailable(inFrontOfPort port: Int, serverConnections: Int = 3) throws -> PgBouncer? {
        guard try ExternalTool.isAvailable("pgbouncer") else { return nil }
        return try PgBouncer(serverPort: port, serverConnections: serverConnections)
    }

    /// The port it listens on (127.0.0.1).
    public let port: Int

    private init(serverPort: Int, serverConnections: Int) throws {
        folder = "/tmp/strata-pgbouncer-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        port = Loopback.freePort()
        url = "postgres://strata@127.0.0.1:\(port)/postgres"
        try #""strata" """#.write(toFile: folder + "/users.txt", atomically: true, encoding: .utf8)
        let configuration = """
            [databases]
            postgres = host=127.0.0.1 port=\(serverPort) dbname=postgres user=strata

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(folder)/users.txt
            pool_mode = transaction
            default_pool_size = \(serverConnections)
            max_client_conn = 500
            ignore_startup_parameters = extra_float_digits,options
            ; A server that went away (a failover) is tried again each second,
            ; and a client waiting for one gives up after 5 s instead of 120.
            server_login_retry = 1
            server_connect_timeout = 2
            query_wait_timeout = 5

            """
        let file = folder + "/pgbouncer.ini"
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        if getuid() == 0 {
            guard let account = getpwnam("postgres") else { throw PostgresServer.Unavailable(description: "no 'postgres' user to run PgBouncer as") }
            for path in [folder, file, folder + "/users.txt"] { chown(path, account.pointee.pw_uid, account.pointee.pw_gid) }
            process = try TierProcess("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", "pgbouncer", file])
        } else {
            process = try TierProcess("/usr/bin/env", ["pgbouncer", file])
        }
        _ = try process.waitForLine(containing: "process up", seconds: 20)
    }

    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
