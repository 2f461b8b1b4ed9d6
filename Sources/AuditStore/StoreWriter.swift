import AuditCore

/// Counts of what one write did.
public struct WriteCounts: Sendable, Equatable {
    public var activity = 0
    public var requests = 0
    public var failures = 0
    public var changes = 0
    public var incidents = 0
    public var quarantined = 0
    public var duplicates = 0
    /// Activity events first loaded without an eventDataId that just got one.
    public var merged = 0

    public init() {}

    public var loaded: Int { activity + requests + changes + incidents }

    public static func += (a: inout WriteCounts, b: WriteCounts) {
        a.activity += b.activity; a.requests += b.requests; a.failures += b.failures; a.changes += b.changes
        a.incidents += b.incidents; a.quarantined += b.quarantined; a.duplicates += b.duplicates; a.merged += b.merged
    }
}

/// Writes normalized records. Callers wrap each batch and its checkpoint in one transaction
/// (`write(_:source:checkpoint:)`), so a crash never loses or duplicates data.
public final class StoreWriter {
    let db: Connection
    var rollup: [RollupKey: (count: Int64, duration: Int64)] = [:]
    /// Dimension ids by kind and value; cleared when a transaction fails (its ids rolled back).
    private var dimCache: [DimKind: [String: Int64]] = [:]
    /// The last value seen per kind: consecutive records usually share them.
    private var lastDim: [DimKind: (String, Int64)] = [:]

    struct RollupKey: Hashable {
        var minute: Int64, resource: Int64, deployment: Int64, caller: Int64, api: Int64, operation: Int64, status: Int
    }

    enum DimKind: String { case resource, deployment, caller, apiVersion = "api_version", operation }

    public init(database: Database) { db = database.connection }

    /// Writes `batch` and (optionally) a checkpoint in one transaction.
    public func write(_ batch: RecordBatch, source: String, runID: Int64? = nil, checkpoint: (key: String, value: String)? = nil) throws -> WriteCounts {
        try write([(batch, checkpoint)], source: source, runID: runID)[0]
    }

    /// Writes several batches, each with its checkpoint, in one transaction (small files are
    /// coalesced: fewer commits, and fewer tiny FTS5 segments to merge later).
    public func write(_ batches: [(batch: RecordBatch, checkpoint: (key: String, value: String)?)], source: String, runID: Int64? = nil) throws -> [WriteCounts] {
        do {
            return try db.transaction {
                try batches.map { item in try writeOne(item.batch, source: source, runID: runID, checkpoint: item.checkpoint) }
            }
        } catch {
            dimCache.removeAll()
            lastDim.removeAll()
            rollup.removeAll()
            throw error
        }
    }

    /// Writes `batch`, several checkpoints, and whatever `extra` adds, in one transaction
    /// (collectors: rows, the cursors that cover them and their coverage windows).
    public func write(_ batch: RecordBatch, source: String, runID: Int64?, checkpoints: [(key: String, value: String)], extra: (Connection) throws -> Void) throws -> WriteCounts {
        do {
            return try db.transaction {
                let counts = try writeOne(batch, source: source, runID: runID, checkpoint: nil)
                for c in checkpoints { try setCheckpoint(source: source, key: c.key, value: c.value) }
                try extra(db)
                return counts
            }
        } catch {
            dimCache.removeAll()
            lastDim.removeAll()
            rollup.removeAll()
            throw error
        }
    }

    private func writeOne(_ batch: RecordBatch, source: String, runID: Int64?, checkpoint: (key: String, value: String)?) throws -> WriteCounts {
        var counts = WriteCounts()
        for e in batch.activity { try insert(e, source: source, counts: &counts) }
        for r in batch.requests { try insert(r, source: source, counts: &counts) }
        try flushRollup()
        for c in batch.changes { try insert(c, source: source, counts: &counts) }
        for i in batch.incidents { try insert(i, source: source, counts: &counts) }
        for q in batch.quarantine { try insert(q, runID: runID, counts: &counts) }
        if let checkpoint { try setCheckpoint(source: source, key: checkpoint.key, value: checkpoint.value) }
        return counts
    }

    public func setCheckpoint(source: String, key: String, value: String) throws(StoreError) {
        try db.run("INSERT INTO checkpoints(source, key, value, updated_us) VALUES (?, ?, ?, ?) ON CONFLICT(source, key) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us", [.text(source), .text(key), .text(value), .integer(TimeArgument.nowMicros())])
    }

