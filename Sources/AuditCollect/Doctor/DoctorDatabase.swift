import AuditCore
import AuditStore
import Foundation

/// What the database check left for the per-source check.
enum DoctorDatabaseState {
    /// No file, or a file without tables yet: nothing collected.
    case fresh
    /// Damaged, unreadable or not ours: per-source state cannot be trusted.
    case unusable
    /// Passed its integrity check.
    case usable
}

extension DoctorChecks {
    // MARK: - 5. Database

    /// The file's integrity, its search index, its schema version and its mode.
    func checkDatabase(_ path: String, _ report: inout DoctorReport) -> DoctorDatabaseState {
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else {
            let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            if !fm.fileExists(atPath: folder, isDirectory: &isDirectory) || !isDirectory.boolValue {
                report.findings.append(.fail("database", "\(path): its folder \(folder) does not exist",
                                             fix: "create it (mkdir -p \(folder)) or point --db, AOAI_AUDIT_DB or `database:` elsewhere"))
            } else if access(folder, W_OK) != 0 {
                report.findings.append(.fail("database", "\(path) does not exist and its folder \(folder) is not writable by this user",
                                             fix: "make \(folder) writable for the user aoai-audit runs as, or point --db elsewhere"))
            } else {
                report.findings.append(.warn("database", "no database at \(path) yet; `collect` or `import` creates it (mode 0600)",
                                             fix: "run `aoai-audit collect` (or import), or point --db, AOAI_AUDIT_DB or `database:` at the existing file"))
                return .fresh
            }
            return .unusable
        }
        let attributes = try? fm.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        let restore = "restore \(path) from a backup, or move it aside and re-collect (collect/import create a new one)"
        guard size > 0 else {
            report.findings.append(.warn("database", "\(path) is empty (0 bytes); the next `collect` or `import` initializes it",
                                         fix: "run `aoai-audit collect` (or import)"))
            return .fresh
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            report.findings.append(.fail("database", "\(path) is not readable by this user", fix: "run as the user that owns it, or fix its owner (chown)"))
            return .unusable
        }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        try? handle.close()
        guard header.count == 16, String(decoding: header, as: UTF8.self) == "SQLite format 3\0" else {
            report.findings.append(.fail("database", "\(path) is not an SQLite file (\(Self.bytes(size)))", fix: restore))
            return .unusable
        }

        // Read-write (never migrating): the FTS5 check is an INSERT, rolled back.
        let writable = access(path, W_OK) == 0
        let connection: Connection
        do {
            connection = try Connection(path: path, readOnly: !writable)
        } catch {
            report.findings.append(.fail("database", "\(path) cannot be opened: \(error)", fix: restore))
            return .unusable
        }
        let version: Int
        do {
            let appID = try connection.scalar("PRAGMA application_id")?.integer ?? 0
            let tables = try connection.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?.integer ?? 0
            version = Int(try connection.scalar("PRAGMA user_version")?.integer ?? 0)
            if appID != Database.applicationID && (appID != 0 || tables > 0) {
                report.findings.append(.fail("database", "\(path) is an SQLite database that aoai-audit did not create",
                                             fix: "point --db, AOAI_AUDIT_DB or `database:` at the aoai-audit database"))
                return .unusable
            }
            if tables == 0 {
                let wal = path + "-wal"
                let walNote = fm.fileExists(atPath: wal) ? "" : " and no \(URL(fileURLWithPath: wal).lastPathComponent) beside it (a copy of the .db file alone lacks what its -wal file held)"
                report.findings.append(.warn("database", "\(path) is an SQLite file without tables yet\(walNote); the next `collect` or `import` initializes it",
                                             fix: "run `aoai-audit collect` (or import), or point --db, AOAI_AUDIT_DB or `database:` at the database that holds the data"))
                return .fresh
            }
        } catch {
            report.findings.append(.fail("database", "\(path) is damaged: \(error)", fix: restore))
            return .unusable
        }

        // Integrity: the full check, or the quick one on big files.
        var intact = true
        let quick = size > options.quickCheckAbove
        let pragma = quick ? "quick_check" : "integrity_check"
        do {
            let rows = try connection.rows("PRAGMA \(pragma)(20)").compactMap { $0.first?.text }
            if rows == ["ok"] {
                report.findings.append(.ok("database", "\(path): \(pragma) ok (\(Self.bytes(size)))"))
            } else {
                intact = false
                let shown = rows.prefix(3).joined(separator: "; ") + (rows.count > 3 ? "; …" : "")
                report.findings.append(.fail("database", "\(path): \(pragma) found \(rows.count == 20 ? "20 or more" : String(rows.count)) problem\(rows.count == 1 ? "" : "s"): \(shown)",
                                             fix: restore + "; or salvage it: sqlite3 \(path) .recover | sqlite3 recovered.db"))
            }
        } catch {
            intact = false
            report.findings.append(.fail("database", "\(path): \(pragma) could not run: \(error)", fix: restore))
        }

        // The search index (FTS5), when this schema has one.
        let hasFTS = (try? connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'search_fts'")?.integer) == 1
        if hasFTS {
            if !writable {
                report.findings.append(.warn("database", "search index (FTS5) not checked: \(path) is not writable by this user (the check needs a write transaction)",
                                             fix: "run doctor as the user that owns the database"))
            } else {
                do {
                    try connection.execute("BEGIN")
                    defer { try? connection.execute("ROLLBACK") }
                    try connection.execute("INSERT INTO search_fts(search_fts) VALUES('integrity-check')")
                    report.findings.append(.ok("database", "search index (FTS5): integrity-check ok"))
                } catch where Self.isBusy(error) {
                    report.findings.append(.warn("database", "search index (FTS5) not checked: the database is busy (a collect, import or run is writing): \(error)",
                                                 fix: "run doctor again when it has finished"))
                } catch {
                    report.findings.append(.fail("database", "search index (FTS5) is damaged: \(error)",
                                                 fix: "rebuild it: sqlite3 \(path) \"INSERT INTO search_fts(search_fts) VALUES('rebuild')\" (search only; the records are intact)"))
                }
            }
        }

        // Schema version against this binary's.
        let latest = Database.latestVersion
        if version == latest {
            report.findings.append(.ok("database", "schema version \(version) (this aoai-audit: \(latest))"))
        } else if version < latest {
            report.findings.append(.warn("database", "schema version \(version), older than this aoai-audit's \(latest)",
                                         fix: "the next `aoai-audit collect` or `import` migrates it (back the file up first if it matters)"))
        } else {
            report.findings.append(.fail("database", "schema version \(version) is newer than this aoai-audit knows (\(latest)); it will refuse to write",
                                         fix: "upgrade aoai-audit to the version that wrote this database"))
        }

        // Mode: it holds UPNs and IPs.
        if let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue {
            let text = "0" + String(mode & 0o777, radix: 8)
            if mode & 0o077 != 0 {
                report.findings.append(.warn("database", "\(path) has mode \(text): others can read it, and it holds UPNs and IP addresses",
                                             fix: "chmod 600 \(path)"))
            } else {
                report.findings.append(.ok("database", "file mode \(text)"))
            }
        }
        return intact ? .usable : .unusable
    }

    /// SQLITE_BUSY or SQLITE_LOCKED: another process holds the write lock.
    static func isBusy(_ error: any Error) -> Bool {
        guard let e = error as? StoreError, case .sqlite(let code, _, _) = e else { return false }
        return code & 0xFF == 5 || code & 0xFF == 6
    }

    // MARK: - 6. Sources

    /// Per source: the last run's error, and data more than `maxLag` behind (the lag at the
    /// last success plus the time since it).
    func checkSources(_ path: String, state: DoctorDatabaseState, config: Config?, _ report: inout DoctorReport) {
        let configured = config?.sources ?? []
        switch state {
        case .fresh:
            for s in configured { report.findings.append(.ok("source", "source '\(s.name)': not collected yet")) }
            return
        case .unusable:
            report.findings.append(.warn("source", "per-source state not read: the database did not pass its checks (see above)", fix: "fix the database first"))
            return
        case .usable:
            break
        }
        let stored: [SourceStatus]
        do {
            let db = try Database(path: path, readOnly: true)
            stored = try db.sources()
        } catch {
            report.findings.append(.warn("source", "per-source state not read: \(error)", fix: "see the database findings above"))
            return
        }
        let now = options.now()
        let names = configured.isEmpty ? stored.map(\.name) : configured.map(\.name)
        for name in names {
            guard let s = stored.first(where: { $0.name == name }) else {
                report.findings.append(.ok("source", "source '\(name)': not collected yet"))
                continue
            }
            let rerun = "aoai-audit collect --source \(name)"
            let failedLast = s.lastError != nil && (s.lastSuccessUs == nil || (s.lastRunUs ?? 0) > (s.lastSuccessUs ?? 0))
            let success = s.lastSuccessUs.map { "last success \(Self.duration(now - $0)) ago" } ?? "never succeeded"
            let lag = s.lagUs.map { "lag \(Self.duration($0))" }
            let state = ([success] + (lag.map { [$0] } ?? [])).joined(separator: ", ")
            if failedLast {
                let when = s.lastRunUs.map { " \(Self.duration(now - $0)) ago" } ?? ""
                report.findings.append(.warn("source", "source '\(name)': the last run\(when) failed: \(s.lastError ?? "") (\(state))",
                                             fix: "see this source's findings above, then: \(rerun)"))
                continue
            }
            if let last = s.lastSuccessUs {
                let behind = (now - last) + (s.lagUs ?? 0)
                if behind > Self.maxLag {
                    let fix = now - last > (s.lagUs ?? 0)
                        ? "check that collect runs on schedule (aoai-audit schedule; cron logs) and succeeds: \(rerun)"
                        : "its newest record is old: check that Azure still sends data there (diagnostic settings, export destination, workspace), then: \(rerun)"
                    report.findings.append(.warn("source", "source '\(name)': data is \(Self.duration(behind)) behind (\(state))", fix: fix))
                    continue
                }
            }
            report.findings.append(.ok("source", "source '\(name)': \(state)"))
        }
    }
}
