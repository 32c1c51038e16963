import StrataApp

/// The TechEmpower Framework Benchmarks test types that cross every tier:
/// `/db`, `/queries`, `/fortunes` and `/updates` go web → app → data →
/// database and back, as a real page does. (`/plaintext` and `/json` are
/// HTTP-layer tests the web tier answers alone.) Only on with `--bench` /
/// `STRATA_BENCH=1`.
public struct Bench: DomainModule {
    /// Creates the module.
    public init() {}

    public var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }

    public func register(_ m: inout ModuleRegistry) {
        let db = m.method("bench.db", access: .public, idempotent: true) { (_: Empty, ctx) in
            try await Worlds(ctx.db).random()
        }
        let queries = m.method("bench.queries", access: .public, idempotent: true) { (query: Count, ctx) in
            try await Worlds(ctx.db).random(query.clamped)
        }
        let updates = m.method("bench.updates", access: .public) { (query: Count, ctx) in
            try await Worlds(ctx.db).update(query.clamped)
        }
        let fortunes = m.method("bench.fortunes", access: .public, idempotent: true) { (_: Empty, ctx) in
            var fortunes = try await ctx.db.query(Fortune.self, "SELECT id, message FROM Fortune")
            fortunes.append(Fortune(id: 0, message: "Additional fortune added at request time."))
            fortunes.sort { $0.message < $1.message }
            return Fortunes(fortunes: fortunes)
        }
        m.api(.get, "/db", db)
        m.api(.get, "/queries", queries)
        m.api(.get, "/updates", updates)
        m.page("/fortunes", fortunes, template: "bench/fortunes")
        // The same page declared the same for everyone, for the cache benchmark.
        m.page("/fortunes/public", fortunes, template: "bench/fortunes", cache: .public(maxAge: 60))
    }
}

/// `?queries=N`: 1 to 500; missing or not a number means 1.
struct Count: Codable, Sendable {
    let queries: String?
    var clamped: Int { min(max(Int(queries ?? "") ?? 1, 1), 500) }
}

struct Fortune: Codable, Sendable {
    let id: Int64
    let message: String
}

struct Fortunes: Codable, Sendable {
    let fortunes: [Fortune]
}
