import StrataCore
import StrataProtocol
import StrataRPC

extension Database {
    /// Runs `body` in one transaction: everything it does commits together, or
    /// nothing does (a thrown error rolls back).
    ///
    /// A transaction that failed before its commit was sent runs again, up
    /// to `attempts` times in all, after a jittered pause: one that lost a
    /// conflict (`aborted`: serialization failure, deadlock), and one whose
    /// database went away (`unavailable`: a failover). So `body` must be safe
    /// to repeat. A commit whose outcome is unknown (the connection went
    /// after COMMIT was sent) is never repeated: it fails with `unknown`.
    ///
    /// ```swift
    /// try await ctx.db.transaction { tx in
    ///     try await tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", .int(amount), .int(from))
    ///     try await tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", .int(amount), .int(to))
    /// }
    /// ```
    public func transaction<T: Sendable>(
        isolation: SQLIsolation = .serializable, attempts: Int = 5, _ body: (Transaction) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await once(isolation: isolation, body)
            } catch let error as RPCError where (error.code == .aborted || error.code == .unavailable) && attempt < attempts {
                attempt += 1
                let pause = Self.backoff(attempt: attempt)
                // A pause past the caller's deadline would only end in deadlineExceeded.
                if let deadline, ContinuousClock.now + pause >= deadline { throw error }
                logger.info(
                    "transaction retried", ("attempt", String(attempt)), ("after", "\(error.code)"), ("pause_ms", String(pause.wholeMilliseconds)))
                try await Task.sleep(for: pause)
            }
        }
    }

    /// Full jitter (a random pause up to an exponential cap), so transactions
    /// that collided do not collide again in step.
    static func backoff(attempt: Int) -> Duration {
        let cap = min(2000, 50 << min(attempt, 8))
        return .milliseconds(Int.random(in: cap / 4...cap))
    }

    /// Commit failures after which the transaction is known not to have committed.
    private static let rolledBackCodes: Set<RPCErrorCode> = [.aborted, .failedPrecondition, .alreadyExists, .notFound, .invalidArgument]

    private func once<T: Sendable>(isolation: SQLIsolation, _ body: (Transaction) async throws -> T) async throws -> T {
        let remaining = try remainingTime()
        let transaction: Transaction
        do {
            let connection = try await client.pinned()
            let id: TransactionID = try await connection.call(DataMethod.begin, BeginTransaction(isolation: isolation), timeout: remaining)
            transaction = Transaction(database: self, connection: connection, id: id)
        } catch {
            throw failure(error)
        }
        let value: T
        do {
            value = try await body(transaction)
        } catch {
            _ = try? await transaction.send(DataMethod.rollback, transaction.id)
            throw error
        }
        do {
            _ = try await transaction.send(DataMethod.commit, transaction.id)
        } catch let error as RPCError where !Self.rolledBackCodes.contains(error.code) {
            logger.error("transaction outcome unknown", ("code", "\(error.code)"))
            throw RPCError(.unknown, Self.publicMessage(.unknown))
        }
        return value
    }

    /// Logs the data tier's real message and hands on only a message safe to show.
    func failure(_ error: RPCError) -> RPCError {
        logger.warning("data tier call failed", ("code", "\(error.code)"), ("error", error.message))
        return RPCError(error.code, Self.publicMessage(error.code))
    }
}

/// The statements of one transaction (see `Database.transaction`).
public struct Transaction: Sendable {
    let database: Database
    let connection: PinnedRPCConnection
    let id: TransactionID

    /// Runs a query inside the transaction and decodes each row into a `T`.
    public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: SQLValue...) async throws -> [T] {
        let result = try await send(DataMethod.query, SQLStatement(sql, parameters, transaction: id.transaction))
        return try database.decodeRows(T.self, result)
    }

    /// Runs an INSERT, UPDATE or DELETE inside the transaction.
    @discardableResult
    public func execute(_ sql: String, _ parameters: SQLValue...) async throws -> ExecuteResult {
        try await send(DataMethod.execute, SQLStatement(sql, parameters, transaction: id.transaction))
    }

    func send<Input, Output>(_ method: RPCMethod<Input, Output>, _ input: Input) async throws -> Output {
        let remaining = try database.remainingTime()
        do {
            return try await connection.call(method, input, metadata: database.metadata, timeout: remaining)
        } catch {
            throw database.failure(error)
        }
    }
}
