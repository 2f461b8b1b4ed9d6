import AuditCore
import AuditSQL
import Foundation

/// The aoai-audit database: opening, checks, migrations and pragmas.
public final class Database {
    /// `PRAGMA application_id` of our files ("AOAI").
    public static let applicationID: Int64 = 0x414F_4149

    public let connection: Connection
    public let path: String

    /// The migrations this binary knows, in order: (version, name, sql).
    public static var migrations: [(version: Int, name: String, sql: String)] {
        SQLFiles.migrations.compactMap { m in
            guard let v = Int(m.name.prefix { $0.isNumber }) else { return nil }
            return (v, m.name, m.sql)
        }.sorted { $0.version < $1.version }
    }

    public static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Opens the database, creating it (mode 0600) and migrating it when `readOnly` is false.
    ///
    /// A file that is not SQLite, an SQLite file that is not ours, or a schema newer than this
    /// binary is refused with one clear error and nothing written.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if readOnly && !exists { throw .cannotOpen(path: path, message: "no such file; run `aoai-audit import` or `collect` first") }
        if exists { try Self.checkHeader(path) }
        if !exists && !readOnly {
            // Create the file ourselves so it is 0600 from the first byte (it holds UPNs and IPs);
            // SQLite gives the -wal and -shm files the database file's permissions.
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .cannotOpen(path: path, message: String(cString: strerror(errno))) }
            close(fd)
        }
        guard Connection.hasFTS5 else { throw .fts5Unavailable }
        connection = try Connection(path: path, readOnly: readOnly)
        // iso_time()/iso_minute() for named queries, ad-hoc SQL and export datasets.
        try connection.registerFunctions()
        try checkOwnership()
        if readOnly {
            try connection.execute("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")
        } else {
            try connection.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;")
            try migrate()
        }
    }

    /// Reads the 16-byte SQLite header: anything else is not a database we can use.
    static func checkHeader(_ path: String) throws(StoreError) {
        guard let h = FileHandle(forReadingAtPath: path) else { throw .cannotOpen(path: path, message: "permission denied") }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 16)) ?? Data()
        if head.isEmpty { return }  // empty file: a new database
        if head.count < 16 || String(decoding: head, as: UTF8.self) != "SQLite format 3\0" {
            throw .corrupt(path: path, message: "not an SQLite file")
        }
    }

    private func checkOwnership() throws(StoreError) {
        let appID: Int64
        let version: Int64
        let tables: Int64
        do {
            appID = try connection.scalar("PRAGMA application_id")?.integer ?? 0
            version = try connection.scalar("PRAGMA user_version")?.integer ?? 0
            tables = try connection.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?.integer ?? 0
        } catch {
            if case .sqlite(let code, let message, _) = error, code & 0xFF == 26 || code & 0xFF == 11 {
                throw .corrupt(path: path, message: message)  // SQLITE_NOTADB, SQLITE_CORRUPT
            }
            throw error
        }
        if appID != Self.applicationID && (appID != 0 || tables > 0) { throw .notOurDatabase(path: path) }
        if version > Int64(Self.latestVersion) {
            throw .newerSchema(path: path, found: Int(version), supported: Self.latestVersion)
        }
    }

    /// The schema version recorded in the file.
    public var schemaVersion: Int { Int((try? connection.scalar("PRAGMA user_version")?.integer) ?? 0) }

    /// Applies every migration newer than the file's version, one transaction each.
    func migrate() throws(StoreError) {
        var current = schemaVersion
        for m in Self.migrations where m.version > current {
            do {
                try connection.execute("BEGIN IMMEDIATE")
                // Re-read inside the write lock: another process may have migrated meanwhile.
                current = schemaVersion
                if m.version <= current { try connection.execute("ROLLBACK"); continue }
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)
                    """)
                try connection.execute(m.sql)
                try connection.run("INSERT INTO schema_migrations(version, name, applied_us) VALUES (?, ?, ?)", [.integer(Int64(m.version)), .text(m.name), .integer(TimeArgument.nowMicros())])
                try connection.execute("PRAGMA application_id = \(Self.applicationID); PRAGMA user_version = \(m.version)")
                try connection.execute("COMMIT")
                current = m.version
            } catch {
                try? connection.execute("ROLLBACK")
                throw .migrationFailed(name: m.name, message: error.description)
            }
        }
    }
}
