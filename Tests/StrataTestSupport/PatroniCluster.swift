import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A highly available PostgreSQL cluster for one test: etcd and two
/// PostgreSQL 15 nodes under Patroni, on loopback, synchronous replication
/// on, in a private folder. Node 1 bootstraps and leads; node 2 follows as
/// the synchronous standby.
///
/// Needs `patroni` and `etcd` (Debian `patroni`, `etcd-server`); without
/// them tests skip, unless `STRATA_REQUIRE_TOOLS=1` makes that a failure.
/// As root (CI), Patroni and PostgreSQL run as the `postgres` user.
public final class PatroniCluster: @unchecked Sendable {
    public struct Node {
        public let name: String
        public let port: Int
        public let restPort: Int
        let process: TierProcess
    }

    public private(set) var nodes: [Node] = []
    private let folder: String
    private let etcd: TierProcess
    private let etcdPort = Loopback.freePort()

    /// Libpq's multi-host URL of the primary, whichever node it is.
    public var primaryURL: String { "postgres://strata@\(hosts)/postgres?target_session_attrs=read-write&connect_timeout=2" }
    /// The standby, or the primary when no standby answers.
    public var replicaURL: String { "postgres://strata@\(hosts)/postgres?target_session_attrs=prefer-standby&connect_timeout=2" }
    private var hosts: String { nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }

