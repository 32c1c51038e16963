import Dispatch
import Foundation
import StrataCLI
import StrataCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the whole stack as child processes: migrations, then data, app and
/// web tiers in order, each started once the one before it is ready.
final class Stack: Sendable {
    struct Settings: Sendable {
        var executables: String
        var database: String
        var migrations: String
        var webHost: String
        var webPort: Int
        /// HTTPS on the web port with this certificate, or plain HTTP.
        var webTLS: DevelopmentCertificate?
        var appListen: String
        var dataListen: String
        var logLevel: String
        var environment: [String: String]
    }

    enum Event: Sendable {
        case ready(tier: String, address: String)
        case exited(tier: String, pid: pid_t, status: ExitStatus)
        case signal(String)
    }

    private let settings: Settings
    private let events = Mutex<[Event]>([])
    private let wakeUp = DispatchSemaphore(value: 0)
    private let output = Mutex(())
    private let children = Mutex<[ChildProcess]>([])

    init(settings: Settings) { self.settings = settings }

    /// Runs until a signal (exit 0) or a tier failing (exit 1).
    func run() -> Int32 {
        var sources: [any DispatchSourceSignal] = []
        defer { for source in sources { source.cancel() } }
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in post(.signal(name)) }
            source.resume()
            sources.append(source)
        }
        do {
            try migrate()
            let data = try start(
                "data", "strata-data",
                ["serve", "--listen", settings.dataListen, "--database", settings.database, "--migrations", settings.migrations])
            let app = try start("app", "strata-app", ["serve", "--listen", settings.appListen, "--data", data])
            var webArguments = ["serve", "--host", settings.webHost, "--port", String(settings.webPort), "--app", app]
            if let tls = settings.webTLS { webArguments += ["--tls-cert", tls.certificate, "--tls-key", tls.key] }
            let web = try start("web", "strata-web", webArguments)
            if let tls = settings.webTLS {
                say("Strata is running at https://\(web)/ (press Ctrl-C to stop)")
                say("  development certificate \(tls.certificate), SHA-256 \(tls.fingerprint)")
            } else {
                say("Strata is running at http://\(web)/ (press Ctrl-C to stop)")
            }
        } catch let stop as Stop {
            return shutdown(stop)
        } catch {
            say("strata: \(error)")
            return shutdown(.failure)
        }
        while true {
            switch nextEvent(deadline: nil) {
            case .signal(let name):
                say("strata: \(name) received, stopping")
                return shutdown(.requested)
            case .exited(let tier, let pid, let status):
                say("strata: the \(tier) tier (pid \(pid)) exited unexpectedly with \(status); stopping the others")
                forget(pid)
                return shutdown(.failure)
            case .ready, nil:
                continue
            }
        }
    }

    private enum Stop: Error {
        case requested
        case failure
    }

    private func migrate() throws {
        let child = try spawn("data", "strata-data", ["migrate", "up", "--database", settings.database, "--migrations", settings.migrations])
        while true {
            switch nextEvent(deadline: nil) {
            case .exited(_, let pid, let status) where pid == child.pid:
                forget(pid)
                guard status.isSuccess else {
                    say("strata: migrations failed (\(status)); nothing was started")
                    throw Stop.failure
                }
                return
            case .signal:
                throw Stop.requested
            default:
                continue
            }
        }
    }

    /// Starts a tier and waits (up to a minute) for its `ready` log line; returns its address.
    private func start(_ tier: String, _ executable: String, _ arguments: [String]) throws -> String {
        _ = try spawn(tier, executable, arguments + ["--log-level", settings.logLevel])
        let deadline = DispatchTime.now() + .seconds(60)
        while true {
            guard let event = nextEvent(deadline: deadline) else {
                say("strata: the \(tier) tier did not become ready within 60 s")
                throw Stop.failure
            }
            switch event {
            case .ready(let readyTier, let address) where readyTier == tier:
                return address
            case .exited(let exitedTier, let pid, let status):
                say("strata: the \(exitedTier) tier (pid \(pid)) exited during start-up with \(status)")
                forget(pid)
                throw Stop.failure
            case .signal:
                throw Stop.requested
            default:
                continue
            }
        }
    }

    private func spawn(_ tier: String, _ executable: String, _ arguments: [String]) throws -> ChildProcess {
        var environment = settings.environment
        environment[ShutdownSignal.parentVariable] = String(getpid())
        // The launcher reads each tier's `msg=ready listen=...` line and prefixes
        // lines for a terminal: logfmt, whatever STRATA_LOG_FORMAT says for tiers run alone.
        environment["STRATA_LOG_FORMAT"] = "logfmt"
        let prefix = Array((tier.padding(toLength: 4, withPad: " ", startingAt: 0) + " | ").utf8)
        let child = try ChildProcess.spawn(
            tier: tier, executable: settings.executables + "/" + executable, arguments: arguments, environment: environment,
            onOutput: { [self] lines in
                // One write per batch: the web tier's access log can be a line per request.
                var out: [UInt8] = []
                out.reserveCapacity(lines.count + lines.count / 8 + prefix.count)
                var start = 0
                for i in lines.indices where lines[i] == 10 {
                    let line = UnsafeBufferPointer(rebasing: lines[start..<i])
                    out.append(contentsOf: prefix)
                    out.append(contentsOf: line)
                    out.append(10)
                    start = i + 1
                    if let address = Self.readyAddress(line) { post(.ready(tier: tier, address: address)) }
                }
                output.withLock { _ in out.withUnsafeBytes { RawOutput.writeAll(1, $0) } }
            },
            onExit: { [self] pid, status in post(.exited(tier: tier, pid: pid, status: status)) })
        children.withLock { $0.append(child) }
        return child
    }

    /// The `listen=` address of a tier's `msg=ready` log line.
    static func readyAddress(_ line: String) -> String? {
        var line = line
        return line.withUTF8 { readyAddress($0) }
    }

    private static let readyMarker = Array(" msg=ready ".utf8)
    private static let listenKey = Array("listen=".utf8)

    /// The `listen=` address of a `msg=ready` line, found without making a String of every line.
    static func readyAddress(_ line: UnsafeBufferPointer<UInt8>) -> String? {
        guard line.count > readyMarker.count, contains(line, readyMarker) else { return nil }
        for field in line.split(separator: 32) where field.starts(with: listenKey) {
            return String(decoding: field.dropFirst(listenKey.count), as: UTF8.self)
        }
        return nil
    }

    private static func contains(_ line: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard line.count >= needle.count else { return false }
        for start in 0...(line.count - needle.count) where line[start] == needle[0] {
            if line[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    private func post(_ event: Event) {
        events.withLock { $0.append(event) }
        wakeUp.signal()
    }

    private func nextEvent(deadline: DispatchTime?) -> Event? {
        while true {
            if let event = events.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                return event
            }
            if let deadline {
                if wakeUp.wait(timeout: deadline) == .timedOut { return nil }
            } else {
                wakeUp.wait()
            }
        }
    }

    private func forget(_ pid: pid_t) {
        children.withLock { $0.removeAll { $0.pid == pid } }
    }

    /// Stops running tiers in reverse start order: SIGTERM, then SIGKILL after 15 s.
    private func shutdown(_ reason: Stop) -> Int32 {
        for child in children.withLock({ $0 }).reversed() {
            child.send(SIGTERM)
            let deadline = DispatchTime.now() + .seconds(15)
            var stopped = false
            while !stopped {
                guard let event = nextEvent(deadline: deadline) else {
                    say("strata: the \(child.tier) tier did not stop within 15 s; killing it")
                    child.send(SIGKILL)
                    break
                }
                if case .exited(let tier, _, _) = event, tier == child.tier { stopped = true }
            }
            forget(child.pid)
        }
        return reason == .requested ? 0 : 1
    }

    private func say(_ line: String) {
        output.withLock { _ in Terminal.printOut(line + "\n") }
    }
}
