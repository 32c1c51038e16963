import Foundation

/// A small mutation fuzzer used when libFuzzer is not available:
/// `StrataFuzz [--seconds N] CORPUS_DIR...` (target from `STRATA_FUZZ_TARGET`).
enum MutationFuzzer {
    static func run(arguments: [String], target: ([UInt8]) -> Void) throws {
        var seconds = 10.0
        var folders: [String] = []
        var index = 1
        while index < arguments.count {
            if arguments[index] == "--seconds", index + 1 < arguments.count {
                seconds = Double(arguments[index + 1]) ?? seconds
                index += 2
            } else {
                folders.append(arguments[index])
                index += 1
            }
        }
        var corpus: [[UInt8]] = []
        for folder in folders {
            for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
                if let data = FileManager.default.contents(atPath: folder + "/" + name) { corpus.append(Array(data)) }
            }
        }
        if corpus.isEmpty { corpus = [Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)] }
        for input in corpus { target(input) }
        var generator = SystemRandomNumberGenerator()
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        while Date() < deadline {
            for _ in 0..<1000 {
                var input = corpus.randomElement(using: &generator)!
                for _ in 0...Int.random(in: 0...6, using: &generator) {
                    mutate(&input, &generator, corpus)
                }
                target(input)
                runs += 1
            }
        }
        print("\(runs) inputs, no failures")
    }

    private static let tokens: [[UInt8]] = [
        "\r\n", "\r\n\r\n", ":", " ", "\t", "chunked", "Transfer-Encoding: ", "Content-Length: ",
        "0\r\n\r\n", ";ext=1", "Host: x\r\n", "Expect: 100-continue\r\n", "HTTP/1.0", "%00", "\0", "\r",
    ].map { Array($0.utf8) }

    private static func mutate(_ input: inout [UInt8], _ generator: inout SystemRandomNumberGenerator, _ corpus: [[UInt8]]) {
        let position = input.isEmpty ? 0 : Int.random(in: 0..<input.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0 where !input.isEmpty: input[position] = UInt8.random(in: 0...255, using: &generator)
        case 1: input.insert(contentsOf: tokens.randomElement(using: &generator)!, at: position)
        case 2 where !input.isEmpty: input.removeSubrange(position..<min(input.count, position + Int.random(in: 1...8, using: &generator)))
        case 3 where !input.isEmpty: input.insert(contentsOf: input[position...].prefix(16), at: position)
        case 4: input.append(contentsOf: corpus.randomElement(using: &generator)!)
        default: input.insert(UInt8.random(in: 0...127, using: &generator), at: position)
        }
    }
}
