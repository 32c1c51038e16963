import Foundation
import StrataApp
import StrataCore
import StrataData
import StrataHTTP
import StrataIO
import StrataProtocol
import StrataRPC
import StrataSQL
import StrataWeb

/// Domain modules running in the test process: the application tier with
/// them (and the built-in auth module), the data tier on a fresh SQLite
/// database with the migrations applied, and the web tier in front, wired
/// together without sockets. Requests go through the same code as in
/// production, so a test sees what a browser or API client would: CSRF
/// checks, sessions, redirects, 422 re-renders, JSON errors.
///
/// ```swift
/// let app = try await TestApp(modules: [Todos()])
/// let browser = app.client()
/// let added = await browser.post("/todos", form: ["title": "Write tests"])
/// XCTAssertEqual(added.status, 303)
/// ```
public final class TestApp: Sendable {
    private let web: any HTTPHandler
    private let data: RPCClient
    private let app: RPCClient
    private let secret: [UInt8]
    private let folder: URL
    private let logger: Logger
    /// The loops PostgreSQL connections run on (nil on SQLite).
    private let group: EventLoopGroup?

    /// Starts the tiers on a new SQLite database in a temporary folder,
    /// removed when the app is released, or on the empty PostgreSQL database
    /// at `database` (a `postgres://` URL). `migrations` is the folder of
    /// migration files (by default `Migrations` in the current directory,
    /// the package root under `swift test`); they all run before the first request.
    public init(
        modules: [any DomainModule], database url: String? = nil, migrations: String = "Migrations", signupEnabled: Bool = true
    ) async throws {
        let level = ProcessInfo.processInfo.environment["STRATA_TEST_LOG"].flatMap(Logger.Level.init(name:)) ?? .error
        logger = Logger(label: "test", level: level)
        guard FileManager.default.fileExists(atPath: migrations) else {
            throw TestAppError("no migrations folder at \(URL(fileURLWithPath: migrations).path); pass TestApp(modules:migrations:)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        self.folder = folder
        let database: any SQLDatabase
        if let url {
            guard case .postgres(let text) = try DatabaseURL(parsing: url) else { throw TestAppError("\(url) is not a postgres:// URL") }
            let group = EventLoopGroup(loopCount: 1)
            self.group = group
            database = PostgresDatabase(url: text, group: group, maxConnections: 4)
        } else {
            group = nil
            database = try SQLiteDatabase(path: folder.appendingPathComponent("test.sqlite").path, readers: 2)
        }
        _ = try await Migrator(database: database, migrations: try Migrator.load(directory: migrations)).up()
        data = RPCClient(inProcess: DataService.make(database: database, logger: logger), callerName: "app")
        let runtime = try AppRuntime(modules: modules, data: data, logger: logger, signupEnabled: signupEnabled)
        app = RPCClient(inProcess: runtime.service, callerName: "web")
        secret = Digest.randomBytes(32)
        web = try WebApplication.inProcess(manifest: runtime.manifest, app: app, logger: logger, secret: secret)
    }

    deinit {
        group?.shutdown()
        try? FileManager.default.removeItem(at: folder)
    }

    /// A new browser or API client, with no cookies.
    public func client() -> TestClient { TestClient(web: web, secret: secret) }

    /// A browser already signed in as `user`, as if it had used the sign-in form.
    public func client(signedInAs user: User) async throws -> TestClient {
        let client = client()
        client.cookies[WebApplication.sessionCookie] = try await accounts.startSession(userID: user.id)
        return client
    }

    /// Creates an account (`roles` such as `admin`), as `strata-app users create` does.
    public func createUser(email: String, name: String, password: String = "test password", roles: [String] = []) async throws -> User {
        try await accounts.createUser(email: email, name: name, password: password, roles: roles)
    }

    /// An API token for `user`, for `TestClient.api(_:_:json:token:)`.
    public func apiToken(for user: User, name: String = "test") async throws -> String {
        try await accounts.createToken(userID: user.id, name: name)
    }

    /// Calls a module method as another tier would (binary encoding, no
    /// web tier), anonymously: for methods no route exposes.
    public func call<Input: Encodable, Output: Decodable>(
        _ method: String, _ input: Input, as output: Output.Type = Output.self
    )
        async throws(RPCError) -> Output
    {
        try await app.call(method, input, as: Output.self)
    }

    /// Runs SQL against the test database directly, to arrange or inspect data.
    public func query<Row: Decodable>(_ row: Row.Type, _ sql: String, _ parameters: SQLValue...) async throws -> [Row] {
        try RowDecoder().decode(Row.self, from: try await database.query(sql, parameters))
    }

    private var database: Database { Database(client: data, requestID: "test", logger: logger, deadline: nil) }
    private var accounts: Accounts { Accounts(database) }
}

/// A `TestApp` that cannot start; the message says what to change.
public struct TestAppError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
