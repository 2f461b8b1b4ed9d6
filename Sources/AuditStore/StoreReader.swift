import AuditCore

/// Per-kind record counts, as `status` reports them.
public struct StoreCounts: Sendable, Equatable {
    public var activity: Int64 = 0
    public var requests: Int64 = 0
    public var requestFailures: Int64 = 0
    public var changes: Int64 = 0
    public var vendorIncidents: Int64 = 0
    public var quarantined: Int64 = 0
    public init() {}
}

/// One source's state for `status`.
public struct SourceStatus: Sendable, Equatable {
    public var name: String
    public var type: String
    public var lastRunUs: Int64?
    public var lastSuccessUs: Int64?
    public var lastError: String?
    public var records: Int64
    public var checkpoints: Int
    public var latestCheckpoint: String?
    public var latestCheckpointUs: Int64?
}

extension Database {
    public func counts() throws(StoreError) -> StoreCounts {
        var c = StoreCounts()
        let db = connection
        c.activity = try db.scalar("SELECT count(*) FROM activity_events")?.integer ?? 0
        c.requests = try db.scalar("SELECT COALESCE(sum(count), 0) FROM request_rollup")?.integer ?? 0
        c.requestFailures = try db.scalar("SELECT count(*) FROM request_failures")?.integer ?? 0
        c.changes = try db.scalar("SELECT count(*) FROM changes")?.integer ?? 0
        c.vendorIncidents = try db.scalar("SELECT count(*) FROM vendor_incidents")?.integer ?? 0
        c.quarantined = try db.scalar("SELECT count(*) FROM quarantine")?.integer ?? 0
        return c
    }

    public func sources() throws(StoreError) -> [SourceStatus] {
        let rows = try connection.rows("""
            SELECT s.name, s.type, s.last_run_us, s.last_success_us, s.last_error, s.records,
              (SELECT count(*) FROM checkpoints c WHERE c.source = s.name),
              (SELECT c.key || ' = ' || c.value FROM checkpoints c WHERE c.source = s.name ORDER BY c.updated_us DESC LIMIT 1),
              (SELECT max(c.updated_us) FROM checkpoints c WHERE c.source = s.name)
            FROM sources s ORDER BY s.name
            """)
        return rows.map { r in
            SourceStatus(name: r[0].text ?? "", type: r[1].text ?? "", lastRunUs: r[2].integer, lastSuccessUs: r[3].integer,
                         lastError: r[4].text, records: r[5].integer ?? 0, checkpoints: Int(r[6].integer ?? 0),
                         latestCheckpoint: r[7].text, latestCheckpointUs: r[8].integer)
        }
    }

    /// Records the outcome of a source's load.
    public func recordSourceRun(name: String, type: String, success: Bool, error: String?, records: Int) throws(StoreError) {
        let now = TimeArgument.nowMicros()
        try connection.run("""
            INSERT INTO sources(name, type, last_run_us, last_success_us, last_error, records) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT(name) DO UPDATE SET type = excluded.type, last_run_us = excluded.last_run_us,
              last_success_us = COALESCE(excluded.last_success_us, sources.last_success_us),
              last_error = excluded.last_error, records = sources.records + excluded.records
            """, [.text(name), .text(type), .integer(now), success ? .integer(now) : .null, SQLValue(error.map(Redactor.redact)), .integer(Int64(records))])
    }

    public func checkpoint(source: String, key: String) throws(StoreError) -> String? {
        try connection.scalar("SELECT value FROM checkpoints WHERE source = ?1 AND key = ?2", [.text(source), .text(key)])?.text
    }

    public func beginRun(command: String) throws(StoreError) -> Int64 {
        try connection.run("INSERT INTO runs(command, started_us) VALUES (?1, ?2)", [.text(command), .integer(TimeArgument.nowMicros())])
        return connection.lastInsertRowID
    }

    public func finishRun(id: Int64, status: String, summary: String) throws(StoreError) {
        try connection.run("UPDATE runs SET finished_us = ?1, status = ?2, summary = ?3 WHERE id = ?4", [.integer(TimeArgument.nowMicros()), .text(status), .text(summary), .integer(id)])
    }
}
