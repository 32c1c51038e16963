import Foundation
import StrataCLI
import StrataCore
import StrataIO
import StrataRPC

/// `strata-app users ...`: the operator's tools for accounts, working through
/// the data tier like the running application does.
enum UsersCommand {
    static let spec = CommandSpec(
        name: "strata-app users", summary: "Create and manage user accounts.",
        subcommands: [
            ("create EMAIL [--name NAME] [--admin]", "create an account (password from STRATA_PASSWORD or the first line of stdin)"),
            ("set-password EMAIL", "set a new password (same source) and end the user's sessions"),
            ("grant EMAIL ROLE", "add a role (admin holds them all) and end the user's sessions"),
            ("list", "every account with its roles"),
        ],
        options: [
            OptionSpec("data", env: "STRATA_DATA_URL", value: "ADDRESS", default: "127.0.0.1:7002", help: "the data tier's RPC address"),
            OptionSpec("name", value: "NAME", help: "create: the name shown to others (default: the part of the email before @)"),
            OptionSpec(switch: "admin", help: "create: give the account the admin role"),
        ],
        notes: ["exit status: 0 done; 1 refused (unknown user, email taken, weak password, data tier down); 64 usage mistake"])

    static func run(_ options: ParsedOptions, environment: [String: String], readLine: () -> String? = { Swift.readLine() }) async throws -> Int32 {
        guard let action = options.positional.first else {
            Terminal.printOut(spec.help)
            return 0
        }
        let arguments = Array(options.positional.dropFirst())
        func expect(_ count: Int, _ usage: String) throws(UsageError) {
            guard arguments.count == count else { throw UsageError(command: "strata-app users \(action)", message: "expected \(usage)") }
        }
        func password() throws -> String {
            let password = environment["STRATA_PASSWORD"] ?? readLine() ?? ""
            guard PasswordHash.allowedLength.contains(password.utf8.count) else {
                throw StartupError("the password must be 8 to 1024 characters (give it in STRATA_PASSWORD or on stdin)")
            }
            return password
        }
        let secret = try RPCSecret.load(from: environment)
        let group = EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let client = RPCClient(
            addresses: try SocketAddress.list(parsing: options.string("data") ?? "127.0.0.1:7002"),
            group: group, callerName: "app", secret: secret, tls: try RPCTLS.load(from: environment))
        defer { client.close() }
        let accounts = Accounts(Database(client: client, requestID: "cli", logger: Logger(label: "users", level: .warning), deadline: nil))
        func existing(_ email: String) async throws -> User {
            guard let user = try await accounts.user(email: email) else { throw StartupError("no account with the email \(email)") }
            return user
        }
        do {
            switch action {
            case "create":
                try expect(1, "one EMAIL")
                let email = arguments[0]
                guard email.contains("@") else { throw StartupError("'\(email)' is not an email address") }
                let name = options.string("name") ?? String(email.split(separator: "@").first ?? "")
                let user = try await accounts.createUser(
                    email: email, name: name, password: try password(), roles: options.flag("admin") ? ["admin"] : [])
                Terminal.printOut("created user \(user.id) \(user.email)\(user.isAdmin ? " (admin)" : "")")
            case "set-password":
                try expect(1, "one EMAIL")
                let user = try await existing(arguments[0])
                try await accounts.setPassword(userID: user.id, to: try password())
                Terminal.printOut("password changed for \(user.email); their sessions are ended")
            case "grant":
                try expect(2, "EMAIL ROLE")
                let role = arguments[1]
                guard !role.isEmpty, role.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw UsageError(command: "strata-app users grant", message: "a role is letters, digits, - and _")
                }
                let user = try await existing(arguments[0])
                try await accounts.grant(role, to: user.id)
                Terminal.printOut("\(user.email) now holds \(role); their sessions are ended")
            case "list":
                try expect(0, "no arguments")
                for user in try await accounts.allUsers() {
                    Terminal.printOut("\(user.id)\t\(user.email)\t\(user.name)\t\(user.roles.joined(separator: ","))")
                }
            default:
                throw UsageError(command: "strata-app users", message: "unknown command '\(action)' (one of: create, set-password, grant, list)")
            }
        } catch let error as FieldErrors {
            throw StartupError(error.messages.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "; "))
        } catch let error as RPCError {
            throw StartupError(error.code == .unavailable ? "the data tier is not reachable: \(error.message) (see --data)" : error.message)
        }
        return 0
    }
}
