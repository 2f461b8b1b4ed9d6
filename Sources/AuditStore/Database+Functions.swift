import AuditCore

extension Database {
    /// Registers the SQL functions the named queries and export datasets use.
    ///
    /// `iso_time(us)` formats integer UTC microseconds as `2026-11-23T04:05:06.123456Z` and
    /// `iso_minute(us)` as `2026-11-23T04:05Z`. Registering again replaces the functions, so
    /// calling this more than once is harmless.
    /// - Throws: `StoreError.sqlite` when SQLite refuses the registration.
    public func registerSQLFunctions() throws(StoreError) {
        try connection.registerFunctions()
    }
}
