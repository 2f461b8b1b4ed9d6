import AuditCore

/// What one collector run of one source did, as `sources` keeps it for `status`.
public struct SourceRunRecord: Sendable, Equatable {
    public var name: String
    public var type: String
    /// When the run of this source ended, UTC microseconds.
    public var finishedUs: Int64
    /// nil: the source succeeded.
    public var error: String?
    /// Records newly stored by this run (added to `sources.records`).
    public var newRecords: Int
    /// Newest record time vs the end of the fetched window; nil keeps the last known lag.
    public var lagUs: Int64?
    /// The per-source summary (JSON object text: pages, records, duplicates, retries…).
    public var summary: String

    public init(name: String, type: String, finishedUs: Int64, error: String?, newRecords: Int, lagUs: Int64?, summary: String) {
        self.name = name
        self.type = type
        self.finishedUs = finishedUs
        self.error = error
        self.newRecords = newRecords
        self.lagUs = lagUs
        self.summary = summary
    }
}

/// Writes and reads of per-source state on a `Connection`, for callers that share one
/// connection under their own lock (collectors run through `SourceStore.withConnection`).
extension Connection {
    /// Records the outcome of one collector run in `sources`: last run, last success (kept from
    /// before when this run failed), last error (cleared on success, redacted), the lag and the
    /// summary JSON; `records` accumulates what was newly stored.
    public func recordSourceRun(_ r: SourceRunRecord) throws(StoreError) {
        try run("""
            INSERT INTO sources(name, type, last_run_us, last_success_us, last_error, records, lag_us, summary)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            ON CONFLICT(name) DO UPDATE SET type = excluded.type, last_run_us = excluded.last_run_us,
              last_success_us = COALESCE(excluded.last_success_us, sources.last_success_us),
              last_error = excluded.last_error, records = sources.records + excluded.records,
              lag_us = COALESCE(excluded.lag_us, sources.lag_us), summary = excluded.summary
            """, [.text(r.name), .text(r.type), .integer(r.finishedUs), r.error == nil ? .integer(r.finishedUs) : .null,
                  SQLValue(r.error.map(Redactor.redact)), .integer(Int64(r.newRecords)), SQLValue(r.lagUs), .text(r.summary)])
    }

    /// Every cursor of `source` (key → value).
    public func checkpoints(source: String) throws(StoreError) -> [String: String] {
        var out: [String: String] = [:]
        for r in try rows("SELECT key, value FROM checkpoints WHERE source = ?1", [.text(source)]) {
            if let k = r[0].text { out[k] = r[1].text ?? "" }
        }
        return out
    }

    /// The end of the latest window `source` fetched for `scope` (nil: never fetched).
    public func coverageEnd(source: String, scope: String) throws(StoreError) -> Int64? {
        try scalar("SELECT max(to_us) FROM coverage WHERE source = ?1 AND scope = ?2", [.text(source), .text(scope)])?.integer
    }
}

/// A stretch of time a source fetched without a gap, for one scope: how many windows it was
/// fetched in, how many came back empty, and how many records they held. Time between two
/// ranges of a scope was never fetched.
public struct CoverageRange: Sendable, Equatable {
    public var scope: String
    public var fromUs: Int64
    public var toUs: Int64
    public var windows: Int
    public var emptyWindows: Int
    public var records: Int64

    public init(scope: String, fromUs: Int64, toUs: Int64, windows: Int, emptyWindows: Int, records: Int64) {
        self.scope = scope
        self.fromUs = fromUs
        self.toUs = toUs
        self.windows = windows
        self.emptyWindows = emptyWindows
        self.records = records
    }

    /// Merges windows (scope, from, to, records) into ranges: per scope, windows that overlap
    /// or touch become one range. Output ordered by scope, then time.
    public static func merge(_ windows: [(scope: String, fromUs: Int64, toUs: Int64, records: Int64)]) -> [CoverageRange] {
        let sorted = windows.sorted { ($0.scope, $0.fromUs, $0.toUs) < ($1.scope, $1.fromUs, $1.toUs) }
        var out: [CoverageRange] = []
        for w in sorted {
            if var last = out.last, last.scope == w.scope, w.fromUs <= last.toUs {
                last.toUs = max(last.toUs, w.toUs)
                last.windows += 1
                last.emptyWindows += w.records == 0 ? 1 : 0
                last.records += w.records
                out[out.count - 1] = last
            } else {
                out.append(CoverageRange(scope: w.scope, fromUs: w.fromUs, toUs: max(w.fromUs, w.toUs), windows: 1,
                                         emptyWindows: w.records == 0 ? 1 : 0, records: w.records))
            }
        }
        return out
    }
}
