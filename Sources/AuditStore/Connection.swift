import Foundation
internal import CAuditSQLite

// swift-format-ignore: AlwaysUseLowerCamelCase
/// SQLite copies the bytes before `sqlite3_bind_*` returns (the C macro is not imported).
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A value bound to or read from SQLite.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var text: String? {
        switch self {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        default: return nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .real(let d): return Int64(d)
        case .text(let s): return Int64(s)
        default: return nil
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    public init(_ i: Int64?) { self = i.map { .integer($0) } ?? .null }
    public init(_ i: Int?) { self = i.map { .integer(Int64($0)) } ?? .null }
}

/// One SQLite connection. Not Sendable: it is confined to one thread at a time by its owner.
///
/// Related SQLite documentation: <https://www.sqlite.org/c3ref/open.html>
public final class Connection {
    let handle: OpaquePointer
    public let path: String
    public let isReadOnly: Bool
    private var cache: [String: Statement] = [:]

    /// Opens (and for read-write, creates) the database at `path`.
    public init(path: String, readOnly: Bool = false, busyTimeoutMs: Int32 = 10_000) throws(StoreError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            // > Whether or not an error occurs when it is opened, resources associated with the
            // > database connection handle should be released by passing it to sqlite3_close().
            sqlite3_close(db)
            throw .cannotOpen(path: path, message: message)
        }
        handle = db
        self.path = path
        isReadOnly = readOnly
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMs)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// True when the linked SQLite has FTS5.
    public static var hasFTS5: Bool { sqlite3_compileoption_used("ENABLE_FTS5") == 1 }

    /// The linked SQLite version text.
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }

    func error(_ rc: Int32, sql: String?) -> StoreError {
        let message = String(cString: sqlite3_errmsg(handle))
        if rc & 0xFF == SQLITE_READONLY || (isReadOnly && message.contains("readonly")) {
            return .readOnlyViolation(message: message)
        }
        if rc & 0xFF == SQLITE_CORRUPT || rc & 0xFF == SQLITE_NOTADB {
            return .corrupt(path: path, message: message)
        }
        return .sqlite(code: rc, message: message, sql: sql)
    }

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) throws(StoreError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(err)
            if rc & 0xFF == SQLITE_READONLY { throw .readOnlyViolation(message: message) }
            throw .sqlite(code: rc, message: message, sql: sql)
        }
    }

    /// A prepared statement, cached by SQL text.
    public func prepare(_ sql: String, cached: Bool = true) throws(StoreError) -> Statement {
        if cached, let s = cache[sql] {
            s.reset()
            return s
        }
        let s = try Statement(connection: self, sql: sql)
        if cached { cache[sql] = s }
        return s
    }

    /// Runs `sql` with `bindings` and returns every row.
    public func rows(_ sql: String, _ bindings: [SQLValue] = []) throws(StoreError) -> [[SQLValue]] {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(bindings)
        var out: [[SQLValue]] = []
        while try s.step() { out.append(s.row()) }
        return out
    }

    /// The first column of the first row, or nil.
    public func scalar(_ sql: String, _ bindings: [SQLValue] = []) throws(StoreError) -> SQLValue? {
        let s = try prepare(sql)
        defer { s.reset() }  // an unfinished statement would hold its read transaction open
        try s.bind(bindings)
        guard try s.step() else { return nil }
        return s.value(at: 0)
    }

    /// Runs a statement that returns no rows.
    public func run(_ sql: String, _ bindings: [SQLValue] = []) throws(StoreError) {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(bindings)
        while try s.step() {}
    }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in `BEGIN IMMEDIATE … COMMIT`, rolling back on error.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Interrupts a running statement from another thread.
    public func interrupt() { sqlite3_interrupt(handle) }
}

/// A prepared statement. Finalized when released; keeps its connection alive.
public final class Statement {
    let handle: OpaquePointer
    private let connection: Connection
    public let sql: String

    init(connection: Connection, sql: String) throws(StoreError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, 0, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            if rc == SQLITE_OK { throw .sqlite(code: rc, message: "empty statement", sql: sql) }
            throw connection.error(rc, sql: sql)
        }
        handle = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Names of the parameters (`:name`, `@name`, `$name`), nil for positional ones.
    public var parameterNames: [String?] {
        (0..<parameterCount).map { i in sqlite3_bind_parameter_name(handle, Int32(i + 1)).map { String(cString: $0) } }
    }

    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    public func bind(_ values: [SQLValue]) throws(StoreError) {
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    public func bind(_ value: SQLValue, at index: Int32) throws(StoreError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let i): rc = sqlite3_bind_int64(handle, index, i)
        case .real(let d): rc = sqlite3_bind_double(handle, index, d)
        case .text(let s):
            rc = bindText(s, at: index)
        case .blob(let b):
            rc = b.withUnsafeBytes { buf in sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), SQLITE_TRANSIENT) }
        }
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    /// Binds text by length (it may contain NUL); the empty string binds as '' (never NULL).
    @inline(__always) private func bindText(_ s: String, at index: Int32) -> Int32 {
        var s = s
        return s.withUTF8 { buf in
            guard let base = buf.baseAddress, buf.count > 0 else {
                return sqlite3_bind_text(handle, index, Statement.emptyCString, 0, SQLITE_TRANSIENT)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                sqlite3_bind_text(handle, index, p, Int32(buf.count), SQLITE_TRANSIENT)
            }
        }
    }

    private static let emptyLiteral: StaticString = ""
    private static var emptyCString: UnsafePointer<CChar> {
        UnsafeRawPointer(emptyLiteral.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    @inline(__always) public func bind(_ i: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, i)
    }

    @inline(__always) public func bind(_ s: String?, at index: Int32) {
        guard let s else { sqlite3_bind_null(handle, index); return }
        _ = bindText(s, at: index)
    }

    @inline(__always) public func bind(_ i: Int64?, at index: Int32) {
        if let i { sqlite3_bind_int64(handle, index, i) } else { sqlite3_bind_null(handle, index) }
    }

    /// Advances; true when a row is available.
    @discardableResult
    public func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let err = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw err
        }
    }

    /// Executes to completion and resets for reuse.
    public func runAndReset() throws(StoreError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public var columnNames: [String] {
        (0..<columnCount).map { String(cString: sqlite3_column_name(handle, Int32($0))) }
    }

    public func value(at column: Int) -> SQLValue {
        let c = Int32(column)
        switch sqlite3_column_type(handle, c) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, c))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, c))
        case SQLITE_TEXT: return .text(text(at: column) ?? "")
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(handle, c))
            guard n > 0, let p = sqlite3_column_blob(handle, c) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }

    /// Column text, decoded with its byte length (payloads may contain NUL).
    public func text(at column: Int) -> String? {
        let c = Int32(column)
        guard let bytes = sqlite3_column_text(handle, c) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, c))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    public func int64(at column: Int) -> Int64 { sqlite3_column_int64(handle, Int32(column)) }

    public func isNull(at column: Int) -> Bool { sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL }

    public func row() -> [SQLValue] { (0..<columnCount).map { value(at: $0) } }
}

@available(*, unavailable)
extension Statement: Sendable {}

@available(*, unavailable)
extension Connection: Sendable {}
