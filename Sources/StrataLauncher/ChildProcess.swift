import Foundation
import StrataCLI
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// A tier started by the launcher, with its standard output and error read a batch of whole lines at a time.
final class ChildProcess: Sendable {
    /// The tier's name (`data`, `app`, `web`), used as the log prefix.
    let tier: String
    /// The process id.
    let pid: pid_t

    private init(tier: String, pid: pid_t) {
        self.tier = tier
        self.pid = pid
    }

    /// Starts `executable` with `arguments` in its own process group (so a
    /// terminal's Ctrl-C reaches only the launcher, which then stops the tiers
    /// in order). Its output goes to `onOutput` in runs of whole lines, each
    /// ending in a newline (a busy tier's access log arrives many lines to a
    /// read); `onExit` gets the pid and how it ended.
    static func spawn(
        tier: String, executable: String, arguments: [String], environment: [String: String],
        onOutput: @escaping @Sendable (UnsafeBufferPointer<UInt8>) -> Void, onExit: @escaping @Sendable (pid_t, ExitStatus) -> Void
    ) throws -> ChildProcess {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw StartupError("cannot create a pipe for \(tier): \(String(cString: strerror(errno)))") }
        // Close-on-exec, so later children do not inherit this one's pipe and keep it open.
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(pipeFDs[1])
        guard status == 0 else {
            close(pipeFDs[0])
            throw StartupError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        let childPID = pid
        let child = ChildProcess(tier: tier, pid: childPID)
        let readFD = pipeFDs[0]
        Thread.detachNewThread {
            Self.readLines(readFD, onOutput)
            close(readFD)
            var waitStatus: Int32 = 0
            while waitpid(childPID, &waitStatus, 0) < 0 && errno == EINTR {}
            onExit(childPID, ExitStatus(waitStatus: waitStatus))
        }
        return child
    }

    /// Sends `signal` to the child.
    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    private static func readLines(_ fd: Int32, _ onOutput: (UnsafeBufferPointer<UInt8>) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var filled = 0
        while true {
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }  // a very long line
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            filled += n
            guard let lastNewline = buffer[..<filled].lastIndex(of: 10) else { continue }
            buffer.withUnsafeBufferPointer { onOutput(UnsafeBufferPointer(rebasing: $0[...lastNewline])) }
            let rest = filled - lastNewline - 1
            if rest > 0 { buffer.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[(lastNewline + 1)..<filled])) } }
            filled = rest
        }
        if filled > 0 {
            // A last line without its newline gets one.
            if filled == buffer.count { buffer.append(10) } else { buffer[filled] = 10 }
            buffer.withUnsafeBufferPointer { onOutput(UnsafeBufferPointer(rebasing: $0[...filled])) }
        }
    }
}

/// How a child ended, from its wait status.
struct ExitStatus: CustomStringConvertible, Equatable {
    let code: Int32?
    let signal: Int32?

    init(waitStatus: Int32) {
        if waitStatus & 0x7F == 0 {
            code = (waitStatus >> 8) & 0xFF
            signal = nil
        } else {
            code = nil
            signal = waitStatus & 0x7F
        }
    }

    var isSuccess: Bool { code == 0 }

    var description: String {
        if let code { return "exit status \(code)" }
        return "signal \(signal ?? 0)"
    }
}
