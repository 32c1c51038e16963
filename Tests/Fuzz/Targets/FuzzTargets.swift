@_spi(Fuzzing) import StrataApp
import StrataCore
@_spi(Fuzzing) import StrataHTTP
@_spi(Fuzzing) import StrataIO
import StrataProtocol
@_spi(Fuzzing) import StrataRPC
import StrataSQL
import StrataTemplates
@_spi(Fuzzing) import StrataWeb

#if canImport(Glibc)
    import Glibc
#endif

/// The fuzz targets, one per parser that reads untrusted input. The target
/// is chosen by `STRATA_FUZZ_TARGET` (`http`, `rpc`, `codec`, `template`, `migration`, `input`, `gzip`, `tls`, `upstream`, `fastcgi`,
/// `xml`, `accept`).
enum FuzzTarget: String, CaseIterable {
    case http, rpc, codec, template, migration, input, gzip, tls, upstream, fastcgi, xml, accept

    static var selected: FuzzTarget {
        let name = getenv("STRATA_FUZZ_TARGET").map { String(cString: $0) } ?? "http"
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("STRATA_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))")
        }
        return target
    }

    func run(_ bytes: [UInt8]) {
        switch self {
        case .http: fuzzHTTP(bytes)
        case .gzip: CompressionFuzzing.gzip(bytes)
        case .rpc: _ = FrameFuzzing.decodeAll(bytes)
        case .codec: fuzzCodec(bytes)
        case .template: fuzzTemplate(bytes)
        case .migration: fuzzMigration(bytes)
        case .input: fuzzInput(bytes)
        case .tls: fuzzTLS(bytes)
        case .upstream: GatewayFuzzing.upstreamResponse(bytes)
        case .fastcgi: GatewayFuzzing.fastCGI(bytes)
        case .xml: APIFuzzing.xmlBody(bytes)
        case .accept: APIFuzzing.accept(bytes)
        }
    }
}

/// A TLS server connection's record path: garbage, truncated and
/// out-of-order records and alerts must end the connection, never trap or
/// hang, and never yield plaintext without a finished handshake (which the
/// fuzzer cannot complete: the client's Finished needs the server's keys).
func fuzzTLS(_ bytes: [UInt8]) {
    let plaintext = TLSFuzzing.serve(bytes).plaintext
    precondition(plaintext == 0, "a TLS connection yielded \(plaintext) plaintext bytes without a handshake")
}

/// Module input: the bytes as a form body (percent-decoding, then typed
/// fields with validation) and as a JSON API body; must never trap.
func fuzzInput(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let pairs = (try? FormDecoding.decode(text)) ?? []
    InputFuzzing.decode(fields: Dictionary(pairs, uniquingKeysWith: { first, _ in first }), json: bytes)
}

/// The binary body decoder: must never trap, and whatever it accepts must
/// re-encode to bytes that decode to the same value.
func fuzzCodec(_ bytes: [UInt8]) {
    // Template data, statements and query results take the streaming path (`TaggedValueDecodable`).
    _ = try? BinaryDecoder().decode(SQLStatement.self, from: bytes)
    _ = try? BinaryDecoder().decode(QueryResult.self, from: bytes)
    _ = try? BinaryDecoder().decode(TemplateValue.self, from: bytes)
    guard let value = try? BinaryDecoder().decode(AnyValue.self, from: bytes) else { return }
    guard let encoded = try? BinaryEncoder().encode(value) else { preconditionFailure("decoded value does not encode") }
    guard let again = try? BinaryDecoder().decode(AnyValue.self, from: encoded),
        let reencoded = try? BinaryEncoder().encode(again), reencoded == encoded
    else { preconditionFailure("binary round trip changed the value") }
}

