import Foundation
import StrataCore
import StrataRPC
import XCTest

final class BinaryCodecTests: XCTestCase {
    struct Address: Codable, Equatable {
        var street: String
        var zip: String?
    }

    enum Role: String, Codable { case admin, member }

    class Base: Codable {
        var id = 7
    }

    struct Profile: Codable, Equatable {
        var name: String
        var age: Int
        var score: Double
        var active: Bool
        var nickname: String?
        var role: Role
        var tags: [String]
        var addresses: [Address]
        var limits: [String: Int]
        var avatar: [UInt8]
        var blob: Data
        var joined: Date
        var small: Int8
        var big: UInt64
        var ratio: Float
        var matrix: [[Int]]
    }

    private func sample() -> Profile {
        Profile(
            name: "Zoë <script>", age: -42, score: 3.25, active: true, nickname: nil, role: .admin,
            tags: ["a", "", "ü"], addresses: [Address(street: "Main", zip: "123"), Address(street: "Side", zip: nil)],
            limits: ["reads": 10, "writes": -1], avatar: [0, 1, 255], blob: Data([9, 8]),
            joined: Date(timeIntervalSince1970: 1_700_000_000.123456), small: -128, big: .max, ratio: 0.5,
            matrix: [[1, 2], [], [3]])
    }

    func testRoundTripsEveryKindOfValue() throws {
        let value = sample()
        let bytes = try BinaryEncoder().encode(value)
        let decoded = try BinaryDecoder().decode(Profile.self, from: bytes)
        XCTAssertEqual(decoded.joined.timeIntervalSince1970, value.joined.timeIntervalSince1970, accuracy: 0.000_001)
        var expected = value
        expected.joined = decoded.joined
        XCTAssertEqual(decoded, expected)
        // Smaller than the JSON of the same value.
        XCTAssertLessThan(bytes.count, try JSONEncoder().encode(value).count)
    }

    func testWireBytesMatchTheDocumentedExample() throws {
        // ARCHITECTURE.md, "Binary body encoding": {"id": 300, "name": "ok", "tags": [true, null]}.
        struct Example: Encodable {
            var id = 300
            var name = "ok"
            var tags: [Bool?] = [true, nil]
        }
        let bytes = try BinaryEncoder().encode(Example())
        XCTAssertEqual(
            bytes,
            [
                0x09, 0x03,
                0x02, 0x69, 0x64, 0x03, 0xD8, 0x04,
                0x04, 0x6E, 0x61, 0x6D, 0x65, 0x06, 0x02, 0x6F, 0x6B,
                0x04, 0x74, 0x61, 0x67, 0x73, 0x08, 0x02, 0x02, 0x00,
            ])
    }

