import AuditCore
import AuditNet
import AuditStore
import Foundation

/// `type: diagnostics-log-analytics` — Azure OpenAI `RequestResponse` logs from a Log Analytics
/// workspace (`AzureDiagnostics`, formats.md §4.3–4.4).
///
/// Exactly once without re-reading: windows are cut on **ingestion time**
/// (`ingestion_time()`), not `TimeGenerated`, so a record that arrives late still lands in a
/// window that has not been read yet. Each window `[from, to)` with `to ≤ now − lag` is queried
/// once; its rows, its coverage and the cursor `ingested_to = to` commit in one transaction, so
/// a crash re-runs only the windows that did not commit. Windows go oldest first and commit one
/// by one: a long first run (7 days by default) is resumable.
///
/// Two queries per window (`kql(failuresFrom:to:)`, `kql(summaryFrom:to:)`): failures
/// (status ≥ 400) come back whole and are stored as request records; successes come back
/// counted per minute and dimensions and go straight into the rollup, fingerprinted by
/// ("la", window start, minute, dimensions, status) in `request_seen`, so writing a window
/// twice never counts it twice.
///
/// A partial result (HTTP 200 with tables and a top-level `error`) is not final: the window's
/// rows are kept (failures are idempotent per record), a warning names the window and the
/// error code, and the cursor stays *before* that window — the next run queries it again and
/// no later window is read in this run. Summarized counts of a partial summary query are held
/// back (not written): a fingerprint cannot tell a complete count from an incomplete one, so
/// writing them would either freeze the low count or double count on the re-read.
///
/// Cursor: `ingested_to` (UTC µs, the end of the last committed window). `--since` applies to
/// the first run only (nothing committed yet); later runs continue at the cursor.
public struct LogAnalyticsCollector: Collector {
    public static let type = "diagnostics-log-analytics"
    public static let keys = ["workspace", "window", "lag"]
    public static let needsCredentials = true

    public static let defaultWindow: Int64 = Timestamp.microsPerHour
    public static let defaultLag: Int64 = 10 * Timestamp.microsPerMinute
    public static let checkpointKey = "ingested_to"
    /// Seconds the service may take (`Prefer: wait=120`).
    static let serverWait = 120

    public let name: String
    /// The workspace id (customerId GUID), lower-cased.
    public let workspace: String
    public let window: Int64
    public let lag: Int64

    public init(source: SourceConfig) throws(ConfigError) {
        name = source.name
        let ws = (try source.string("workspace", required: true) ?? "").trimmingSpaces
        guard ws.isGUID else {
            let why = ws.hasPrefix("/") ? " (that is the ARM resource id)" : ""
            throw source.invalid("workspace", "'\(ws)' is not a workspace id\(why): give the workspace's customerId GUID (az monitor log-analytics workspace show --query customerId)")
        }
        workspace = ws.lowercased()
        if let w = try source.string("window") {
            guard let us = TimeArgument.duration(w), us >= Timestamp.microsPerMinute, us <= Timestamp.microsPerDay else {
                throw source.invalid("window", "'\(w)' is not a window between 1m and 1d (e.g. 1h, 30m)")
            }
            window = us
        } else {
            window = Self.defaultWindow
        }
        if let l = try source.string("lag") {
            guard let us = TimeArgument.duration(l, allowZero: true), us <= Timestamp.microsPerDay else {
                throw source.invalid("lag", "'\(l)' is not a duration of at most 1d (e.g. 10m, 0m)")
            }
            lag = us
        } else {
            lag = Self.defaultLag
        }
    }

    // MARK: - Queries

    /// The failures query of the window `[from, to)` (ingestion time), as sent.
    public static func kql(failuresFrom from: Int64, to: Int64) -> String {
        """
        AzureDiagnostics
        | where ingestion_time() >= datetime(\(Timestamp.iso(from))) and ingestion_time() < datetime(\(Timestamp.iso(to)))
        | where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse"
        | where toint(ResultSignature) >= 400
        | project TimeGenerated, ResourceId, Category, OperationName, ResultSignature, DurationMs, CallerIPAddress, CorrelationId, location_s, properties_s
        """
    }

    /// The summarized-successes query of the window `[from, to)` (ingestion time), as sent.
    public static func kql(summaryFrom from: Int64, to: Int64) -> String {
        """
        AzureDiagnostics
        | where ingestion_time() >= datetime(\(Timestamp.iso(from))) and ingestion_time() < datetime(\(Timestamp.iso(to)))
        | where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse"
        | where toint(ResultSignature) < 400
        | extend p = parse_json(properties_s)
        | summarize Requests = count(), DurationMs = sum(DurationMs) by Minute = bin(TimeGenerated, 1m), ResourceId, OperationName, ResultSignature, Deployment = tostring(p.modelDeploymentName), ApiName = tostring(p.apiName), ObjectId = tostring(p.objectId), CallerIPAddress, location_s
        """
    }