    // MARK: - Activity

    func insert(_ e: ActivityEvent, source: String, counts: inout WriteCounts) throws(StoreError) {
        let s = try db.prepare("""
            INSERT OR IGNORE INTO activity_events(identity_key, event_data_id, time_us, submission_us, category, operation, status,
              sub_status, level, caller, caller_ip, correlation_id, operation_id, resource_id, subscription_id, resource_group,
              resource_name, tenant_id, http_status, principal_id, principal_type, role, description, title, shape, source, raw)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)
            """)
        let rid = ResourceID(e.resourceId)
        s.bind(e.identityKey, at: 1); s.bind(e.eventDataId, at: 2); s.bind(e.timeUs, at: 3); s.bind(e.submissionUs, at: 4)
        s.bind(e.category, at: 5); s.bind(e.operation, at: 6); s.bind(e.status, at: 7); s.bind(e.subStatus, at: 8)
        s.bind(e.level, at: 9); s.bind(e.caller, at: 10); s.bind(e.callerIp, at: 11); s.bind(e.correlationId, at: 12)
        s.bind(e.operationId, at: 13); s.bind(rid.canonical, at: 14); s.bind(rid.subscription, at: 15); s.bind(rid.resourceGroup, at: 16)
        s.bind(rid.name, at: 17); s.bind(e.tenantId, at: 18); s.bind(e.httpStatus.map(Int64.init), at: 19); s.bind(e.principalId, at: 20)
        s.bind(e.principalType, at: 21); s.bind(e.role, at: 22); s.bind(e.description, at: 23); s.bind(e.title, at: 24)
        s.bind(e.shape, at: 25); s.bind(source, at: 26); s.bind(e.raw, at: 27)
        try s.runAndReset()
        if db.changes == 1 {
            counts.activity += 1
            let id = db.lastInsertRowID
            let body = [e.category, e.status, e.subStatus, e.caller, e.description, e.level, e.principalType, e.role, e.httpStatus.map(String.init)]
                .compactMap { $0 }.joined(separator: " ")
            try addSearchDoc(kind: "activity", refID: id, timeUs: e.timeUs, title: [e.title, e.operation].compactMap { $0 }.joined(separator: " "), body: body, resource: rid.shortName, resourceDim: try dim(.resource, rid.canonical))
            return
        }
        counts.duplicates += 1
        // Same event seen before: merge what the other shape lacked (the export shape has no
        // eventDataId or submission time).
        guard let eventDataId = e.eventDataId else { return }
        let m = try db.prepare("""
            UPDATE activity_events SET event_data_id = ?1, submission_us = COALESCE(submission_us, ?2),
              caller_ip = COALESCE(caller_ip, ?3), tenant_id = COALESCE(tenant_id, ?4)
            WHERE identity_key = ?5 AND event_data_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM activity_events WHERE event_data_id = ?1)
            """)
        m.bind(eventDataId, at: 1); m.bind(e.submissionUs, at: 2); m.bind(e.callerIp, at: 3); m.bind(e.tenantId, at: 4); m.bind(e.identityKey, at: 5)
        try m.runAndReset()
        if db.changes == 1 {
            counts.merged += 1
            // Evidence cites eventDataId once known (contracts.md).
            let c = try db.prepare("UPDATE changes SET source_id = ?1 WHERE source_kind = 'activity' AND dedupe_key >= ?2 AND dedupe_key < ?3")
            c.bind(eventDataId, at: 1); c.bind("activity:" + e.identityKey + ":", at: 2); c.bind("activity:" + e.identityKey + ";", at: 3)
            try c.runAndReset()
        }
    }

    // MARK: - Requests

