import Foundation
import StrataCore
import StrataData
import StrataIO
import StrataProtocol
import StrataRPC
import StrataSQL
import StrataTestSupport
import Synchronization

// Data-tier benchmark: single-row select by primary key and single-row
// update, through the data tier's RPC from one client and in-process (no RPC),
// at 1 and 64 in flight, on SQLite and on a throwaway PostgreSQL server.
//
//   swift run -c release StrataDataBench [SECONDS]
//   STRATA_DATA_ROUNDS=N (default 3): runs per case, interleaved; the median is printed.
//
// Run by Tests/Benchmarks/data-bench.sh; prints a Markdown table.
#if canImport(Glibc)
    import Glibc
#endif

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 4
// This machine's throughput swings ±20 % from one run to the next: each case
// runs this many times, interleaved with the others, and the median counts.
let rounds = max(1, getenv("STRATA_DATA_ROUNDS").flatMap { Int(String(cString: $0)) } ?? 3)
let rows = 10_000
let secret = Digest.randomBytes(32)
let loops = EventLoopGroup(loopCount: 2)

final class Samples: Sendable {
    private let all = Mutex<[Int64]>([])
    let failures = Atomic<Int>(0)
    func add(_ batch: [Int64]) { all.withLock { $0.append(contentsOf: batch) } }
    func sorted() -> [Int64] { all.withLock { $0.sorted() } }
}

/// One run of a case: ops/s, p50 and p99 in µs, errors.
typealias Run = (rate: Double, p50: Double, p99: Double, errors: Int)

