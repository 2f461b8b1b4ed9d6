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
    /// Newest record time vs the end of the last fetched window (collectors only).
    public var lagUs: Int64? = nil
    /// The last collector run's summary (JSON object text).
    public var summary: String? = nil
    /// Every cursor (key → value).
    public var cursors: [String: String] = [:]
    /// What was fetched, per scope, as gap-free ranges (collectors only).
    public var coverage: [CoverageRange] = []

    init(name: String, type: String, lastRunUs: Int64?, lastSuccessUs: Int64?, lastError: String?, records: Int64, checkpoints: Int,
         latestCheckpoint: String?, latestCheckpointUs: Int64?) {
        self.name = name
        self.type = type
        self.lastRunUs = lastRunUs
        self.lastSuccessUs = lastSuccessUs
        self.lastError = lastError
        self.records = records
        self.checkpoints = checkpoints
        self.latestCheckpoint = latestCheckpoint
        self.latestCheckpointUs = latestCheckpointUs
    }

    /// A configured source that has never run: no state at all.
    public init(neverRun name: String, type: String) {
        self.init(name: name, type: type, lastRunUs: nil, lastSuccessUs: nil, lastError: nil, records: 0, checkpoints: 0,
                  latestCheckpoint: nil, latestCheckpointUs: nil)
    }
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
        // A database opened read-only is not migrated: before 0003 it has no lag or coverage.
        let collect = schemaVersion >= 3
        let rows = try connection.rows("""
            SELECT s.name, s.type, s.last_run_us, s.last_success_us, s.last_error, s.records,
              (SELECT count(*) FROM checkpoints c WHERE c.source = s.name),
              (SELECT c.key || ' = ' || c.value FROM checkpoints c WHERE c.source = s.name ORDER BY c.updated_us DESC LIMIT 1),
              (SELECT max(c.updated_us) FROM checkpoints c WHERE c.source = s.name),
              \(collect ? "s.lag_us, s.summary" : "NULL, NULL")
            FROM sources s ORDER BY s.name
            """)
        var out: [SourceStatus] = []
        for r in rows {
            var s = SourceStatus(name: r[0].text ?? "", type: r[1].text ?? "", lastRunUs: r[2].integer, lastSuccessUs: r[3].integer,
                                 lastError: r[4].text, records: r[5].integer ?? 0, checkpoints: Int(r[6].integer ?? 0),
                                 latestCheckpoint: r[7].text, latestCheckpointUs: r[8].integer)
            s.lagUs = r[9].integer
            s.summary = r[10].text
            s.cursors = try connection.checkpoints(source: s.name)
            if collect { s.coverage = try coverage(source: s.name) }
            out.append(s)
        }
        return out
    }

    /// `source`'s fetched windows merged into gap-free ranges per scope.
    public func coverage(source: String) throws(StoreError) -> [CoverageRange] {
        let rows = try connection.rows("SELECT scope, from_us, to_us, records FROM coverage WHERE source = ?1 ORDER BY scope, from_us", [.text(source)])
        return CoverageRange.merge(rows.map { r in (r[0].text ?? "", r[1].integer ?? 0, r[2].integer ?? 0, r[3].integer ?? 0) })
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