    func insert(_ r: RequestRecord, source: String, counts: inout WriteCounts) throws(StoreError) {
        let minute = Timestamp.minuteFloor(r.timeUs)
        let fp = r.fingerprint
        let seen = try db.prepare("INSERT OR IGNORE INTO request_seen(minute_us, fingerprint) VALUES (?1, ?2)")
        seen.bind(minute, at: 1); seen.bind(fp, at: 2)
        try seen.runAndReset()
        guard db.changes == 1 else { counts.duplicates += 1; return }
        counts.requests += 1
        let key = RollupKey(minute: minute, resource: try dim(.resource, r.resourceId), deployment: try dim(.deployment, r.deployment),
                            caller: try dim(.caller, r.caller), api: try dim(.apiVersion, r.apiVersion), operation: try dim(.operation, r.operation),
                            status: r.status)
        let prev = rollup[key] ?? (0, 0)
        rollup[key] = (prev.count + 1, prev.duration + max(0, r.durationMs ?? 0))
        guard r.status >= 400 else { return }
        let s = try db.prepare("""
            INSERT OR IGNORE INTO request_failures(fingerprint, time_us, resource, category, operation, status, deployment, model,
              model_version, object_id, caller_ip, api_version, correlation_id, duration_ms, request_length, response_length,
              stream_type, region, extra, source)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
            """)
        s.bind(fp, at: 1); s.bind(r.timeUs, at: 2); s.bind(key.resource, at: 3); s.bind(r.category, at: 4); s.bind(r.operation, at: 5)
        s.bind(Int64(r.status), at: 6); s.bind(r.deployment, at: 7); s.bind(r.model, at: 8); s.bind(r.modelVersion, at: 9)
        s.bind(r.objectId, at: 10); s.bind(r.callerIp, at: 11); s.bind(r.apiVersion, at: 12)
        s.bind(r.correlationId, at: 13); s.bind(r.durationMs, at: 14); s.bind(r.requestLength, at: 15); s.bind(r.responseLength, at: 16)
        s.bind(r.streamType, at: 17); s.bind(r.region, at: 18); s.bind(r.extra, at: 19); s.bind(source, at: 20)
        try s.runAndReset()
        guard db.changes == 1 else { return }
        counts.failures += 1
        let id = db.lastInsertRowID
        let rid = ResourceID(r.resourceId)
        let body = ["HTTP \(r.status)", Self.statusWord(r.status), r.deployment, r.model, "api-version " + r.apiVersion, r.objectId.isEmpty ? "key caller " + r.callerIp : "entra caller " + r.objectId, r.region]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        try addSearchDoc(kind: "request", refID: id, timeUs: r.timeUs, title: "\(r.operation) \(r.status)", body: body, resource: rid.shortName, resourceDim: key.resource)
    }

