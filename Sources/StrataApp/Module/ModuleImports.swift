import StrataProtocol
import StrataRPC

// What a domain module needs from the libraries below the app tier, named
// here so that a module imports `StrataApp` alone.

/// An error a module's method answers with: its code reaches the web tier
/// (`notFound` becomes a 404 page, `failedPrecondition` a 409, ...).
public typealias RPCError = StrataRPC.RPCError
/// A value bound to a statement parameter or read from a column.
public typealias SQLValue = StrataProtocol.SQLValue
/// SQL with `$1, $2, ...` placeholders and their values, for `db.queryEach`.
public typealias SQLStatement = StrataProtocol.SQLStatement
/// The argument of a method that takes none.
public typealias Empty = StrataRPC.Empty
