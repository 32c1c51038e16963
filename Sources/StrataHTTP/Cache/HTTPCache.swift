import StrataIO
import Synchronization

/// The web tier's shared response store: entries by key (each with its
/// `Vary` variants), least recently used evicted first once the bytes held
/// pass `capacity`, and the misses in flight so that simultaneous requests
/// for one key wait for a single upstream request (request coalescing).
///
/// One store for all event loops, behind one lock held only for a lookup
/// or an insert, so every loop sees what another stored and coalescing
/// works across them.
public final class HTTPCache: Sendable {
    /// Most bytes held (bodies and headers).
    public let capacity: Int
    /// Largest single response stored.
    public let maxEntrySize: Int
    private let state: Mutex<State>

    /// Who waits for a miss in flight: called with the stored entry, or nil
    /// when the answer could not be stored (then each waiter asks for itself).
    typealias Waiter = @Sendable (CacheEntry?) -> Void

    private struct State: ~Copyable {
        var store = LRUStore()
        var inFlight: [String: [Waiter]] = [:]
    }

    /// A cache of at most `capacity` bytes, storing responses up to `maxEntrySize`.
    public init(capacity: Int = 64 << 20, maxEntrySize: Int = 1 << 20) {
        self.capacity = capacity
        self.maxEntrySize = maxEntrySize
        state = Mutex(State())
    }

    /// The variant of `key` stored for `request`'s header values, marked as just used.
    func lookup(_ key: String, for request: HTTPRequest) -> CacheEntry? {
        state.withLock { $0.store.get(key)?.first { $0.matches(request) } }
    }

    /// Stores `entry` under `key`, replacing the variant with the same `Vary` values.
    func store(_ entry: CacheEntry, under key: String) {
        guard entry.size <= maxEntrySize else { return }
        state.withLock { $0.store.put(entry, under: key, capacity: capacity) }
    }

    /// Drops every variant of `key`.
    func invalidate(_ key: String) {
        _ = state.withLock { $0.store.remove(key) }
    }

    /// Drops the entries whose key is `key`, or starts with it when it ends
    /// in `*`; returns how many were dropped.
    @discardableResult
    public func purge(_ key: String) -> Int {
        state.withLock { state in
            key.hasSuffix("*") ? state.store.removeAll(prefix: String(key.dropLast())) : (state.store.remove(key) ? 1 : 0)
        }
    }

    /// Starts a miss for `key`: true when the caller is the one to fetch it;
    /// false when a fetch is already running, and `waiter` will be called when it ends.
    func beginFetch(_ key: String, waiter: @escaping Waiter) -> Bool {
        state.withLock { state in
            if state.inFlight[key] != nil {
                state.inFlight[key]!.append(waiter)
                return false
            }
            state.inFlight[key] = []
            return true
        }
    }

    /// Ends the fetch of `key`, storing `entry` if there is one, and wakes its waiters.
    func finishFetch(_ key: String, storing entry: CacheEntry?) {
        let waiters = state.withLock { state in
            if let entry, entry.size <= maxEntrySize { state.store.put(entry, under: key, capacity: capacity) }
            return state.inFlight.removeValue(forKey: key) ?? []
        }
        for waiter in waiters { waiter(entry.flatMap { $0.size <= maxEntrySize ? $0 : nil }) }
    }

    /// Entries and bytes held, for metrics and tests.
    public var usage: (entries: Int, bytes: Int) { state.withLock { ($0.store.count, $0.store.bytes) } }
}

/// Keys in least-recently-used order over an array of slots linked by index
/// (no object per entry): `get` moves a key to the front, `put` evicts from the back.
struct LRUStore: ~Copyable {
    private struct Slot {
        var key: String
        var variants: [CacheEntry]
        var size: Int
        var newer = -1
        var older = -1
    }

    private var slots: [Slot] = []
    private var free: [Int] = []
    private var index: [String: Int] = [:]
    private var newest = -1
    private var oldest = -1
    private(set) var bytes = 0

    var count: Int { index.count }

    mutating func get(_ key: String) -> [CacheEntry]? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].variants
    }

    mutating func put(_ entry: CacheEntry, under key: String, capacity: Int) {
        if let slot = index[key] {
            var variants = slots[slot].variants
            variants.removeAll { old in old.vary.map(\.1) == entry.vary.map(\.1) && old.vary.map(\.0) == entry.vary.map(\.0) }
            variants.append(entry)
            let size = variants.reduce(0) { $0 + $1.size }
            bytes += size - slots[slot].size
            slots[slot].variants = variants
            slots[slot].size = size
            moveToFront(slot)
        } else {
            let slot: Int
            let new = Slot(key: key, variants: [entry], size: entry.size)
            if let reused = free.popLast() {
                slots[reused] = new
                slot = reused
            } else {
                slots.append(new)
                slot = slots.count - 1
            }
            index[key] = slot
            bytes += entry.size
            link(slot)
        }
        while bytes > capacity, oldest >= 0 { _ = remove(slots[oldest].key) }
    }

    @discardableResult
    mutating func remove(_ key: String) -> Bool {
        guard let slot = index.removeValue(forKey: key) else { return false }
        unlink(slot)
        bytes -= slots[slot].size
        slots[slot].variants = []
        slots[slot].size = 0
        free.append(slot)
        return true
    }

    mutating func removeAll(prefix: String) -> Int {
        let keys = index.keys.filter { $0.hasPrefix(prefix) }
        for key in keys { remove(key) }
        return keys.count
    }

    private mutating func moveToFront(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        link(slot)
    }

    private mutating func link(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = -1
        if newest >= 0 { slots[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if newer >= 0 { slots[newer].older = older } else { newest = older }
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
        slots[slot].newer = -1
        slots[slot].older = -1
    }
}
