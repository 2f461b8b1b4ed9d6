import AuditCore

/// Requests already counted elsewhere — e.g. a Log Analytics `summarize count() by bin(1m), …`
/// — that go straight into the per-minute rollup without one `RequestRecord` per request.
///
/// The dimensions are normalized the way `DiagnosticsNormalizer` normalizes a record (resource
/// id canonical, object id lower-cased, minute floored), and the caller dimension is
/// `RequestRecord.caller`'s rule (object id when non-empty, else the masked IP), so the same
/// requests give the same `request_rollup` row whether they were loaded one by one (blobs,
/// `import`) or as counts.
public struct RequestSummary: Sendable, Equatable {
    public var minuteUs: Int64
    public var resourceId: String
    public var deployment: String
    /// Entra object id for token callers, "" for key callers.
    public var objectId: String
    /// Masked caller IP (`198.51.100.***`).
    public var callerIp: String
    public var apiVersion: String
    public var operation: String
    public var status: Int
    /// How many requests this row stands for.
    public var requests: Int64
    /// Their total duration.
    public var durationMsSum: Int64

    public init(minuteUs: Int64, resourceId: String, deployment: String, objectId: String, callerIp: String, apiVersion: String, operation: String, status: Int, requests: Int64, durationMsSum: Int64) {
        self.minuteUs = Timestamp.minuteFloor(minuteUs)
        self.resourceId = ResourceID.canonical(resourceId)
        self.deployment = deployment
        self.objectId = objectId.trimmingSpaces.asciiLowercased
        self.callerIp = callerIp
        self.apiVersion = apiVersion
        self.operation = operation
        self.status = status
        self.requests = requests
        self.durationMsSum = durationMsSum
    }

    /// Who called: the Entra object id when present, else the masked IP (as `RequestRecord.caller`).
    public var caller: String { objectId.isEmpty ? callerIp : objectId }
}

/// A set of summary rows and what makes them distinct from every other set: `scope` goes into
/// each row's `request_seen` fingerprint, so writing the same set again (a re-read window)
/// counts nothing twice, while the same minute and dimensions from another set (the next
/// ingestion window) still add up.
public struct RequestSummaries: Sendable {
    /// e.g. `la|<window start µs>` for a Log Analytics ingestion window.
    public var scope: String
    public var rows: [RequestSummary]

    public init(scope: String, rows: [RequestSummary]) {
        self.scope = scope
        self.rows = rows
    }
}

extension StoreWriter {
    struct SummaryKey: Hashable {
        var minute: Int64, resource: String, deployment: String, caller: String, api: String, operation: String, status: Int
    }

    /// The `request_seen` fingerprint of one (merged) summary row.
    static func summaryFingerprint(scope: String, _ k: SummaryKey) -> Int64 {
        var h = StableHash()
        h.combine("summary"); h.combine(scope); h.combine(k.minute); h.combine(k.resource); h.combine(k.deployment)
        h.combine(k.caller); h.combine(k.api); h.combine(k.operation); h.combine(Int64(k.status))
        return h.value
    }

    /// Adds pre-counted requests to the rollup (and `api_versions`), inside the caller's
    /// transaction. Rows with the same minute and dimensions are merged first (a query may
    /// group by more columns than the rollup keeps, e.g. the IP of an Entra caller or the
    /// region); each merged row is counted once per `summaries.scope` through `request_seen`.
    /// `counts.requests` grows by the requests represented, `counts.duplicates` by those
    /// already counted.
    func add(_ summaries: RequestSummaries, counts: inout WriteCounts) throws(StoreError) {
        var merged: [SummaryKey: (count: Int64, duration: Int64)] = [:]
        var order: [SummaryKey] = []
        for r in summaries.rows where r.requests > 0 {
            let k = SummaryKey(minute: r.minuteUs, resource: r.resourceId, deployment: r.deployment, caller: r.caller,
                               api: r.apiVersion, operation: r.operation, status: r.status)
            if let prev = merged[k] {
                merged[k] = (prev.count + r.requests, prev.duration + max(0, r.durationMsSum))
            } else {
                merged[k] = (r.requests, max(0, r.durationMsSum))
                order.append(k)
            }
        }
        guard !order.isEmpty else { return }
        let seen = try db.prepare("INSERT OR IGNORE INTO request_seen(minute_us, fingerprint) VALUES (?1, ?2)")
        for k in order {
            guard let v = merged[k] else { continue }
            seen.bind(k.minute, at: 1); seen.bind(Self.summaryFingerprint(scope: summaries.scope, k), at: 2)
            try seen.runAndReset()
            guard db.changes == 1 else { counts.duplicates += Int(v.count); continue }
            counts.requests += Int(v.count)
            let key = RollupKey(minute: k.minute, resource: try dim(.resource, k.resource), deployment: try dim(.deployment, k.deployment),
                                caller: try dim(.caller, k.caller), api: try dim(.apiVersion, k.api), operation: try dim(.operation, k.operation),
                                status: k.status)
            let prev = rollup[key] ?? (0, 0)
            rollup[key] = (prev.count + v.count, prev.duration + v.duration)
        }
        try flushRollup()
    }

    /// Writes `batch`, pre-counted `summaries`, several checkpoints and whatever `extra` adds,
    /// in one transaction (the Log Analytics collector: a window's failure rows, its summarized
    /// successes and the cursor past it).
    public func write(_ batch: RecordBatch, summaries: RequestSummaries?, source: String, runID: Int64?, checkpoints: [(key: String, value: String)], extra: (Connection) throws -> Void) throws -> WriteCounts {
        var added = WriteCounts()
        var counts = try write(batch, source: source, runID: runID, checkpoints: checkpoints) { db in
            if let summaries { try self.add(summaries, counts: &added) }
            try extra(db)
        }
        counts += added
        return counts
    }
}
