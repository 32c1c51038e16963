import Synchronization

/// A count that only goes up, safe to bump from any thread without a lock.
public final class Counter: Sendable {
    private let count = Atomic<UInt64>(0)

    /// A counter at zero.
    public init() {}

    /// Adds `amount`.
    public func increment(by amount: UInt64 = 1) { count.wrappingAdd(amount, ordering: .relaxed) }

    /// The count now.
    public var value: UInt64 { count.load(ordering: .relaxed) }
}
