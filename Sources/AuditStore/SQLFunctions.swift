import AuditCore
internal import CAuditSQLite

extension Connection {
    /// Registers `iso_time(us)` (integer UTC microseconds → `2026-11-23T04:05:06.123456Z`) and
    /// `iso_minute(us)` (→ `2026-11-23T04:05Z`), available to named queries and `query --sql`.
    func registerFunctions() throws(StoreError) {
        let iso: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { ctx, argc, argv in
            guard argc == 1, let argv, let v = argv[0], sqlite3_value_type(v) != SQLITE_NULL else { sqlite3_result_null(ctx); return }
            let s = Timestamp.iso(sqlite3_value_int64(v))
            sqlite3_result_text(ctx, s, Int32(s.utf8.count), SQLITE_TRANSIENT)
        }
        let minute: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { ctx, argc, argv in
            guard argc == 1, let argv, let v = argv[0], sqlite3_value_type(v) != SQLITE_NULL else { sqlite3_result_null(ctx); return }
            let s = String(Timestamp.iso(sqlite3_value_int64(v)).prefix(16)) + "Z"
            sqlite3_result_text(ctx, s, Int32(s.utf8.count), SQLITE_TRANSIENT)
        }
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS
        var rc = sqlite3_create_function_v2(handle, "iso_time", 1, flags, nil, iso, nil, nil, nil)
        if rc == SQLITE_OK { rc = sqlite3_create_function_v2(handle, "iso_minute", 1, flags, nil, minute, nil, nil, nil) }
        if rc != SQLITE_OK { throw error(rc, sql: nil) }
    }
}
