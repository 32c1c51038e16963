import Foundation
import Synchronization

/// Clients that GET one path over and over on keep-alive connections, as
/// browsers would, counting every answer: the load a restart must not fail.
///
/// Like a browser, a client whose reused connection closes before an answer
/// sends the GET again once on a new connection (RFC 9112, 9.3.1: a server
/// may close an idle connection at any time, and an idempotent request may
/// then be retried). That retry is counted; a second failure, a status other
/// than 200, or a refused connection counts as failed.
public final class SteadyLoad: @unchecked Sendable {
    public struct Result: CustomStringConvertible {
        public var answered = 0
        public var retried = 0
        public var failed: [String] = []
        public var description: String { "\(answered) answered 200, \(retried) retried once on a new connection, \(failed.count) failed" }
    }

    private let port: Int
    private let path: String
    private let state = Mutex(Result())
    private let running = Atomic<Bool>(true)
    private var threads: [Thread] = []
    private let finished = DispatchGroup()

    /// Starts `clients` clients on `path` at 127.0.0.1:`port`.
    public init(port: Int, path: String, clients: Int) {
        self.port = port
        self.path = path
        for _ in 0..<clients {
            finished.enter()
            let thread = Thread { [self] in
                run()
                finished.leave()
            }
            threads.append(thread)
            thread.start()
        }
    }

    private func run() {
        var connection: TestHTTPClient?
        var reused = false
        while running.load(ordering: .relaxed) {
            do {
                if connection == nil {
                    connection = try TestHTTPClient(port: port, timeout: 10)
                    reused = false
                }
                let response = try connection!.request("GET", path)
                let closing = response.header("Connection")?.lowercased() == "close"
                state.withLock { result in
                    if response.status == 200 { result.answered += 1 } else { result.failed.append("status \(response.status)") }
                }
                if closing { connection = nil } else { reused = true }
            } catch {
                connection = nil
                if reused {
                    // Once, on a new connection, as a browser does.
                    reused = false
                    state.withLock { $0.retried += 1 }
                    do {
                        let fresh = try TestHTTPClient(port: port, timeout: 10)
                        let response = try fresh.request("GET", path)
                        state.withLock { result in
                            if response.status == 200 { result.answered += 1 } else { result.failed.append("status \(response.status) on retry") }
                        }
                        connection = fresh
                        reused = true
                        continue
                    } catch {
                        state.withLock { $0.failed.append("retry: \(error)") }
                    }
                } else {
                    state.withLock { $0.failed.append("\(error)") }
                }
            }
        }
    }

    /// What has been counted so far.
    public var soFar: Result { state.withLock { $0 } }

    /// Stops the clients (each finishes its request) and returns the counts.
    public func stop() -> Result {
        running.store(false, ordering: .relaxed)
        _ = finished.wait(timeout: .now() + 30)
        return soFar
    }
}
