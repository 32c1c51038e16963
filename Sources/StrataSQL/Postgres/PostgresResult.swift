import CPostgres
import StrataCore
import StrataProtocol

/// What one PostgreSQL statement returned: rows (text-format values converted
/// by column type), the affected-row count, or the error.
public struct PostgresResult: Sendable {
    /// Column names in select order.
    public var columns: [String]
    /// Rows of values.
    public var rows: [[SQLValue]]
    /// Rows inserted, updated or deleted (from the command tag).
    public var rowsAffected: Int64
    var error: SQLError?

    /// The rows as a `QueryResult`.
    public var queryResult: QueryResult { QueryResult(columns: columns, rows: rows) }

    static func make(from result: OpaquePointer) -> PostgresResult {
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_SINGLE_TUPLE, PGRES_EMPTY_QUERY:
            break
        default:
            return PostgresResult(columns: [], rows: [], rowsAffected: 0, error: PostgresError.from(result))
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [String] = []
        var types: [UInt32] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columns.append(String(cString: PQfname(result, Int32(column))))
            types.append(PQftype(result, Int32(column)))
        }
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [SQLValue] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(row), Int32(column)), count: length)
                values.append(PostgresValue.decode(bytes, type: types[column]))
            }
            rows.append(values)
        }
        let tag = PQcmdTuples(result).map { String(cString: $0) } ?? ""
        return PostgresResult(columns: columns, rows: rows, rowsAffected: Int64(tag) ?? 0, error: nil)
    }
}

/// How values cross into and out of PostgreSQL's text format.
///
/// | SQLValue | sent as | read back from |
/// |---|---|---|
/// | int | decimal text | int2, int4, int8, oid |
/// | double | shortest round-trip text, `Infinity`, `NaN` | float4, float8, numeric |
/// | bool | `t` / `f` | bool |
/// | timestamp | ISO 8601 UTC text | timestamp, timestamptz (the session's zone is UTC) |
/// | text | UTF-8 | every other type (timestamps, json, uuid ... as their text) |
/// | blob | binary parameter | bytea (`\x` hex) |
enum PostgresValue {
    static func decode(_ bytes: UnsafeRawBufferPointer, type: UInt32) -> SQLValue {
        let text = String(decoding: bytes, as: UTF8.self)
        switch type {
        case 16: return .bool(text == "t")
        case 20, 21, 23, 26: return Int64(text).map(SQLValue.int) ?? .text(text)
        case 700, 701, 1700:
            switch text {
            case "Infinity": return .double(.infinity)
            case "-Infinity": return .double(-.infinity)
            case "NaN": return .double(.nan)
            default: return Double(text).map(SQLValue.double) ?? .text(text)
            }
        case 17: return hex(bytes).map(SQLValue.blob) ?? .text(text)
        case 1114, 1184: return SQLTimestamp.parse(text).map(SQLValue.timestamp) ?? .text(text)
        default: return .text(text)
        }
    }

    /// bytea's text output: `\x` then two hex digits per byte.
    private static func hex(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x") else { return nil }
        return Digest.bytes(fromHex: bytes.dropFirst(2))
    }
}

/// Parameters laid out for `PQsendQueryParams`: text values NUL-terminated in
/// one buffer, blobs as binary parameters.
enum PostgresParameters {
    static func withEncoded<R>(
        _ parameters: [SQLValue],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        var arena: [UInt8] = []
        var offsets: [Int?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for parameter in parameters {
            let bytes: [UInt8]?
            var format: Int32 = 0
            switch parameter {
            case .null: bytes = nil
            case .int(let value): bytes = Array(String(value).utf8)
            case .double(let value):
                bytes = Array((value.isNaN ? "NaN" : value.isInfinite ? (value < 0 ? "-Infinity" : "Infinity") : "\(value)").utf8)
            case .text(let value): bytes = Array(value.utf8)
            case .bool(let value): bytes = [value ? UInt8(ascii: "t") : UInt8(ascii: "f")]
            case .timestamp(let value): bytes = Array(SQLTimestamp.format(value).utf8)
            case .blob(let value):
                bytes = value
                format = 1
            }
            if let bytes {
                offsets.append(arena.count)
                lengths.append(Int32(bytes.count))
                arena.append(contentsOf: bytes)
                arena.append(0)
            } else {
                offsets.append(nil)
                lengths.append(0)
            }
            formats.append(format)
        }
        return arena.withUnsafeBufferPointer { raw in
            let base = raw.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset -> UnsafePointer<CChar>? in
                guard let offset, let base else { return nil }
                return UnsafePointer(base + offset)
            }
            return pointers.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(values.baseAddress, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }
}

/// PostgreSQL's SQLSTATE codes mapped to the kinds callers act on.
enum PostgresError {
    static func from(_ result: OpaquePointer) -> SQLError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        let message = PQresultErrorMessage(result).map { String(cString: $0).trimmed() } ?? "PostgreSQL error \(state)"
        return SQLError(kind(for: state), message)
    }

    static func kind(for state: String) -> SQLError.Kind {
        switch state {
        case "23505": .uniqueViolation
        case "23503": .foreignKeyViolation
        case "23514": .checkViolation
        case "23502": .notNullViolation
        case "40001", "40P01": .serializationFailure
        // 25006: a write reached a server that is a standby now (after a failover).
        case "57P01", "57P02", "57P03", "25006": .unavailable
        default:
            if state.hasPrefix("42") { .syntax } else if state.hasPrefix("08") { .unavailable } else { .other }
        }
    }
}
