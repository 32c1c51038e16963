import StrataCore

/// The rows a query returned.
public struct QueryResult: Codable, Sendable, Equatable {
    /// Column names, in select order.
    public var columns: [String]
    /// Each row's values, in column order.
    public var rows: [[SQLValue]]

    /// Creates a result.
    public init(columns: [String], rows: [[SQLValue]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// Result rows arrive by the thousand: the binary encoding writes and reads
/// them in one pass, with nothing allocated but the result itself.
extension QueryResult: TaggedValueEncodable, TaggedValueDecodable {
    public func write(to writer: inout some TaggedValueWriter) {
        writer.beginMap(count: 2)
        writer.writeKey("columns")
        writer.beginArray(count: columns.count)
        for column in columns { writer.write(.string(column)) }
        writer.writeKey("rows")
        writer.beginArray(count: rows.count)
        for row in rows {
            writer.beginArray(count: row.count)
            for value in row { writer.write(value.taggedScalar) }
        }
    }

    public init(reading reader: inout some TaggedValueReader) throws {
        var columns: [String]?
        var rows: [[SQLValue]]?
        for _ in 0..<(try reader.readMap("a query result")) {
            switch try reader.readKey() {
            case "columns" where columns == nil:
                let count = try reader.readArray("a query result's columns")
                var names: [String] = []
                names.reserveCapacity(count)
                for _ in 0..<count { names.append(try reader.readString("a column name")) }
                columns = names
            case "rows" where rows == nil:
                let count = try reader.readArray("a query result's rows")
                var list: [[SQLValue]] = []
                list.reserveCapacity(count)
                for _ in 0..<count {
                    let width = try reader.readArray("a row")
                    var row: [SQLValue] = []
                    row.reserveCapacity(width)
                    for _ in 0..<width { row.append(SQLValue(taggedScalar: try reader.readScalar("a value"))) }
                    list.append(row)
                }
                rows = list
            default:
                try reader.skipValue()
            }
        }
        guard let columns else { throw reader.malformed("a query result's columns") }
        guard let rows else { throw reader.malformed("a query result's rows") }
        self.init(columns: columns, rows: rows)
    }
}