    /// The windows the next run would query (oldest first), for `collect --show-query` and tests.
    public func windows(now: Int64, since: Int64?, checkpoints: [String: String]) -> [(from: Int64, to: Int64)] {
        var from = start(now: now, since: since, checkpoints: checkpoints)
        var out: [(from: Int64, to: Int64)] = []
        while from + window <= now - lag {
            out.append((from, from + window))
            from += window
        }
        return out
    }

    func start(now: Int64, since: Int64?, checkpoints: [String: String]) -> Int64 {
        if let cursor = checkpoints[Self.checkpointKey].flatMap({ Int64($0) }) { return cursor }
        let s = since ?? now - 7 * Timestamp.microsPerDay
        let r = s % window
        return r < 0 ? s - r - window : s - r
    }

    /// The query endpoint of the workspace.
    func queryURL(_ endpoints: CloudEndpoints) -> String { "\(endpoints.logAnalytics)/v1/workspaces/\(workspace)/query" }

    // MARK: - Collect

    public func collect(_ context: CollectContext) throws -> SourceOutcome {
        var outcome = SourceOutcome(name: name, type: Self.type)
        let auth = try context.bearer(context.endpoints.logAnalyticsScope)
        if context.since != nil, let cursor = context.checkpoints[Self.checkpointKey].flatMap({ Int64($0) }) {
            context.log("--since ignored: windows up to \(Timestamp.isoSeconds(cursor)) are already committed (exactly once); continuing there")
        }
        var newest: Int64?
        for (from, to) in windows(now: context.now, since: context.since, checkpoints: context.checkpoints) {
            let label = "\(Timestamp.isoSeconds(from))…\(Timestamp.isoSeconds(to))"
            let router = RecordRouter(forced: .logAnalytics, location: "\(name): workspace \(workspace) window \(label)")

            // Failures, whole.
            let failures = try query(Self.kql(failuresFrom: from, to: to), context: context, auth: auth, outcome: &outcome)
            var batch = RecordBatch()
            if let table = failures.primary {
                router.routeTables(.array([table]), line: 0, into: &batch)
            }
            // Successes, counted.
            let summary = try query(Self.kql(summaryFrom: from, to: to), context: context, auth: auth, outcome: &outcome)
            var rows: [RequestSummary] = []
            if let table = summary.primary {
                rows = Self.summaryRows(table, location: router.location, into: &batch)
            }
            for r in batch.requests { newest = max(newest ?? r.timeUs, r.timeUs) }
            for r in rows { newest = max(newest ?? r.minuteUs, r.minuteUs) }

            let summarized = rows.reduce(Int64(0)) { $0 + $1.requests }
            let records = batch.read + Int(summarized)
            outcome.records += records
            let partial = failures.error ?? summary.error
            let summaries = summary.error == nil ? RequestSummaries(scope: "la|" + String(from), rows: rows) : nil
            if let partial {
                // Keep what came back, leave the cursor before this window, and stop: the next
                // run queries it again (failures dedupe per record; held-back counts are new).
                outcome.counts += try context.store.write(batch, source: name, summaries: summaries)
                let which = [failures.error == nil ? nil : "failures", summary.error == nil ? nil : "summary"].compactMap { $0 }.joined(separator: " and ")
                outcome.warnings.append("window \(label): Log Analytics returned a partial result for the \(which) query (\(Self.describe(partial))); "
                    + "kept \(batch.requests.count) failure row\(batch.requests.count == 1 ? "" : "s")"
                    + (summary.error == nil ? " and \(summarized) summarized requests" : ", held back the summarized counts")
                    + "; the window will be queried again next run")
                context.log("window \(label): partial result, stopping before it")
                break
            }
            outcome.counts += try context.store.write(
                batch, source: name, checkpoints: [(Self.checkpointKey, String(to))],
                coverage: [CoverageWindow(scope: "workspace:\(workspace)", fromUs: from, toUs: to, records: records)],
                summaries: summaries)
            context.log("window \(label): \(batch.read) failure rows, \(summarized) successful requests in \(rows.count) summary rows")
        }
        if let newest { outcome.lagSeconds = max(0, (context.now - newest) / Timestamp.microsPerSecond) }
        return outcome
    }

    struct QueryResult {
        var primary: JSONValue?
        /// The top-level `error` of a partial result.
        var error: JSONObject?
    }

    /// POSTs one query; non-200 answers become a `CollectError` that says what to do.
    func query(_ kql: String, context: CollectContext, auth: (name: String, value: String), outcome: inout SourceOutcome) throws -> QueryResult {
        let url = queryURL(context.endpoints)
        let body = JSONValue.object(JSONObject([("query", .string(kql))])).serialized
        var request = HTTPRequest(method: "POST", url: url, headers: [auth, ("Content-Type", "application/json"), ("Prefer", "wait=\(Self.serverWait)")], body: Array(body.utf8))
        request.timeout = Double(Self.serverWait + 60)
        let response = try context.http.send(request)
        outcome.pages += 1
        guard response.status == 200 else { throw failure(response, url: url, scope: context.endpoints.logAnalyticsScope) }
        guard case .object(let o)? = try? JSONParser.parse(response.body), let tables = o["tables"]?.arrayValue else {
            let error = (try? JSONParser.parse(response.body))?["error"]?.objectValue
            throw CollectError.service(source: name, url: url, status: 200, code: error?["code"]?.nonEmptyText,
                                       message: error.map(Self.message) ?? "the answer is not a Log Analytics query result (no `tables`)",
                                       hint: "check that `cloud.log_analytics` points at the Log Analytics query API")
        }
        let primary = tables.first { $0["name"]?.text == "PrimaryResult" } ?? tables.first
        return QueryResult(primary: primary, error: o["error"]?.objectValue)
    }

