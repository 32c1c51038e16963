import StrataApp
import StrataProtocol

/// A row of `World`, as the benchmark's JSON shows it.
struct World: Codable, Sendable {
    let id: Int64
    var randomNumber: Int64
}

/// The `World` table's benchmark operations.
struct Worlds {
    let db: Database

    init(_ db: Database) { self.db = db }

    static func randomID() -> Int64 { Int64.random(in: 1...10_000) }

    /// One row by a random id.
    func random() async throws -> World {
        try await row(Self.randomID())
    }

    static let select = "SELECT id, randomNumber AS \"randomNumber\" FROM World WHERE id = $1"

    private func row(_ id: Int64) async throws -> World {
        guard let world = try await db.query(World.self, Self.select, .int(id)).first else {
            throw RPCError(.notFound, "no World row \(id)")
        }
        return world
    }

    /// `count` rows, each its own SELECT, sent to the data tier in one call.
    func random(_ count: Int) async throws -> [World] {
        let statements = (0..<count).map { _ in SQLStatement(Self.select, [.int(Self.randomID())]) }
        return try await db.queryEach(World.self, statements).compactMap(\.first)
    }

    /// `count` random rows read one by one, given new random numbers, and
    /// written back in one statement (ids in order, so concurrent updates
    /// lock rows in the same order and cannot deadlock).
    func update(_ count: Int) async throws -> [World] {
        var worlds = try await random(count)
        for index in worlds.indices { worlds[index].randomNumber = Self.randomID() }
        var latest: [Int64: Int64] = [:]
        for world in worlds { latest[world.id] = world.randomNumber }
        let ids = latest.keys.sorted()
        var parameters: [SQLValue] = []
        var cases = ""
        for (offset, id) in ids.enumerated() {
            cases += " WHEN $\(offset * 2 + 1) THEN CAST($\(offset * 2 + 2) AS INTEGER)"
            parameters += [.int(id), .int(latest[id]!)]
        }
        let list = ids.indices.map { "$\($0 * 2 + 1)" }.joined(separator: ", ")
        // Duplicate ids keep the last number drawn for them, in the answer too.
        for index in worlds.indices { worlds[index].randomNumber = latest[worlds[index].id]! }
        try await db.execute("UPDATE World SET randomNumber = CASE id\(cases) END WHERE id IN (\(list))", parameters)
        return worlds
    }
}
