import StrataCore
import StrataHTTP

/// Feeds one input to the HTTP request parser, whole and split in two, and
/// checks that both agree: the parser must never trap, loop, or depend on how
/// the bytes were split across reads.
func fuzzOneInput(_ bytes: [UInt8]) {
    let whole = parseAll([bytes])
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % bytes.count
    let split = parseAll([Array(bytes[..<cut]), Array(bytes[cut...])])
    precondition(whole == split, "split input parsed differently")
}

private func parseAll(_ chunks: [[UInt8]]) -> [String] {
    var limits = HTTPLimits()
    limits.maxBodySize = 4096
    limits.maxHeadSize = 2048
    limits.maxRequestLineLength = 1024
    var parser = RequestParser(limits: limits)
    var buffer = ByteBuffer()
    var seen: [String] = []
    for chunk in chunks {
        buffer.write(chunk)
        do {
            while let request = try parser.next(from: &buffer) {
                seen.append("\(request.method) \(request.target) \(request.body.count)")
                precondition(seen.count < 10_000, "parser loops")
            }
        } catch {
            seen.append("error \(error.status.code)")
            return seen
        }
    }
    return seen
}

#if STRATA_LIBFUZZER
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point as `<Target>_main`; hand control to libFuzzer from there.
@_cdecl("FuzzHTTPParser_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var values = argv
    return runDriver(&count, &values) { data, size in
        fuzzOneInput(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}
#else
/// Without libFuzzer: replay the corpus files given as arguments, then run
/// seeded random mutations of them for the given number of seconds.
@main
struct FuzzMain {
    static func main() throws {
        try MutationFuzzer.run(arguments: CommandLine.arguments, target: fuzzOneInput)
    }
}
#endif
