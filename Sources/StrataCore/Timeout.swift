import Synchronization

/// Thrown by `withTimeout` when the work did not finish in time.
public struct TimeoutError: Error, CustomStringConvertible, Sendable {
    /// The time that was allowed.
    public let limit: Duration

    public var description: String { "did not finish within \(limit)" }
}

/// Returns what `work` returns, or throws `TimeoutError` once `limit` has
/// passed, whichever comes first. Unlike a task group, this does not wait for
/// work that ignores cancellation (a database call stuck on a dead peer): that
/// work is left to end on its own.
public func withTimeout<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let slot = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let finish: @Sendable (Result<T, any Error>) -> Void = { result in
        slot.withLock { continuation in
            continuation?.resume(with: result)
            continuation = nil
        }
    }
    return try await withCheckedThrowingContinuation { continuation in
        slot.withLock { $0 = continuation }
        let timer = Task {
            try await Task.sleep(for: limit)
            finish(.failure(TimeoutError(limit: limit)))
        }
        Task {
            defer { timer.cancel() }
            do { finish(.success(try await work())) } catch { finish(.failure(error)) }
        }
    }
}
