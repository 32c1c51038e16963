import CStrataShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one CGI script to its end: spawned directly (no shell) with only
/// the environment given, the request body on stdin, stdout collected up
/// to a limit, stderr handed back for the log. The script runs in a
/// process group of its own, so a timeout kills whatever it started too.
///
/// The waiting happens on a thread of its own with `poll`, not in Swift's
/// cooperative pool, which a few slow scripts would otherwise fill.
struct CGIProcess {
    var executable: String
    var environment: [(String, String)]
    var workingDirectory: String
    var input: [UInt8]
    var timeout: Duration
    var maxOutput: Int

    /// How it ended.
    struct Outcome {
        var output: [UInt8] = []
        var errors: [UInt8] = []
        var exitStatus: Int32 = -1
        var timedOut = false
        var outputTooLarge = false
    }

    /// Runs the script; throws when it could not be started.
    func run() async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try runBlocking() })
            }
            thread.name = "strata-cgi"
            thread.start()
        }
    }

    private func runBlocking() throws -> Outcome {
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard strata_pipe_cloexec(&stdinPipe) == 0, strata_pipe_cloexec(&stdoutPipe) == 0, strata_pipe_cloexec(&stderrPipe) == 0 else {
            for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) }
            throw UpstreamError(.connect, "pipe: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try spawn(stdin: stdinPipe[0], stdout: stdoutPipe[1], stderr: stderrPipe[1])
        } catch {
            for fd in stdinPipe + stdoutPipe + stderrPipe { close(fd) }
            throw error
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        var outcome = Outcome()
        let deadline = ContinuousClock.now + timeout
        exchange(stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0], deadline: deadline, into: &outcome)
        if outcome.timedOut || outcome.outputTooLarge { kill(-pid, SIGKILL) }
        outcome.exitStatus = reap(pid, deadline: deadline, timedOut: &outcome.timedOut)
        return outcome
    }

    private func spawn(stdin: Int32, stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        strata_spawn_addchdir(&actions, workingDirectory)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (so a timeout can kill it all), default
        // signal handling (the server ignores SIGPIPE; a script should not), nothing blocked.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.0)=\($0.1)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw UpstreamError(.connect, "\(executable) could not be started: \(String(cString: strerror(status)))") }
        return pid
    }

    /// Feeds stdin and drains stdout and stderr until both end, the deadline passes, or the output is too large.
    private func exchange(stdin: Int32, stdout: Int32, stderr: Int32, deadline: ContinuousClock.Instant, into outcome: inout Outcome) {
        for fd in [stdin, stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var written = 0
        var stdinOpen = true
        if input.isEmpty {
            close(stdin)
            stdinOpen = false
        }
        var open: Set<Int32> = [stdout, stderr]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                outcome.timedOut = true
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if stdinOpen { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            let milliseconds = Int32(min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1, 1000))
            guard poll(&fds, nfds_t(fds.count), milliseconds) >= 0 || errno == EINTR else { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdin {
                    let n = input.withUnsafeBytes { write(stdin, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    if n < 0 && errno != EAGAIN || written == input.count {
                        // Done, or the script stopped reading (EPIPE): it gets EOF either way.
                        close(stdin)
                        stdinOpen = false
                    }
                    continue
                }
                let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    if entry.fd == stdout {
                        outcome.output.append(contentsOf: buffer[..<n])
                        if outcome.output.count > maxOutput {
                            outcome.outputTooLarge = true
                            open.removeAll()
                        }
                    } else if outcome.errors.count < 65_536 {
                        outcome.errors.append(contentsOf: buffer[..<n])
                    }
                } else if n == 0 || errno != EAGAIN && errno != EINTR {
                    open.remove(entry.fd)
                }
            }
        }
        if stdinOpen { close(stdin) }
        close(stdout)
        close(stderr)
    }

    /// Waits for the script to exit; one still running at the deadline is killed.
    private func reap(_ pid: pid_t, deadline: ContinuousClock.Instant, timedOut: inout Bool) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(1_000)
        }
        return status
    }
}
