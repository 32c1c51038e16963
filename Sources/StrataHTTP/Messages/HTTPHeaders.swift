/// Header fields in arrival order, looked up case-insensitively.
public struct HTTPHeaders: Sendable, Sequence {
    private var fields: [(name: String, value: String)] = []

    /// Room reserved up front: a response gathers a dozen fields on its way
    /// through the middleware, and growing 1 → 2 → 4 → 8 → 16 cost an
    /// allocation each time.
    static let typicalCount = 16

    /// Creates headers from name/value pairs.
    public init(_ fields: [(String, String)] = []) {
        self.fields.reserveCapacity(Swift.max(fields.count, Self.typicalCount))
        for (name, value) in fields { self.fields.append((name: name, value: value)) }
    }

    /// Creates empty headers with room for `capacity` fields (the parser's one allocation for them).
    init(capacity: Int) {
        fields.reserveCapacity(capacity)
    }

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Appends a field, keeping any existing ones of the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces all fields named `name` with one.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
        fields.append((name: name, value: value))
    }

    /// Whether a `name` field lists `token` among its comma-separated
    /// elements, compared case-insensitively (`Connection: keep-alive, Upgrade`).
    public func containsToken(_ token: String, in name: String) -> Bool {
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
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// The number of fields.
    public var count: Int { fields.count }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        fields.makeIterator()
    }
}
