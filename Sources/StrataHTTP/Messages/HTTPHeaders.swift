/// Header fields in arrival order, looked up case-insensitively.
public struct HTTPHeaders: Sendable, Sequence {
    private var fields: [(name: String, value: String)] = []
    /// One bit per field name, from its length and last letter (see
    /// `nameBit`). Most lookups are for a field that is absent (does the
    /// response set its own `X-Frame-Options`? did the client send
    /// `traceparent`?), and this answers them without comparing a name.
    /// A removed field's bit stays set: a set bit only means "compare".
    private var nameBits: UInt64 = 0

    /// Room reserved up front: a response gathers a dozen fields on its way
    /// through the middleware, and growing 1 → 2 → 4 → 8 → 16 cost an
    /// allocation each time.
    static let typicalCount = 16

    /// Creates headers from name/value pairs.
    public init(_ fields: [(String, String)] = []) {
        self.fields.reserveCapacity(Swift.max(fields.count, Self.typicalCount))
        for (name, value) in fields { add(name, value) }
    }

    /// Creates empty headers with room for `capacity` fields (the parser's one allocation for them).
    init(capacity: Int) {
        fields.reserveCapacity(capacity)
    }

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        firstIndex(of: name).map { fields[$0].value }
    }

    /// Where the first field named `name` is.
    private func firstIndex(of name: String) -> Int? {
        guard mayContain(name) else { return nil }
        for index in fields.indices where fields[index].name.caseInsensitiveEquals(name) { return index }
        return nil
    }

    private func mayContain(_ name: String) -> Bool { nameBits & Self.nameBit(name) != 0 }

    /// The same for a name in any case; names that differ only in length or
    /// last letter (`Content-Type`, `X-Request-ID`) get different bits.
    private static func nameBit(_ name: String) -> UInt64 {
        let last = Int(name.utf8.last ?? 0) | 0x20
        return 1 << UInt64((name.utf8.count &+ last &* 3) & 63)
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        guard mayContain(name) else { return [] }
        return fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
        nameBits |= Self.nameBit(name)
    }

    /// Replaces all fields named `name` with one.
    public mutating func set(_ name: String, _ value: String) {
        // Usually there is none to replace: then nothing is rewritten.
        if firstIndex(of: name) != nil { fields.removeAll { $0.name.caseInsensitiveEquals(name) } }
        add(name, value)
    }

    /// Whether a `name` field lists `token` among its comma-separated
    /// elements, compared case-insensitively (`Connection: keep-alive, Upgrade`).
    public func containsToken(_ token: String, in name: String) -> Bool {
        guard mayContain(name) else { return false }
        for field in fields where field.name.caseInsensitiveEquals(name) {
            var value = field.value
            let found = value.withUTF8 { bytes in
                UnsafeRawBufferPointer(bytes).commaSeparated(omittingEmpty: true).contains { element in
                    String(decoding: element, as: UTF8.self).caseInsensitiveEquals(token)
                }
            }
            if found { return true }
        }
        return false
    }

    /// Whether a field named `name` is present.
    public func contains(_ name: String) -> Bool { firstIndex(of: name) != nil }

    /// The number of fields.
    public var count: Int { fields.count }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        fields.makeIterator()
    }
}