    /// The summary rows of one table (columns by name; longs as numbers or strings). A row
    /// that cannot be read is quarantined, like a bad failure row.
    static func summaryRows(_ table: JSONValue, location: String, into batch: inout RecordBatch) -> [RequestSummary] {
        let columns = (table["columns"]?.arrayValue ?? []).map { $0["name"]?.text ?? "" }
        var out: [RequestSummary] = []
        for (i, row) in (table["rows"]?.arrayValue ?? []).enumerated() {
            let o = JSONObject(zip(columns, row.arrayValue ?? []).map { (key: $0, value: $1) })
            let reason: String?
            if let m = o["Minute"]?.nonEmptyText.flatMap(Timestamp.parse) {
                if let resource = o["ResourceId"]?.nonEmptyText {
                    if let status = o["ResultSignature"]?.int64 {
                        if let n = o["Requests"]?.int64 {
                            out.append(RequestSummary(
                                minuteUs: m, resourceId: resource, deployment: o["Deployment"]?.nonEmptyText ?? "",
                                objectId: o["ObjectId"]?.nonEmptyText ?? "", callerIp: o.first("CallerIPAddress", "CallerIpAddress")?.nonEmptyText ?? "",
                                apiVersion: DiagnosticsNormalizer.apiVersion(fromAPIName: o["ApiName"]?.text ?? ""),
                                operation: o["OperationName"]?.nonEmptyText ?? "", status: Int(status), requests: n,
                                durationMsSum: o["DurationMs"]?.int64 ?? 0))
                            continue
                        } else { reason = "missing or non-numeric Requests" }
                    } else { reason = "missing or non-numeric ResultSignature" }
                } else { reason = "missing ResourceId" }
            } else { reason = "missing or unreadable Minute" }
            batch.read += 1
            batch.quarantine.append(QuarantineEntry(
                source: location + " (summary row \(i + 1))", line: nil, byteOffset: nil, reason: reason ?? "unreadable summary row",
                excerpt: String(Redactor.redact(String(row.serialized.prefix(4096))).prefix(200))))
        }
        return out
    }

    // MARK: - Errors

    /// `code: message` of an error object, with the innermost `innererror` / first `details`
    /// entry when it says more (Log Analytics puts the useful text there).
    static func describe(_ e: JSONObject) -> String {
        let code = e["code"]?.nonEmptyText ?? "error"
        return code + ": " + message(e)
    }

    static func message(_ e: JSONObject) -> String {
        var parts: [String] = []
        if let m = e["message"]?.nonEmptyText { parts.append(m) }
        var inner = e["innererror"]?.objectValue ?? e["details"]?.arrayValue?.first?.objectValue
        var depth = 0
        while let i = inner, depth < 5 {
            if let m = i["message"]?.nonEmptyText, !parts.contains(m) {
                parts.append((i["code"]?.nonEmptyText.map { "\($0): " } ?? "") + m)
            }
            inner = i["innererror"]?.objectValue ?? i["details"]?.arrayValue?.first?.objectValue
            depth += 1
        }
        return Redactor.redact(parts.joined(separator: " — "))
    }

    func failure(_ response: HTTPResponse, url: String, scope: String) -> CollectError {
        let error = (try? JSONParser.parse(response.body))?["error"]?.objectValue
        let code = error?["code"]?.nonEmptyText
        let message = error.map(Self.message) ?? Redactor.redact(String(response.text.prefix(300)))
        var hint: String
        switch response.status {
        case 403:
            hint = "the identity needs the 'Log Analytics Reader' role on the workspace (Microsoft.OperationalInsights/workspaces/query/read)"
        case 401:
            hint = "the token was refused; check the credential, the tenant, and that the token is for \(scope) (the cloud's Log Analytics endpoint)"
        case 404:
            hint = "no workspace \(workspace) there; `workspace` must be the workspace id (customerId GUID), not its name or ARM id"
        case 400:
            hint = message.contains("resolve") || message.contains("location_s") || message.contains("properties_s")
                ? "the workspace has no such AzureDiagnostics column yet; check that the Azure OpenAI accounts send RequestResponse logs to this workspace"
                : "the workspace refused the query"
        default:
            hint = ""
        }
        if !response.requestIDs.isEmpty { hint += (hint.isEmpty ? "" : " ") + "(\(response.requestIDs.joined(separator: ", ")))" }
        return .service(source: name, url: url, status: response.status, code: code, message: message, hint: hint)
    }
}