    func testIntegerEdgesAndZigzag() throws {
        for value in [0, 1, -1, 63, -64, 64, Int.max, Int.min] {
            XCTAssertEqual(try BinaryDecoder().decode(Int.self, from: BinaryEncoder().encode(value)), value)
        }
        XCTAssertEqual(try BinaryEncoder().encode(-1), [0x03, 0x01])
        XCTAssertEqual(try BinaryEncoder().encode(UInt64.max), [0x04] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        // A number that does not fit the requested type is an error, not a truncation.
        XCTAssertThrowsError(try BinaryDecoder().decode(UInt8.self, from: BinaryEncoder().encode(300)))
        XCTAssertThrowsError(try BinaryDecoder().decode(Int.self, from: BinaryEncoder().encode(UInt64.max)))
        // Whole numbers are accepted as doubles.
        XCTAssertEqual(try BinaryDecoder().decode(Double.self, from: BinaryEncoder().encode(5)), 5)
    }

    func testOptionalsAndSuperclassFields() throws {
        struct Maybe: Codable, Equatable { var a: Int?; var b: String? }
        let bytes = try BinaryEncoder().encode(Maybe(a: nil, b: "x"))
        XCTAssertEqual(try BinaryDecoder().decode(Maybe.self, from: bytes), Maybe(a: nil, b: "x"))
        // An explicit null and an absent key both read as nil.
        XCTAssertEqual(try BinaryDecoder().decode(Maybe.self, from: [0x09, 0x01, 0x01, 0x61, 0x00]), Maybe(a: nil, b: nil))

        final class Derived: Base {
            var extra = "e"
            enum Keys: CodingKey { case extra }
            override init() { super.init() }
            required init(from decoder: any Decoder) throws {
                extra = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .extra)
                try super.init(from: decoder.container(keyedBy: Keys.self).superDecoder())
            }
            override func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(extra, forKey: .extra)
                try super.encode(to: container.superEncoder())
            }
        }
        let derived = Derived()
        derived.id = 99
        derived.extra = "more"
        let decoded = try BinaryDecoder().decode(Derived.self, from: BinaryEncoder().encode(derived))
        XCTAssertEqual(decoded.id, 99)
        XCTAssertEqual(decoded.extra, "more")
    }

    func testMismatchesNameTheField() throws {
        struct Wanted: Decodable { var address: Address }
        struct Sent: Encodable { var address = ["street": 5] }
        let bytes = try BinaryEncoder().encode(Sent())
        XCTAssertThrowsError(try RPCCodec.decode(Wanted.self, from: bytes)) { error in
            XCTAssertEqual((error as? RPCError)?.code, .invalidArgument)
            XCTAssertEqual((error as? RPCError)?.message, "wrong type for field 'address.street'")
        }
        struct Other: Encodable { var unrelated = 1 }
        XCTAssertThrowsError(try RPCCodec.decode(Wanted.self, from: BinaryEncoder().encode(Other()))) { error in
            XCTAssertEqual((error as? RPCError)?.message, "missing field 'address'")
        }
    }

    func testMalformedBytesAreRefusedWithTheOffset() {
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("unknown tag", [0x7F]),
            ("truncated number", [0x03, 0x80]),
            ("number longer than 64 bits", [0x04] + [UInt8](repeating: 0xFF, count: 10) + [0x01]),
            ("string past the end", [0x06, 0x05, 0x61]),
            ("truncated float", [0x05, 0x00, 0x00]),
            ("array count past the end", [0x08, 0x7F, 0x00]),
            ("map count past the end", [0x09, 0x40, 0x01, 0x61, 0x00]),
            ("key past the end", [0x09, 0x01, 0x09, 0x61]),
            ("missing map value", [0x09, 0x01, 0x01, 0x61]),
            ("trailing bytes", [0x00, 0x00]),
            ("too deep", Array(repeating: [0x08, 0x01] as [UInt8], count: 70).flatMap { $0 } + [0x00]),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try BinaryDecoder().decode(AnyDecodable.self, from: bytes), name) { error in
                guard case DecodingError.dataCorrupted(let context) = error else {
                    return XCTFail("\(name): \(error)")
                }
                XCTAssertTrue(context.debugDescription.hasPrefix("malformed binary body at byte"), "\(name): \(context.debugDescription)")
            }
        }
    }

    func testInvalidUTF8IsRefused() {
        XCTAssertThrowsError(try BinaryDecoder().decode(String.self, from: [0x06, 0x02, 0xC3, 0x28])) { error in
            XCTAssertTrue("\(error)".contains("not valid UTF-8"), "\(error)")
        }
    }

    func testRandomMutationsNeverTrap() throws {
        var generator = SystemRandomNumberGenerator()
        let valid = try BinaryEncoder().encode(sample())
        for _ in 0..<2_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator)) }
            _ = try? BinaryDecoder().decode(Profile.self, from: bytes)
            _ = try? BinaryDecoder().decode(AnyDecodable.self, from: bytes)
        }
    }
}

extension BinaryCodecTests {
    /// A type that reads more than the value holds, or a key where a value
    /// is, gets an error, never a read out of bounds.
    func testAStreamedTypeThatMisreadsGetsAnErrorNotATrap() throws {
        struct Greedy: TaggedValueDecodable {
            init(reading reader: inout some TaggedValueReader) throws {
                for _ in 0..<10 { _ = try reader.read() }
            }
            init(from decoder: any Decoder) throws { fatalError("the binary decoder streams") }
        }
        struct KeyHunter: TaggedValueDecodable {
            init(reading reader: inout some TaggedValueReader) throws {
                for _ in 0..<10 { _ = try reader.readKey() }
            }
            init(from decoder: any Decoder) throws { fatalError("the binary decoder streams") }
        }
        for body in [try BinaryEncoder().encode([1, 2]), try BinaryEncoder().encode(["a": "b"]), try BinaryEncoder().encode("text"), [0x00]] {
            XCTAssertThrowsError(try BinaryDecoder().decode(Greedy.self, from: body))
            XCTAssertThrowsError(try BinaryDecoder().decode(KeyHunter.self, from: body))
        }
    }
}

/// Decodes anything, to reach the structural checks whatever the bytes are.
private struct AnyDecodable: Decodable {
    init(from decoder: any Decoder) throws {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        if let container = try? decoder.container(keyedBy: Key.self) {
            for key in container.allKeys { _ = try container.decode(AnyDecodable.self, forKey: key) }
        } else if var container = try? decoder.unkeyedContainer() {
            while !container.isAtEnd { _ = try container.decode(AnyDecodable.self) }
        } else {
            _ = try decoder.singleValueContainer().decodeNil()
        }
    }
}
