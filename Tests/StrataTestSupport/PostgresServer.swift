import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL server started from the installed binaries for one
/// test run, listening on loopback and a private socket folder.
///
/// When run as root (as CI is), the server runs as the unprivileged
/// `postgres` user, since PostgreSQL refuses to run as root. Without a
/// PostgreSQL installation tests skip, unless `STRATA_REQUIRE_POSTGRES=1`
/// (set by `.ci/run`) makes that a failure.
public final class PostgresServer: @unchecked Sendable {
    /// A libpq connection URL for the `strata` superuser and `postgres` database.
    public let url: String
    /// The TCP port on 127.0.0.1.
    public let port: Int
    private let folder: URL
    private let binaries: String
    private let runAs: String?
    private let tls: Bool
    private var stopped = false

    /// Why no server could be started.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// A started server, or nil where PostgreSQL is not installed (and not
    /// required: with `STRATA_REQUIRE_POSTGRES=1`, as in CI, that throws).
    public static func startIfAvailable(tls: (certificate: String, key: String)? = nil) throws -> PostgresServer? {
        do {
            return try PostgresServer(tls: tls)
        } catch let error as Unavailable {
            if isRequired { throw error }
            return nil
        }
    }

    /// Whether a missing PostgreSQL must fail the run instead of skipping.
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["STRATA_REQUIRE_POSTGRES"] == "1" }

    /// Initialises a cluster in a temporary folder and starts it; with `tls`
    /// (PEM files), with `ssl=on` serving that certificate.
    public init(tls: (certificate: String, key: String)? = nil) throws {
        guard let binaries = Self.findBinaries() else {
            throw Unavailable(description: "no PostgreSQL server binaries (initdb, pg_ctl) found; install the 'postgresql' package")
        }
        self.binaries = binaries
        self.tls = tls != nil
        runAs = getuid() == 0 ? "postgres" : nil
        if runAs != nil && getpwnam("postgres") == nil {
            throw Unavailable(description: "running as root but there is no 'postgres' user to run the server as")
        }
        folder = URL(fileURLWithPath: "/tmp/strata-pg-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let user = runAs, let account = getpwnam(user) {
            chown(folder.path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        port = Loopback.freePort()
        url = "postgres://strata@127.0.0.1:\(port)/postgres"
        let data = folder.appendingPathComponent("data").path
        try run("initdb", ["-D", data, "-U", "strata", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        if let tls {
            // PostgreSQL insists the key is the server user's and private.
            for (source, name, mode) in [(tls.certificate, "server.crt", 0o644), (tls.key, "server.key", 0o600)] {
                let target = data + "/" + name
                try FileManager.default.copyItem(atPath: source, toPath: target)
                chmod(target, mode_t(mode))
                if let user = runAs, let account = getpwnam(user) { chown(target, account.pointee.pw_uid, account.pointee.pw_gid) }
            }
        }
        try start()
    }

    private var options: String {
        "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            + (tls ? " -c ssl=on" : "")
    }

    private func start() throws {
        try run(
            "pg_ctl",
            [
                "-D", folder.appendingPathComponent("data").path, "-l", folder.appendingPathComponent("server.log").path,
                "-o", options, "-w", "-t", "60", "start",
            ])
    }

    /// Stops the server (connections drop) and starts it again on the same port and data.
    public func restart() throws {
        try pause()
        try resume()
    }

    /// Stops the server, keeping its data and port for `resume()`.
    public func pause() throws {
        try run("pg_ctl", ["-D", folder.appendingPathComponent("data").path, "-m", "fast", "-w", "-t", "30", "stop"])
    }

    /// Starts a paused server again.
    public func resume() throws { try start() }

    /// Stops the server this object started (pg_ctl signals the postmaster
    /// recorded in this cluster's pid file) and removes its files.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        _ = try? run("pg_ctl", ["-D", folder.appendingPathComponent("data").path, "-m", "fast", "-w", "-t", "30", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }

    /// Runs one PostgreSQL tool to completion, its output in a file.
    ///
    /// posix_spawn and waitpid rather than Foundation's Process: Process
    /// notices a child's exit through a descriptor the child inherits, and the
    /// server `pg_ctl start` leaves behind inherits it too, so Process would
    /// wait for the server to stop.
    private func run(_ tool: String, _ arguments: [String]) throws {
        let path = binaries + "/" + tool
        let argv = (runAs.map { ["/usr/sbin/runuser", "-u", $0, "--", path] } ?? [path]) + arguments
        let outputPath = folder.appendingPathComponent("\(tool).out").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw Unavailable(description: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            let log = (try? String(contentsOf: folder.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
            throw Unavailable(description: "\(tool) failed (wait status \(status)): \(text)\n\(log)")
        }
    }

    private static func findBinaries() -> String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let folder = "/usr/lib/postgresql/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: folder + "/initdb") { return folder }
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        where FileManager.default.isExecutableFile(atPath: folder + "/initdb") && FileManager.default.isExecutableFile(atPath: folder + "/pg_ctl") {
            return folder
        }
        return nil
    }
}
