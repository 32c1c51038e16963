import StrataCore
import StrataIO
import StrataRPC
import Synchronization

// RPC benchmark: an echo method with a 100-byte body over loopback TCP, the
// server and client in this process on event loops of their own.
//
//   swift run -c release StrataRPCBench [SECONDS]
//
// Prints one Markdown row per scenario: connections, calls in flight per
// connection, calls/s, p50 and p99 latency. Run by Tests/Benchmarks/rpc-bench.sh.
#if canImport(Glibc)
    import Glibc
#endif

struct Payload: Codable, Sendable {
    var data: [UInt8]
}

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 5
/// `STRATA_RPC_HANDLERS=global` runs the server's handlers on the global pool instead of its loop;
/// `STRATA_RPC_CALLERS=global` runs the calling tasks on the global pool instead of the client's
/// loop (the tiers call from handlers running on their loops, as the default here does).
let handlersOnLoop = getenv("STRATA_RPC_HANDLERS").map { String(cString: $0) } != "global"
let callersOnLoop = getenv("STRATA_RPC_CALLERS").map { String(cString: $0) } != "global"
/// `STRATA_RPC_TLS=1` runs every connection over mutual TLS, as the tiers do with `STRATA_RPC_TLS_*` set.
let tls: RPCTLS? = try {
    guard getenv("STRATA_RPC_TLS").map({ String(cString: $0) }) == "1" else { return nil }
    let folder = "/tmp/strata-rpc-bench-tls-\(getpid())"
    mkdir(folder, 0o700)
    try TLSCertificate.create(certificate: folder + "/ca.crt", key: folder + "/ca.key", names: ["bench CA"], days: 1, isAuthority: true)
    try TLSCertificate.create(
        certificate: folder + "/tier.crt", key: folder + "/tier.key", names: ["127.0.0.1"], days: 1,
        signedBy: (certificate: folder + "/ca.crt", key: folder + "/ca.key"))
    return try RPCTLS.load(from: [
        RPCTLS.certificateVariable: folder + "/tier.crt", RPCTLS.keyVariable: folder + "/tier.key", RPCTLS.authorityVariable: folder + "/ca.crt",
    ])
}()
let secret = Digest.randomBytes(32)
let serverLoops = EventLoopGroup(loopCount: 1)
let clientLoops = EventLoopGroup(loopCount: 1)

var service = RPCService()
service.register("echo") { (input: Payload, _) -> Payload in input }
var configuration = RPCServerConfiguration(address: .tcp(host: "127.0.0.1", port: 0), secret: secret)
configuration.handlerExecutor = handlersOnLoop ? .loop : .global
configuration.tls = tls?.server
let server = RPCServer(
    configuration: configuration,
    service: service, group: serverLoops, logger: Logger(label: "bench", level: .error))
let address = try server.start()
let body = Payload(data: Array(repeating: 0x61, count: 100))

/// Latencies in nanoseconds, collected by all workers of a run.
final class Samples: Sendable {
    private let all = Mutex<[Int64]>([])
    let failures = Atomic<Int>(0)
    func add(_ batch: [Int64]) { all.withLock { $0.append(contentsOf: batch) } }
    func sorted() -> [Int64] { all.withLock { $0.sorted() } }
}

func run(connections: Int, inFlight: Int) async -> (callsPerSecond: Double, p50: Int64, p99: Int64, errors: Int) {
    let clients = (0..<connections).map { _ in
        RPCClient(address: address, group: clientLoops, callerName: "bench", secret: secret, tls: tls)
    }
    // Warm up: open and authenticate every connection.
    for client in clients { _ = try? await client.call("echo", body, as: Payload.self) }
    let samples = Samples()
    let start = ContinuousClock.now
    let end = start + .seconds(seconds)
    await withTaskGroup(of: Void.self) { workers in
        for client in clients {
            for _ in 0..<inFlight {
                workers.addTask(executorPreference: callersOnLoop ? clientLoops.loops[0] : nil) {
                    var latencies: [Int64] = []
                    latencies.reserveCapacity(1 << 16)
                    while ContinuousClock.now < end {
                        let sent = ContinuousClock.now
                        do {
                            _ = try await client.call("echo", body, as: Payload.self)
                        } catch {
                            samples.failures.wrappingAdd(1, ordering: .relaxed)
                        }
                        let elapsed = ContinuousClock.now - sent
                        latencies.append(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                    }
                    samples.add(latencies)
                }
            }
        }
    }
    let elapsed = ContinuousClock.now - start
    let sorted = samples.sorted()
    for client in clients { client.close() }
    let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    func percentile(_ p: Double) -> Int64 { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    return (Double(sorted.count) / total, percentile(0.5), percentile(0.99), samples.failures.load(ordering: .relaxed))
}

func microseconds(_ nanos: Int64) -> String {
    nanos < 10_000 ? "\(Double(nanos / 100) / 10) µs" : "\(nanos / 1000) µs"
}

print("| connections | in flight each | calls/s | p50 | p99 | errors |")
print("|---|---|---|---|---|---|")
/// `STRATA_RPC_SCENARIO=1x64` runs one scenario only (for profiling).
let only = getenv("STRATA_RPC_SCENARIO").map { String(cString: $0) }
for (connections, inFlight) in [(1, 1), (1, 64), (8, 64)] where only == nil || only == "\(connections)x\(inFlight)" {
    let result = await run(connections: connections, inFlight: inFlight)
    print(
        "| \(connections) | \(inFlight) | \(Int(result.callsPerSecond)) | \(microseconds(result.p50)) | \(microseconds(result.p99)) | \(result.errors) |"
    )
}
server.stop()