/// Runs `operation` from `inFlight` tasks for `seconds`.
func measure(inFlight: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async -> Run {
    let samples = Samples()
    let start = ContinuousClock.now
    let end = start + .seconds(seconds)
    await withTaskGroup(of: Void.self) { workers in
        for worker in 0..<inFlight {
            // Callers run on the loops, as the app tier's handlers do.
            workers.addTask(executorPreference: loops.loops[worker % loops.loops.count]) {
                var latencies: [Int64] = []
                var i = worker
                while ContinuousClock.now < end {
                    let sent = ContinuousClock.now
                    do { try await operation(i) } catch { samples.failures.wrappingAdd(1, ordering: .relaxed) }
                    let elapsed = ContinuousClock.now - sent
                    latencies.append(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                    i += 7919
                }
                samples.add(latencies)
            }
        }
    }
    let elapsed = ContinuousClock.now - start
    let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let sorted = samples.sorted()
    func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000 }
    return (Double(sorted.count) / total, percentile(0.5), percentile(0.99), samples.failures.load(ordering: .relaxed))
}

/// A value no row holds yet. SQLite skips writing a page whose bytes an UPDATE
/// leaves unchanged, and a commit with no page written needs no fsync: a case
/// that wrote the values an earlier case had already written would measure
/// commits that never touch the disk.
let written = Atomic<Int64>(1_000_000)
@Sendable func fresh() -> SQLValue { .int(written.wrappingAdd(1, ordering: .relaxed).newValue) }

func bench(_ label: String, _ database: any SQLDatabase) async throws {
    _ = try await database.run("DROP TABLE IF EXISTS world", [])
    _ = try await database.run("CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL)", [])
    // A recursive CTE both engines understand (SQLite has no generate_series).
    _ = try await database.run(
        "INSERT INTO world WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < \(rows)) SELECT i, i * 7 % 10000 FROM s", [])
    let address: SocketAddress =
        getenv("STRATA_RPC_UNIX") != nil ? .unix(path: folder.appendingPathComponent("\(label).sock").path) : .tcp(host: "127.0.0.1", port: 0)
    var configuration = RPCServerConfiguration(address: address, secret: secret)
    if getenv("STRATA_RPC_HANDLERS").map({ String(cString: $0) }) == "global" { configuration.handlerExecutor = .global }
    let server = RPCServer(
        configuration: configuration,
        service: DataService.make(database: database, logger: Logger(label: "data", level: .error)), group: loops,
        logger: Logger(label: "data", level: .error))
    // One connection per loop, as the app tier opens by default.
    let client = RPCClient(
        addresses: [try server.start()], group: loops, callerName: "bench", secret: secret,
        connectionsPerEndpoint: loops.loops.count)
    defer { client.close(); server.stop() }
    let select = "SELECT id, randomnumber FROM world WHERE id = $1"
    let update = "UPDATE world SET randomnumber = $2 WHERE id = $1"
    for inFlight in [1, 64] {
        let cases: [(String, @Sendable (Int) async throws -> Void)] = [
            (
                "PK select via RPC",
                { i in let _: QueryResult = try await client.call(DataMethod.query, SQLStatement(select, [.int(Int64(i % rows + 1))])) }
            ),
            ("PK select in-process", { i in _ = try await database.query(select, [.int(Int64(i % rows + 1))]) }),
            (
                "update via RPC",
                { i in let _: ExecuteResult = try await client.call(DataMethod.execute, SQLStatement(update, [.int(Int64(i % rows + 1)), fresh()])) }
            ),
            ("update in-process", { i in _ = try await database.run(update, [.int(Int64(i % rows + 1)), fresh()]) }),
            // The baseline group commit is measured against: each update its own transaction and fsync.
            (
                "update in-process, one commit each",
                { i in
                    guard let sqlite = database as? SQLiteDatabase else { return }
                    _ = try await sqlite.withConnection { try $0.run(update, [.int(Int64(i % rows + 1)), fresh()]) }
                }
            ),
            (
                "batch of 10 updates via RPC",
                { i in
                    let statements = (0..<10).map { k in SQLStatement(update, [.int(Int64((i * 10 + k) % rows + 1)), fresh()]) }
                    let _: [ExecuteResult] = try await client.call(DataMethod.batch, SQLBatch(statements))
                }
            ),
            (
                "batch of 10 updates in-process",
                { i in
                    _ = try await database.batch(
                        (0..<10).map { k in SQLStatement(update, [.int(Int64((i * 10 + k) % rows + 1)), fresh()]) },
                        isolation: .serializable)
                }
            ),
            (
                "10 updates one by one in a transaction, in-process",
                { i in
                    let transaction = try await database.begin(isolation: .serializable)
                    do {
                        for k in 0..<10 { _ = try await transaction.run(update, [.int(Int64((i * 10 + k) % rows + 1)), fresh()]) }
                        try await transaction.commit()
                    } catch {
                        await transaction.rollback()
                        throw error
                    }
                }
            ),
        ]
        // STRATA_DATA_CASE=a,b runs only the cases whose "name engine in-flight" contains a or b (for profiling).
        let only = getenv("STRATA_DATA_CASE").map { String(cString: $0).split(separator: ",") }
        let selected = cases.filter { name, _ in
            (label == "sqlite" || !name.hasSuffix("one commit each"))
                && (only.map { $0.contains { "\(name) \(label) \(inFlight)".contains($0) } } ?? true)
        }
        var runs: [[Run]] = Array(repeating: [], count: selected.count)
        for _ in 0..<rounds {
            for (index, (_, operation)) in selected.enumerated() { runs[index].append(await measure(inFlight: inFlight, operation)) }
        }
        for (index, (name, _)) in selected.enumerated() {
            let median = runs[index].sorted { $0.rate < $1.rate }[runs[index].count / 2]
            let errors = runs[index].reduce(0) { $0 + $1.errors }
            medians["\(name) \(label) \(inFlight)"] = median.rate
            print(
                "| \(name) | \(label) | \(inFlight) | \(Int(median.rate)) | \(String(format: "%.0f", median.p50)) µs | \(String(format: "%.0f", median.p99)) µs | \(errors) |"
            )
        }
    }
}

/// Median ops/s by "case engine in-flight", for the summary lines.
nonisolated(unsafe) var medians: [String: Double] = [:]

print("| operation | engine | in flight | ops/s | p50 | p99 | errors |")
print("|---|---|---|---|---|---|---|")
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-data-bench-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
// STRATA_SQLITE_READERS overrides the number of read-only connections (to compare).
let readers = getenv("STRATA_SQLITE_READERS").flatMap { Int(String(cString: $0)) }
let sqlite =
    try readers.map { try SQLiteDatabase(path: folder.appendingPathComponent("bench.db").path, readers: $0) }
    ?? SQLiteDatabase(path: folder.appendingPathComponent("bench.db").path)
try await bench("sqlite", sqlite)
if let postgres = try? PostgresServer() {
    defer { postgres.stop() }
    // STRATA_PG_POOL overrides the pool size (to compare; `strata-data serve --pool` defaults to 10).
    let pool = getenv("STRATA_PG_POOL").flatMap { Int(String(cString: $0)) } ?? 16
    try await bench("postgres", PostgresDatabase(url: postgres.url, group: loops, maxConnections: pool))
} else {
    print("(PostgreSQL not available: rows skipped)")
}
print("")
print(
    "Medians of \(rounds) interleaved runs of \(seconds) s each. The boundary's cost at 64 in flight (PK select through RPC as a share of in-process):"
)
for engine in ["sqlite", "postgres"] {
    if let rpc = medians["PK select via RPC \(engine) 64"], let local = medians["PK select in-process \(engine) 64"], local > 0 {
        print("- \(engine): \(Int(rpc)) / \(Int(local)) = \(String(format: "%.1f", 100 * rpc / local)) %")
    }
}
if let rpc = medians["update via RPC sqlite 64"], let alone = medians["update in-process, one commit each sqlite 64"], alone > 0 {
    print(
        "- sqlite update at 64 in flight through RPC against in-process one commit each: \(Int(rpc)) / \(Int(alone)) = \(String(format: "%.1f", 100 * rpc / alone)) %"
    )
}
