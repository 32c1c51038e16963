/// The kind of a metric family, as Prometheus declares it in `# TYPE`.
public enum MetricType: String, Sendable {
    /// Only goes up (until the process restarts); names end in `_total`.
    case counter
    /// Goes up and down.
    case gauge
    /// Observations counted into cumulative buckets, with their sum and count.
    case histogram
}

/// Builds a scrape in Prometheus's text exposition format (version 0.0.4).
///
/// Sources add samples in any order; a family's samples come out together
/// under one `# HELP` and `# TYPE`, as the format requires, even when several
/// sources add to the same family.
public struct MetricsWriter: Sendable {
    private struct Family {
        var type: MetricType
        var help: String
        var lines: [String] = []
    }

    private var families: [String: Family] = [:]
    private var order: [String] = []

    /// An empty scrape.
    public init() {}

    /// Adds one sample of family `name`; `name` is the family's name (for a
    /// histogram, use `histogram(...)`).
    public mutating func add(_ name: String, _ type: MetricType, help: String, labels: [(String, String)] = [], value: Double) {
        append(name, type, help, line: Self.line(name, labels, value))
    }

    /// Integer convenience for `add`.
    public mutating func add(_ name: String, _ type: MetricType, help: String, labels: [(String, String)] = [], value: Int) {
        add(name, type, help: help, labels: labels, value: Double(value))
    }

    /// Adds a histogram series: `buckets` are (upper bound, count in that
    /// bucket alone) in increasing order, without the +Inf bucket; `overflow`
    /// counts observations above the last bound.
    public mutating func histogram(
        _ name: String, help: String, labels: [(String, String)] = [], buckets: [(upperBound: Double, count: UInt64)], overflow: UInt64,
        sum: Double
    ) {
        var cumulative: UInt64 = 0
        var lines: [String] = []
        lines.reserveCapacity(buckets.count + 3)
        for bucket in buckets {
            cumulative += bucket.count
            lines.append(Self.line(name + "_bucket", labels + [("le", Self.number(bucket.upperBound))], Double(cumulative)))
        }
        cumulative += overflow
        lines.append(Self.line(name + "_bucket", labels + [("le", "+Inf")], Double(cumulative)))
        lines.append(Self.line(name + "_sum", labels, sum))
        lines.append(Self.line(name + "_count", labels, Double(cumulative)))
        for line in lines { append(name, .histogram, help, line: line) }
    }

    /// The scrape's text.
    public var text: String {
        var out = ""
        for name in order {
            guard let family = families[name] else { continue }
            out += "# HELP \(name) \(Self.escapeHelp(family.help))\n# TYPE \(name) \(family.type.rawValue)\n"
            for line in family.lines { out += line + "\n" }
        }
        return out
    }

    private mutating func append(_ name: String, _ type: MetricType, _ help: String, line: String) {
        if families[name] == nil {
            families[name] = Family(type: type, help: help)
            order.append(name)
        }
        families[name]!.lines.append(line)
    }

    static func line(_ name: String, _ labels: [(String, String)], _ value: Double) -> String {
        guard !labels.isEmpty else { return "\(name) \(number(value))" }
        let pairs = labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
        return "\(name){\(pairs)} \(number(value))"
    }

    /// Integers without a fraction; others as Swift prints doubles (which Prometheus parses).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}
