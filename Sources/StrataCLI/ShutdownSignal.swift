import Dispatch
import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for the process to be asked to stop: SIGINT, SIGTERM, or (when
/// started by `strata up`) the launcher going away.
public enum ShutdownSignal {
    /// Environment variable `strata up` sets to its own pid, so a tier whose
    /// launcher was killed outright stops instead of lingering.
    public static let parentVariable = "STRATA_PARENT_PID"

    /// Announces the tier ready (the `msg=ready listen=...` line `strata up`
    /// waits for), then suspends until asked to stop and logs why.
    public static func serve(logger: Logger, listen: String, _ fields: (String, String)..., environment: [String: String]) async {
        await serve(logger: logger, listen: listen, fields, environment: environment)
    }

    /// `serve` with its fields as an array.
    public static func serve(logger: Logger, listen: String, _ fields: [(String, String)], environment: [String: String]) async {
        logger.log(.info, "ready", [("listen", listen)] + fields, always: true)
        let reason = await wait(environment: environment)
        logger.log(.info, "stopping", [("reason", reason)], always: true)
    }

    /// Suspends until SIGINT or SIGTERM arrives (or the launcher dies); returns the signal's name.
    public static func wait(environment: [String: String]) async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let once = Once(continuation)
            var sources: [any DispatchSourceSignal] = []
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.resume(name) }
                source.resume()
                sources.append(source)
            }
            if let text = environment[parentVariable], let parent = Int32(text) {
                let timer = DispatchSource.makeTimerSource(queue: .global())
                timer.schedule(deadline: .now() + 1, repeating: 1)
                timer.setEventHandler {
                    if getppid() != parent { once.resume("launcher exited") }
                }
                timer.resume()
                once.keep(timer)
            }
            for source in sources { once.keep(source) }
        }
    }
}

/// Resumes a continuation at most once and keeps the dispatch sources alive until then.
private final class Once: @unchecked Sendable {
    private var continuation: CheckedContinuation<String, Never>?
    private var retained: [any DispatchSourceProtocol] = []
    private let lock = DispatchQueue(label: "strata.shutdown")

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func keep(_ object: any DispatchSourceProtocol) { lock.sync { retained.append(object) } }

    func resume(_ reason: String) {
        lock.sync {
            continuation?.resume(returning: reason)
            continuation = nil
        }
    }
}