    /// The id of a dimension value, inserted on first use.
    func dim(_ kind: DimKind, _ value: String) throws(StoreError) -> Int64 {
        if let last = lastDim[kind], last.0 == value { return last.1 }
        if let id = dimCache[kind]?[value] { lastDim[kind] = (value, id); return id }
        let ins = try db.prepare("INSERT INTO dims(kind, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
        ins.bind(kind.rawValue, at: 1); ins.bind(value, at: 2)
        try ins.runAndReset()
        let sel = try db.prepare("SELECT id FROM dims WHERE kind = ?1 AND value = ?2")
        sel.bind(kind.rawValue, at: 1); sel.bind(value, at: 2)
        defer { sel.reset() }
        guard try sel.step() else { throw .sqlite(code: 0, message: "dimension value vanished", sql: sel.sql) }
        let id = sel.int64(at: 0)
        dimCache[kind, default: [:]][value] = id
        lastDim[kind] = (value, id)
        return id
    }

    static func statusWord(_ status: Int) -> String? {
        switch status {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 408: return "Timeout"
        case 429: return "TooManyRequests throttled"
        case 500: return "InternalServerError"
        case 502: return "BadGateway"
        case 503: return "ServiceUnavailable"
        case 504: return "GatewayTimeout"
        default: return nil
        }
    }

    struct APIKey: Hashable { var resource: Int64, caller: Int64, api: Int64 }

    func flushRollup() throws(StoreError) {
        guard !rollup.isEmpty else { return }
        var apis: [APIKey: (first: Int64, last: Int64, count: Int64)] = [:]
        for (k, v) in rollup {
            let a = APIKey(resource: k.resource, caller: k.caller, api: k.api)
            let prev = apis[a] ?? (k.minute, k.minute, 0)
            apis[a] = (min(prev.first, k.minute), max(prev.last, k.minute), prev.count + v.count)
        }
        let up = try db.prepare("""
            INSERT INTO api_versions(resource, caller, api_version, first_us, last_us, requests) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT DO UPDATE SET first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us),
              requests = requests + excluded.requests
            """)
        for (a, v) in apis {
            up.bind(a.resource, at: 1); up.bind(a.caller, at: 2); up.bind(a.api, at: 3); up.bind(v.first, at: 4); up.bind(v.last, at: 5); up.bind(v.count, at: 6)
            try up.runAndReset()
        }
        let s = try db.prepare("""
            INSERT INTO request_rollup(minute_us, resource, deployment, caller, api_version, operation, status, count, duration_ms_sum)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            ON CONFLICT DO UPDATE SET count = count + excluded.count, duration_ms_sum = duration_ms_sum + excluded.duration_ms_sum
            """)
        for (k, v) in rollup {
            s.bind(k.minute, at: 1); s.bind(k.resource, at: 2); s.bind(k.deployment, at: 3); s.bind(k.caller, at: 4)
            s.bind(k.api, at: 5); s.bind(k.operation, at: 6); s.bind(Int64(k.status), at: 7); s.bind(v.count, at: 8); s.bind(v.duration, at: 9)
            try s.runAndReset()
        }
        rollup.removeAll(keepingCapacity: true)
    }

    /// Derives `api_version_change` changes: a caller's first request with an api-version it
    /// had not used before on that resource, when it used another one earlier. Idempotent; an
    /// earlier first use found later (out-of-order files) moves the change's time back.
    public func deriveAPIVersionChanges(source: String) throws -> Int {
        try db.transaction {
            let rows = try db.rows("""
                SELECT res.value, cal.value, api.value, a.first_us,
                  (SELECT pa.value FROM api_versions b JOIN dims pa ON pa.id = b.api_version
                   WHERE b.resource = a.resource AND b.caller = a.caller AND b.first_us < a.first_us
                   ORDER BY b.first_us DESC LIMIT 1)
                FROM api_versions a
                JOIN dims res ON res.id = a.resource JOIN dims cal ON cal.id = a.caller JOIN dims api ON api.id = a.api_version
                """)
            var added = 0
            for r in rows {
                guard let resource = r[0].text, let caller = r[1].text, let api = r[2].text, let first = r[3].integer, let previous = r[4].text else { continue }
                let name = ResourceID(resource).shortName
                let who = caller.contains("*") ? "key caller \(caller)" : "Entra caller \(caller)"
                let key = "apiver:" + resource + "|" + caller + "|" + api
                let summary = "\(who) on \(name) switched api-version \(previous) → \(api)"
                let detail = JSONValue.object(JSONObject([("caller", .string(caller)), ("old", .string(previous)), ("new", .string(api))])).serialized
                if let existing = try db.rows("SELECT id, time_us FROM changes WHERE dedupe_key = ?1", [.text(key)]).first {
                    if let t = existing[1].integer, first < t {
                        try db.run("UPDATE changes SET time_us = ?1, summary = ?2, detail = ?3 WHERE dedupe_key = ?4", [.integer(first), .text(summary), .text(detail), .text(key)])
                    }
                    continue
                }
                let s = try db.prepare("""
                    INSERT INTO changes(dedupe_key, time_us, kind, resource_id, actor, summary, detail, source_kind, source_id,
                      correlation_id, principal_id, app, source)
                    VALUES (?1, ?2, 'api_version_change', ?3, ?4, ?5, ?6, 'diagnostics', NULL, NULL, ?7, NULL, ?8)
                    """)
                s.bind(key, at: 1); s.bind(first, at: 2); s.bind(resource, at: 3); s.bind(caller, at: 4)
                s.bind(summary, at: 5); s.bind(detail, at: 6)
                s.bind(caller.contains("*") ? nil : caller, at: 7); s.bind(source, at: 8)
                try s.runAndReset()
                added += 1
                try addSearchDoc(kind: "change", refID: db.lastInsertRowID, timeUs: first, title: "api version change \(previous) \(api)",
                                 body: who, resource: name, resourceDim: try dim(.resource, resource))
            }
            return added
        }
    }

    // MARK: - Changes, incidents, quarantine

    func insert(_ c: ChangeRecord, source: String, counts: inout WriteCounts) throws(StoreError) {
        let s = try db.prepare("""
            INSERT OR IGNORE INTO changes(dedupe_key, time_us, kind, resource_id, actor, summary, detail, source_kind, source_id,
              correlation_id, principal_id, app, source)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
            """)
        s.bind(c.dedupeKey, at: 1); s.bind(c.timeUs, at: 2); s.bind(c.kind, at: 3); s.bind(ResourceID.canonical(c.resourceId), at: 4)
        s.bind(c.actor, at: 5); s.bind(c.summary, at: 6); s.bind(c.detail, at: 7); s.bind(c.sourceKind, at: 8); s.bind(c.sourceId, at: 9)
        s.bind(c.correlationId, at: 10); s.bind(c.principalId, at: 11); s.bind(c.app, at: 12); s.bind(source, at: 13)
        try s.runAndReset()
        guard db.changes == 1 else { counts.duplicates += 1; return }
        counts.changes += 1
        let rid = ResourceID(c.resourceId)
        try addSearchDoc(kind: "change", refID: db.lastInsertRowID, timeUs: c.timeUs, title: c.kind.replacingUnderscores + " " + c.summary, body: [c.actor, c.app, c.principalId].compactMap { $0 }.joined(separator: " "), resource: c.resourceId.isEmpty ? (c.app ?? "") : rid.shortName, resourceDim: c.resourceId.isEmpty ? nil : try dim(.resource, rid.canonical))
    }

    func insert(_ i: VendorIncident, source: String, counts: inout WriteCounts) throws(StoreError) {
        let s = try db.prepare("""
            INSERT OR IGNORE INTO vendor_incidents(incident_key, update_key, provider, title, status, impact, service, region,
              start_us, updated_us, resolved_us, url, body, source)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            """)
        s.bind(i.incidentKey, at: 1); s.bind(i.updateKey, at: 2); s.bind(i.provider, at: 3); s.bind(i.title, at: 4); s.bind(i.status, at: 5)
        s.bind(i.impact, at: 6); s.bind(i.service, at: 7); s.bind(i.region, at: 8); s.bind(i.startUs, at: 9); s.bind(i.updatedUs, at: 10)
        s.bind(i.resolvedUs, at: 11); s.bind(i.url, at: 12); s.bind(i.body, at: 13); s.bind(source, at: 14)
        try s.runAndReset()
        guard db.changes == 1 else { counts.duplicates += 1; return }
        counts.incidents += 1
        try addSearchDoc(kind: "incident", refID: db.lastInsertRowID, timeUs: i.updatedUs, title: i.title, body: [i.provider, i.status, i.impact, i.service, i.region, i.body.map { String($0.prefix(2000)) }].compactMap { $0 }.joined(separator: " "), resource: i.service ?? "", resourceDim: nil)
    }

    func insert(_ q: QuarantineEntry, runID: Int64?, counts: inout WriteCounts) throws(StoreError) {
        let key = StableHash.hex(q.source, String(q.line ?? -1), String(q.byteOffset ?? -1), q.reason)
        let s = try db.prepare("""
            INSERT OR IGNORE INTO quarantine(dedupe_key, run_id, source, location, line, byte_offset, reason, excerpt, created_us)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """)
        let location = q.line.map { "\(q.source):\($0)" } ?? q.source
        s.bind(key, at: 1); s.bind(runID, at: 2); s.bind(q.source, at: 3); s.bind(location, at: 4); s.bind(q.line.map(Int64.init), at: 5)
        s.bind(q.byteOffset, at: 6); s.bind(q.reason, at: 7); s.bind(Redactor.redact(q.excerpt), at: 8); s.bind(TimeArgument.nowMicros(), at: 9)
        try s.runAndReset()
        if db.changes == 1 { counts.quarantined += 1 } else { counts.duplicates += 1 }
    }

    // MARK: - Search

    /// Adds a search document whose rowid is `timeUs << 8 | n` (n breaks ties), so FTS5's
    /// native descending rowid order is newest first.
    func addSearchDoc(kind: String, refID: Int64, timeUs: Int64, title: String, body: String, resource: String, resourceDim: Int64?) throws(StoreError) {
        let doc = try db.prepare("INSERT OR IGNORE INTO search_docs(rowid, kind, ref_id, resource) VALUES (?1, ?2, ?3, ?4)")
        var rowid = timeUs << 8
        for _ in 0..<4096 {
            doc.bind(rowid, at: 1); doc.bind(kind, at: 2); doc.bind(refID, at: 3); doc.bind(resourceDim, at: 4)
            try doc.runAndReset()
            if db.changes == 1 { break }
            rowid += 1
        }
        let fts = try db.prepare("INSERT INTO search_fts(rowid, kind, title, body, resource) VALUES (?1, ?2, ?3, ?4, ?5)")
        fts.bind(rowid, at: 1); fts.bind(kind, at: 2); fts.bind(title, at: 3); fts.bind(body, at: 4); fts.bind(resource, at: 5)
        try fts.runAndReset()
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
