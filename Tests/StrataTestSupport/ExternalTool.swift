import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command-line tool (openssl, curl, ...) to the end, with a time
/// limit, and returns its exit status and everything it printed.
public enum ExternalTool {
    public struct Result {
        public var status: Int32
        public var output: String
    }

    /// Runs `executable` (found on PATH) with `arguments`, feeding `input`;
    /// killed by PID after `seconds`.
    public static func run(_ executable: String, _ arguments: [String], input: String = "", seconds: Double = 20) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        let collected = Collected()
        try process.run()
        let reader = PipeReader(stdout) { collected.append(Data($0)) }
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // What was still in the pipe when the process ended; a child it left
        // running may hold the pipe open, so this wait is bounded too.
        reader.waitForEnd(seconds: 5)
        return Result(status: process.terminationStatus, output: collected.text)
    }

    /// Output gathered from the pipe's handler thread.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()

        func append(_ more: Data) {
            lock.lock()
            data.append(more)
            lock.unlock()
        }

        var text: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }
    }
}

extension ExternalTool {
    /// A tool a test needs is not installed, where tools are required.
    public struct Missing: Error, CustomStringConvertible {
        public let tool: String
        public init(tool: String) { self.tool = tool }
        public var description: String { "\(tool) is not installed, and STRATA_REQUIRE_TOOLS=1 makes that a failure (.ci/run installs it)" }
    }

    /// Whether `tool` is on PATH. With `STRATA_REQUIRE_TOOLS=1` (as in CI) a
    /// missing tool throws instead: CI must run what it claims to.
    public static func isAvailable(_ tool: String) throws -> Bool {
        let found = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
        if !found && ProcessInfo.processInfo.environment["STRATA_REQUIRE_TOOLS"] == "1" { throw Missing(tool: tool) }
        return found
    }
}
