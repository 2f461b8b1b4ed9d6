internal import CAuditSQLite

/// Storage class of a column of the current row.
public enum ColumnType: Sendable {
    case null, integer, real, text, blob
}

extension Statement {
    public func columnType(at column: Int) -> ColumnType {
        switch sqlite3_column_type(handle, Int32(column)) {
        case SQLITE_INTEGER: return .integer
        case SQLITE_FLOAT: return .real
        case SQLITE_TEXT: return .text
        case SQLITE_BLOB: return .blob
        default: return .null
        }
    }

    public func double(at column: Int) -> Double { sqlite3_column_double(handle, Int32(column)) }

    /// Calls `body` with the column's UTF-8 bytes, without copying them. The pointer is SQLite's
    /// and valid only inside `body` (until the next step, reset or column call).
    ///
    /// Related SQLite documentation: <https://www.sqlite.org/c3ref/column_blob.html>
    @inline(__always)
    public func withTextBytes<R>(at column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let c = Int32(column)
        // > call sqlite3_column_text() first to force the result into the desired format, then
        // > invoke sqlite3_column_bytes() to find the size of the result.
        let p = sqlite3_column_text(handle, c)
        let n = Int(sqlite3_column_bytes(handle, c))
        return try body(UnsafeBufferPointer(start: p, count: p == nil ? 0 : n))
    }
}
