import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A built executable started by a test, with its output collected.
/// Tests end only the processes they start, by pid.
public final class TierProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = ""
    private var reader: PipeReader?

    /// The folder holding the built executables (next to the test bundle).
    public static var buildFolder: URL {
        let me = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var folder = me.deletingLastPathComponent()
        // XCTest on Linux runs `<Package>PackageTests.xctest` from the build folder itself.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("strata-web").path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder
    }

    /// Starts `executable` (a product name such as `strata-data`, or an absolute path) with `arguments`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws {
        process.executableURL = executable.hasPrefix("/") ? URL(fileURLWithPath: executable) : Self.buildFolder.appendingPathComponent(executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRATA_") }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = input
        try process.run()
        reader = PipeReader(pipe) { [weak self] data in
            guard let self else { return }
            self.lock.lock()
            self.partial += String(decoding: data, as: UTF8.self)
            while let newline = self.partial.firstIndex(of: "\n") {
                self.lines.append(String(self.partial[..<newline]))
                self.partial = String(self.partial[self.partial.index(after: newline)...])
            }
            self.lock.unlock()
        }
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// The processes this one started (from every thread's `/proc` children list).
    public var childPIDs: [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
    }

    /// Everything printed so far.
    public var output: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines + (partial.isEmpty ? [] : [partial])
    }

    /// Waits up to `seconds` for a line containing `text`; returns it.
    public func waitForLine(containing text: String, seconds: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = output.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning, let line = output.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw TestHTTPClient.Failure(description: "no line containing '\(text)' within \(seconds) s; output:\n" + output.joined(separator: "\n"))
    }

    /// Waits for the `msg=ready` line and returns the `listen=` address.
    public func waitForReady(seconds: Double = 30) throws -> String {
        let line = try waitForLine(containing: "msg=ready", seconds: seconds)
        guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("listen=") }) else {
            throw TestHTTPClient.Failure(description: "ready line without listen=: \(line)")
        }
        return String(field.dropFirst("listen=".count))
    }

    /// Writes `text` to the process's standard input (a client tool under test, say).
    public func write(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }

    /// Closes the process's standard input.
    public func closeInput() { try? input.fileHandleForWriting.close() }

    /// Sends `signal` to this process only.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits up to `seconds` for the process to exit; returns its status, or nil if still running.
    @discardableResult
    public func waitForExit(seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Stops the process (SIGTERM, then SIGKILL after 10 s) if it is still running.
    public func stop() {
        guard process.isRunning else { return }
        send(SIGTERM)
        if waitForExit(seconds: 10) == nil {
            send(SIGKILL)
            waitForExit(seconds: 5)
        }
    }

    deinit { stop() }
}

/// A fresh temporary folder, removed by `remove()`.
public struct TemporaryFolder {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(at: url) }

    public var path: String { url.path }
}

/// The repository's root folder, found from this source file's location.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
