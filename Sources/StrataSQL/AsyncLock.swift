import Synchronization

/// A first-come, first-served lock for async code: on SQLite's one writer
/// connection, interactive transactions and migrations take it from BEGIN to
/// their end, one at a time (single writes wait in the group commit). A
/// waiter whose task is cancelled (its caller's deadline passed) leaves the
/// queue at once with `SQLError(.busy)`.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    func lock() async throws {
        let id: Int? = state.withLock { state in
            guard state.locked else {
                state.locked = true
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let acquired: Bool? = state.withLock { state in
                    guard state.locked else {
                        state.locked = true
                        return true
                    }
                    if Task.isCancelled { return false }
                    state.waiters.append((id, continuation))
                    return nil
                }
                switch acquired {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: Self.gaveUp)
                case nil: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: Self.gaveUp)
        }
    }

    private static let gaveUp = SQLError(.busy, "gave up waiting for the SQLite writer (another transaction holds it)")

    func unlock() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }

    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await lock()
        defer { unlock() }
        return try await body()
    }
}