    /// A started cluster with a leader and a synchronous standby, or nil where
    /// Patroni or etcd is missing (and not required).
    public static func startIfAvailable() throws -> PatroniCluster? {
        for tool in ["patroni", "etcd"] where try !ExternalTool.isAvailable(tool) { return nil }
        guard
            let binaries = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"].first(where: {
                FileManager.default.fileExists(atPath: $0 + "/postgres")
            })
        else {
            if PostgresServer.isRequired { throw PostgresServer.Unavailable(description: "no PostgreSQL 15 or 16 server binaries for Patroni") }
            return nil
        }
        return try PatroniCluster(binaries: binaries)
    }

    private init(binaries: String) throws {
        folder = "/tmp/strata-ha-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let peerPort = Loopback.freePort()
        etcd = try TierProcess(
            "/usr/bin/env",
            [
                "etcd", "--name", "e1", "--data-dir", folder + "/etcd", "--listen-client-urls", "http://127.0.0.1:\(etcdPort)",
                "--advertise-client-urls", "http://127.0.0.1:\(etcdPort)", "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-cluster", "e1=http://127.0.0.1:\(peerPort)",
            ])
        _ = try etcd.waitForLine(containing: "ready to serve client requests", seconds: 30)
        do {
            nodes.append(try startNode("node1", binaries: binaries))
            try waitFor(seconds: 60) { members in members.contains { $0.role == "leader" && $0.state == "running" } }
            nodes.append(try startNode("node2", binaries: binaries))
            try waitFor(seconds: 90) { members in
                members.contains { $0.role == "leader" && $0.state == "running" }
                    && members.contains { $0.role == "sync_standby" && $0.state == "running" }
            }
        } catch {
            stop()
            throw error
        }
    }

    private func startNode(_ name: String, binaries: String) throws -> Node {
        let port = Loopback.freePort()
        let restPort = Loopback.freePort()
        let configuration = """
            scope: strata-test
            name: \(name)
            log:
              level: WARNING
            restapi:
              listen: 127.0.0.1:\(restPort)
              connect_address: 127.0.0.1:\(restPort)
            etcd3:
              hosts: 127.0.0.1:\(etcdPort)
            bootstrap:
              dcs:
                ttl: 10
                loop_wait: 1
                retry_timeout: 4
                maximum_lag_on_failover: 1048576
                synchronous_mode: true
                postgresql:
                  use_pg_rewind: true
                  parameters:
                    wal_level: replica
                    hot_standby: "on"
                    max_wal_senders: 10
                    max_replication_slots: 10
                    wal_log_hints: "on"
              initdb:
                - encoding: UTF8
                - locale: C
                - auth: trust
              pg_hba:
                - host replication replicator 127.0.0.1/32 trust
                - host all all 127.0.0.1/32 trust
                - local all all trust
            postgresql:
              listen: 127.0.0.1:\(port)
              connect_address: 127.0.0.1:\(port)
              data_dir: \(folder)/\(name)
              bin_dir: \(binaries)
              pgpass: \(folder)/pgpass-\(name)
              basebackup:
                - checkpoint: fast
              authentication:
                replication:
                  username: replicator
                  password: replicator
                superuser:
                  username: strata
                  password: strata
              parameters:
                unix_socket_directories: \(folder)

            """
        let file = "\(folder)/\(name).yml"
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        let process: TierProcess
        if getuid() == 0 {
            // PostgreSQL refuses to run as root; setpriv execs Patroni in place, so its pid is Patroni's.
            guard let account = getpwnam("postgres") else { throw PostgresServer.Unavailable(description: "no 'postgres' user to run Patroni as") }
            chown(folder, account.pointee.pw_uid, account.pointee.pw_gid)
            chown(file, account.pointee.pw_uid, account.pointee.pw_gid)
            process = try TierProcess(
                "/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", "patroni", file],
                directory: URL(fileURLWithPath: folder))
        } else {
            process = try TierProcess("/usr/bin/env", ["patroni", file], directory: URL(fileURLWithPath: folder))
        }
        return Node(name: name, port: port, restPort: restPort, process: process)
    }

    /// One member as Patroni's `/cluster` lists it.
    public struct Member: Decodable {
        public let name: String
        public let role: String
        public let state: String
    }

    /// The members now, from any node's REST API that answers.
    public func members() -> [Member] {
        for node in nodes {
            // Patroni answers HTTP/1.0 with no Content-Length: the body ends with the connection.
            guard let client = try? TestHTTPClient(port: node.restPort, timeout: 2),
                (try? client.send("GET /cluster HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")) != nil,
                let raw = try? client.readToEnd(), let headerEnd = raw.firstRange(of: Array("\r\n\r\n".utf8))
            else { continue }
            struct Cluster: Decodable { let members: [Member] }
            if let cluster = try? JSONDecoder().decode(Cluster.self, from: Data(raw[headerEnd.upperBound...])) { return cluster.members }
        }
        return []
    }

    /// The node leading now.
    public func leader() -> Node? {
        let name = members().first { $0.role == "leader" }?.name
        return nodes.first { $0.name == name }
    }

    /// Asks Patroni for a planned switchover from the leader to `candidate`; returns whether it agreed.
    @discardableResult
    public func switchover(to candidate: Node) -> Bool {
        guard let leader = leader(), let client = try? TestHTTPClient(port: leader.restPort, timeout: 30) else { return false }
        let body = #"{"leader":"\#(leader.name)","candidate":"\#(candidate.name)"}"#
        guard
            (try? client.send(
                "POST /switchover HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
                != nil,
            let answer = try? client.readToEnd()
        else { return false }
        return String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.0 200")
    }

    /// The pid of `node`'s postmaster (the first line of its `postmaster.pid`).
    public func postmasterPID(of node: Node) -> Int32? {
        let text = (try? String(contentsOfFile: "\(folder)/\(node.name)/postmaster.pid", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Waits up to `seconds` until `ready` holds for the members.
    public func waitFor(seconds: Double, _ ready: ([Member]) -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [Member] = []
        while Date() < deadline {
            last = members()
            if ready(last) { return }
            usleep(250_000)
        }
        let logs = nodes.map { "\($0.name):\n" + $0.process.output.suffix(20).joined(separator: "\n") }.joined(separator: "\n")
        throw TestHTTPClient.Failure(
            description:
                "the Patroni cluster did not get there in \(seconds) s; members \(last.map { "\($0.name) \($0.role) \($0.state)" }); logs:\n\(logs)")
    }

    /// Stops Patroni (which stops its PostgreSQL), then etcd, and removes the folder.
    public func stop() {
        for node in nodes { node.process.stop() }
        // A postmaster Patroni could not stop (it was killed first) is ours too.
        for node in nodes {
            if let pid = postmasterPID(of: node),
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), command.contains("postgres")
            {
                kill(pid, SIGKILL)
            }
        }
        etcd.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
