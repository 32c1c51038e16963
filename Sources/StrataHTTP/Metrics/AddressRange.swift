#if canImport(Glibc)
    import Glibc
#endif

/// An IP address or a CIDR range of them (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    private let network: [UInt8]
    private let prefixLength: Int
    public let description: String

    /// Parses `text`; throws naming what is wrong.
    public init(parsing text: String) throws(AddressRangeError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = Self.bytes(String(parts[0])) else {
            throw AddressRangeError(text: text, reason: "not an IP address or CIDR range")
        }
        let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let length, (0...(bytes.count * 8)).contains(length) else {
            throw AddressRangeError(text: text, reason: "the prefix length must be 0 to \(bytes.count * 8)")
        }
        network = bytes
        prefixLength = length
        description = text
    }

    /// Whether `host` (an address without port) lies in this range.
    public func contains(_ host: String) -> Bool {
        guard var address = Self.bytes(host) else { return false }
        // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        if network.count == 4, address.count == 16, address[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
            address = Array(address[12...])
        }
        guard address.count == network.count else { return false }
        var remaining = prefixLength
        for index in network.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if address[index] & mask != network[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// 127.0.0.0/8 and ::1: the host itself.
    public static let loopback: [AddressRange] = [try! AddressRange(parsing: "127.0.0.0/8"), try! AddressRange(parsing: "::1")]

    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

/// An address list entry that could not be read.
public struct AddressRangeError: Error, CustomStringConvertible, Sendable {
    /// The entry as given.
    public let text: String
    /// What is wrong with it.
    public let reason: String

    public var description: String { "'\(text)': \(reason)" }
}