/// Any value the binary format can carry, decoded without knowing its shape.
indirect enum AnyValue: Codable {
    case null, bool(Bool), int(Int64), uint(UInt64), double(Double), string(String), bytes([UInt8])
    case array([AnyValue]), map([String: AnyValue])

    init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: Key.self) {
            var members: [String: AnyValue] = [:]
            for key in container.allKeys { members[key.stringValue] = try container.decode(AnyValue.self, forKey: key) }
            self = .map(members)
        } else if var container = try? decoder.unkeyedContainer() {
            var items: [AnyValue] = []
            while !container.isAtEnd { items.append(try container.decode(AnyValue.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let v = try? single.decode(Bool.self) {
                self = .bool(v)
            } else if let v = try? single.decode(Int64.self) {
                self = .int(v)
            } else if let v = try? single.decode(UInt64.self) {
                self = .uint(v)
            } else if let v = try? single.decode(Double.self) {
                self = .double(v)
            } else if let v = try? single.decode([UInt8].self) {
                self = .bytes(v)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .int(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .uint(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .double(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .string(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .bytes(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .array(let items): var c = encoder.unkeyedContainer(); for item in items { try c.encode(item) }
        case .map(let members):
            var c = encoder.container(keyedBy: Key.self)
            for (key, value) in members.sorted(by: { $0.key < $1.key }) { try c.encode(value, forKey: Key(stringValue: key)) }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// The HTTP request parser: must never trap or loop, and must give the same
/// answer whether the bytes arrive at once or split in two, and whether
/// bodies are read whole or streamed as they arrive.
func fuzzHTTP(_ bytes: [UInt8]) {
    let whole = parseAll([bytes])
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % bytes.count
    let split = parseAll([Array(bytes[..<cut]), Array(bytes[cut...])])
    precondition(whole == split, "split input parsed differently")
    let streamed = parseAll([Array(bytes[..<cut]), Array(bytes[cut...])], streaming: true)
    precondition(whole == streamed, "streamed bodies parsed differently")
}

private func parseAll(_ chunks: [[UInt8]], streaming: Bool = false) -> [String] {
    var limits = HTTPLimits()
    limits.maxBodySize = 4096
    limits.maxHeadSize = 2048
    limits.maxRequestLineLength = 1024
    if streaming { limits.streamsBody = { _ in true } }
    var parser = RequestParser(limits: limits)
    var buffer = ByteBuffer()
    final class Seen {
        var entries: [(text: String, bodyBytes: Int, complete: Bool)] = []
    }
    let seen = Seen()
    func result() -> [String] {
        // Only requests whose bodies completed count, as when bodies are read whole.
        seen.entries.filter(\.complete).map { $0.text.replacingOccurrences(of: "#", with: String($0.bodyBytes)) }
    }
    for chunk in chunks {
        buffer.write(chunk)
        do {
            while true {
                if parser.streamingBody != nil {
                    try parser.pumpBody(from: &buffer)
                    if parser.streamingBody != nil { break }
                    continue
                }
                guard let request = try parser.next(from: &buffer) else { break }
                CompressionFuzzing.headerValues(request)
                let index = seen.entries.count
                guard let body = request.bodyStream else {
                    seen.entries.append(("\(request.method) \(request.target) #", request.body.count, true))
                    continue
                }
                seen.entries.append(("\(request.method) \(request.target) #", 0, false))
                body.read { event in
                    switch event {
                    case .bytes(let piece): seen.entries[index].bodyBytes += piece.count
                    case .end: seen.entries[index].complete = true
                    case .failed: break
                    }
                }
                precondition(seen.entries.count < 10_000, "parser loops")
            }
        } catch {
            return result() + ["error \(error.status.code)"]
        }
    }
    return result()
}

/// Templates: compiling and rendering either work or throw a TemplateError
/// with a position; the source is also used as a partial of itself.
func fuzzTemplate(_ bytes: [UInt8]) {
    let source = String(decoding: bytes, as: UTF8.self)
    guard let library = try? TemplateLibrary(sources: ["main": source, "p": source, "layout": "{{$b}}x{{/b}}"]) else { return }
    let data = TemplateValue.object([
        "a": .array([.object(["b": .string("<x>")]), .int(1)]), "b": .bool(true), "name": .string("p"),
        "s": .string("{{a}}"), "n": .null,
    ])
    _ = try? library.render("main", data)
}

#if STRATA_LIBFUZZER
    @_silgen_name("LLVMFuzzerRunDriver")
    private func runDriver(
        _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// SwiftPM links an executable's entry point as `<Target>_main`; hand control to libFuzzer from there.
    @_cdecl("StrataFuzz_main")
    func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        _ = FuzzTarget.selected
        var count = argc
        var values = argv
        return runDriver(&count, &values) { data, size in
            FuzzTarget.selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
    }
#else
    /// Without libFuzzer: replay the corpus folders given as arguments, then run
    /// random mutations of them for `--seconds`.
    @main
    struct FuzzMain {
        static func main() throws {
            let target = FuzzTarget.selected
            try MutationFuzzer.run(arguments: CommandLine.arguments) { target.run($0) }
        }
    }
#endif

/// A migration file as parser and linter read it, versioned and repeatable:
/// any text must parse or be refused with an error, and lint must end.
func fuzzMigration(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    for file in ["0001_fuzz.sql", "R_fuzz.sql"] {
        if let migration = try? Migration(file: file, contents: text) { _ = MigrationLint.findings(in: [migration]) }
    }
}
