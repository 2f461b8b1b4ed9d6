import AuditCore
import AuditNet
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@testable import AuditCollect

/// An in-test Azure: canned HTTP answers per request, the requests recorded, fixed tokens.
/// Shared by the Log Analytics and RBAC snapshot collector tests.
enum CannedAzure {
    final class HTTP: HTTPTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var handler: (HTTPRequest) -> HTTPResponse
        private var sent: [HTTPRequest] = []

        init(_ handler: @escaping (HTTPRequest) -> HTTPResponse) { self.handler = handler }

        func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
            lock.lock(); defer { lock.unlock() }
            sent.append(request)
            return handler(request)
        }

        var stats: HTTPStats { HTTPStats() }

        var requests: [HTTPRequest] { lock.lock(); defer { lock.unlock() }; return sent }

        func reset(_ handler: ((HTTPRequest) -> HTTPResponse)? = nil) {
            lock.lock(); defer { lock.unlock() }
            sent = []
            if let handler { self.handler = handler }
        }
    }

    final class Tokens: TokenProvider, @unchecked Sendable {
        private let lock = NSLock()
        private var asked: [String] = []
        func token(scope: String) throws(AuthError) -> AccessToken {
            lock.lock(); defer { lock.unlock() }
            asked.append(scope)
            return AccessToken(value: "test-token", expiresOnMicros: Int64.max)
        }
        var method: AuthMethod { .clientSecret }
        var scopes: [String] { lock.lock(); defer { lock.unlock() }; return asked }
    }

    static func json(_ status: Int, _ body: String, headers: [String: String] = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "application/json"].merging(headers) { $1 }, body: Array(body.utf8))
    }

    /// A fresh database and the store a run writes through.
    static func store() throws -> SourceStore {
        let db = try Database(path: TestSupport.makeTempDirectory("aoai-collect").appendingPathComponent("audit.db").path)
        return SourceStore(database: db, runID: nil)
    }

    /// The source's committed cursors, as the runner hands them to a collector.
    static func checkpoints(_ store: SourceStore, source: String) throws -> [String: String] {
        try store.withConnection { db in
            var out: [String: String] = [:]
            for r in try db.rows("SELECT key, value FROM checkpoints WHERE source = ?1", [.text(source)]) {
                if let k = r[0].text, let v = r[1].text { out[k] = v }
            }
            return out
        }
    }

    static func context(_ source: SourceConfig, http: HTTP, tokens: Tokens = Tokens(), store: SourceStore, now: Int64, since: Int64? = nil) throws -> CollectContext {
        CollectContext(source: source, http: http, tokens: tokens, endpoints: CloudEndpoints(), since: since, now: now,
                       checkpoints: try checkpoints(store, source: source.name), store: store)
    }

    static func header(_ r: HTTPRequest, _ name: String) -> String? {
        r.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    static func scalar(_ store: SourceStore, _ sql: String, _ bindings: [SQLValue] = []) throws -> Int64 {
        try store.withConnection { try $0.scalar(sql, bindings)?.integer ?? 0 }
    }
}

/// `diagnostics-log-analytics`: ingestion-time windows, the two agreed queries, exactly-once
/// commits, partial results, summary rows in the rollup (formats.md §4.3–4.4).
@Suite struct LogAnalyticsCollectorTests {
    static let workspace = "0c0ffee0-1234-4abc-9def-0123456789ab"
    static let account = "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-AI/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/AOAI-PROD-EUS"
    static let entra = "DDDDDDDD-1111-2222-3333-444444444444"

    static func t(_ hour: Int64, _ minute: Int64 = 0, _ second: Int64 = 0) -> Int64 {
        Timestamp.make(year: 2026, month: 11, day: 23, hour: hour, minute: minute, second: second) ?? 0
    }

    static func source(window: String? = nil, lag: String? = nil, workspace: String = workspace) -> SourceConfig {
        var values: [String: SourceValue] = ["workspace": SourceValue(line: 3, string: workspace)]
        if let window { values["window"] = SourceValue(line: 4, string: window) }
        if let lag { values["lag"] = SourceValue(line: 5, string: lag) }
        return SourceConfig(name: "la", type: LogAnalyticsCollector.type, configPath: "aoai-audit.yaml", line: 2, values: values)
    }

    // MARK: - Canned workspace

    static let failureColumns = #"[{"name":"TimeGenerated","type":"datetime"},{"name":"ResourceId","type":"string"},{"name":"Category","type":"string"},{"name":"OperationName","type":"string"},{"name":"ResultSignature","type":"string"},{"name":"DurationMs","type":"long"},{"name":"CallerIPAddress","type":"string"},{"name":"CorrelationId","type":"string"},{"name":"location_s","type":"string"},{"name":"properties_s","type":"string"}]"#
    static let summaryColumns = #"[{"name":"Minute","type":"datetime"},{"name":"ResourceId","type":"string"},{"name":"OperationName","type":"string"},{"name":"ResultSignature","type":"string"},{"name":"Deployment","type":"string"},{"name":"ApiName","type":"string"},{"name":"ObjectId","type":"string"},{"name":"CallerIPAddress","type":"string"},{"name":"location_s","type":"string"},{"name":"Requests","type":"long"},{"name":"DurationMs","type":"long"}]"#

    static func props(objectId: String = "", deployment: String = "gpt-4o-prod", api: String = "2024-10-21") -> String {
        #"{"apiName":"Azure OpenAI API version \#(api)","requestLength":412,"responseLength":224,"objectId":"\#(objectId)","streamType":"Non-Streaming","modelDeploymentName":"\#(deployment)","modelName":"gpt-4o"}"#
    }

    /// One failure row; `numbers` sends the longs as JSON numbers instead of strings.
    static func failureRow(_ time: Int64, status: Int = 401, duration: Int = 3, correlation: String, objectId: String = "", numbers: Bool = false) -> String {
        let s = numbers ? "\(status)" : "\"\(status)\"", d = numbers ? "\(duration)" : "\"\(duration)\""
        return #"["\#(Timestamp.iso(time))","\#(account)","RequestResponse","ChatCompletions_Create",\#(s),\#(d),"198.51.100.***","\#(correlation)","eastus",\#(JSONValue.string(props(objectId: objectId)).serialized)]"#
    }

    static func table(_ columns: String, _ rows: [String]) -> String {
        #"{"name":"PrimaryResult","columns":\#(columns),"rows":[\#(rows.joined(separator: ","))]}"#
    }

    static func result(_ columns: String, _ rows: [String], error: String? = nil) -> String {
        #"{"tables":[\#(table(columns, rows))]\#(error.map { #","error":\#($0)"# } ?? "")}"#
    }

    static let partialError = #"{"code":"PartialError","message":"There were some errors when processing your query.","details":[{"code":"EngineError","message":"Something went wrong processing your query on the server."}]}"#

    /// A workspace answering per window start: failure rows and summary rows (row JSON).
    final class Workspace: @unchecked Sendable {
        var failures: [Int64: [String]] = [:]
        var summaries: [Int64: [String]] = [:]
        var partialFailures: Set<Int64> = []
        var partialSummaries: Set<Int64> = []

        func answer(_ r: HTTPRequest) -> HTTPResponse {
            guard let body = r.body, let q = (try? JSONParser.parse(body))?["query"]?.text,
                  let open = q.range(of: "datetime("), let close = q.range(of: ")", range: open.upperBound..<q.endIndex),
                  let from = Timestamp.parse(String(q[open.upperBound..<close.lowerBound])) else {
                return CannedAzure.json(400, #"{"error":{"code":"BadArgumentError","message":"unexpected query"}}"#)
            }
            if q.contains("summarize") {
                return CannedAzure.json(200, LogAnalyticsCollectorTests.result(summaryColumns, summaries[from] ?? [], error: partialSummaries.contains(from) ? partialError : nil))
            }
            return CannedAzure.json(200, LogAnalyticsCollectorTests.result(failureColumns, failures[from] ?? [], error: partialFailures.contains(from) ? partialError : nil))
        }
    }

    /// Three full windows before now − lag: [00:00, 01:00), [01:00, 02:00), [02:00, 03:00).
    static let now = t(3, 15)
    static let since = t(0, 20)

    static func standardWorkspace() -> Workspace {
        let w = Workspace()
        w.failures[t(0)] = [failureRow(t(0, 5, 1), correlation: "c-0001"), failureRow(t(0, 5, 2), correlation: "c-0002")]
        w.failures[t(1)] = [failureRow(t(1, 7), status: 403, correlation: "c-0003")]
        w.failures[t(2)] = []
        w.summaries[t(0)] = [summaryRow(t(0, 5), requests: "10", duration: "250")]
        w.summaries[t(1)] = [summaryRow(t(1, 7), requests: "4", duration: "80")]
        w.summaries[t(2)] = [summaryRow(t(2, 30), requests: "1", duration: "9")]
        return w
    }

    static func summaryRow(_ minute: Int64, status: String = "\"200\"", deployment: String = "gpt-4o-prod", api: String = "Azure OpenAI API version 2024-10-21",
                           objectId: String = "", ip: String = "198.51.100.***", requests: String, duration: String) -> String {
        #"["\#(Timestamp.iso(minute))","\#(account)","ChatCompletions_Create",\#(status),"\#(deployment)","\#(api)","\#(objectId)","\#(ip)","eastus",\#(requests),\#(duration)]"#
    }

    // MARK: - Tests

    @Test func queriesAreTheAgreedTexts() throws {
        let from = Self.t(0), to = Self.t(1)
        #expect(LogAnalyticsCollector.kql(failuresFrom: from, to: to) == """
            AzureDiagnostics
            | where ingestion_time() >= datetime(2026-11-23T00:00:00.000000Z) and ingestion_time() < datetime(2026-11-23T01:00:00.000000Z)
            | where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse"
            | where toint(ResultSignature) >= 400
            | project TimeGenerated, ResourceId, Category, OperationName, ResultSignature, DurationMs, CallerIPAddress, CorrelationId, location_s, properties_s
            """)
        #expect(LogAnalyticsCollector.kql(summaryFrom: from, to: to) == """
            AzureDiagnostics
            | where ingestion_time() >= datetime(2026-11-23T00:00:00.000000Z) and ingestion_time() < datetime(2026-11-23T01:00:00.000000Z)
            | where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse"
            | where toint(ResultSignature) < 400
            | extend p = parse_json(properties_s)
            | summarize Requests = count(), DurationMs = sum(DurationMs) by Minute = bin(TimeGenerated, 1m), ResourceId, OperationName, ResultSignature, Deployment = tostring(p.modelDeploymentName), ApiName = tostring(p.apiName), ObjectId = tostring(p.objectId), CallerIPAddress, location_s
            """)

        // What goes on the wire: POST, the workspace URL, bearer, JSON body {"query": KQL}.
        let store = try CannedAzure.store()
        let w = Self.standardWorkspace()
        let http = CannedAzure.HTTP(w.answer)
        let tokens = CannedAzure.Tokens()
        let collector = try LogAnalyticsCollector(source: Self.source())
        _ = try collector.collect(try CannedAzure.context(Self.source(), http: http, tokens: tokens, store: store, now: Self.now, since: Self.since))
        let sent = http.requests
        #expect(sent.count == 6)
        #expect(tokens.scopes.allSatisfy { $0 == "https://api.loganalytics.io/.default" } && !tokens.scopes.isEmpty)
        for (i, r) in sent.enumerated() {
            #expect(r.method == "POST")
            #expect(r.url == "https://api.loganalytics.io/v1/workspaces/\(Self.workspace)/query")
            #expect(CannedAzure.header(r, "Authorization") == "Bearer test-token")
            #expect(CannedAzure.header(r, "Content-Type") == "application/json")
            #expect(CannedAzure.header(r, "Prefer") == "wait=120")
            let body = try JSONParser.parse(r.body ?? [])
            #expect(body.objectValue?.keys == ["query"])
            let from = Self.t(Int64(i / 2))
            let expected = i % 2 == 0 ? LogAnalyticsCollector.kql(failuresFrom: from, to: from + Timestamp.microsPerHour)
                : LogAnalyticsCollector.kql(summaryFrom: from, to: from + Timestamp.microsPerHour)
            #expect(body["query"]?.text == expected)
        }
    }

    @Test func windowsAdvanceCommitAndARerunSendsNothingNew() throws {
        let store = try CannedAzure.store()
        let w = Self.standardWorkspace()
        let http = CannedAzure.HTTP(w.answer)
        let collector = try LogAnalyticsCollector(source: Self.source())

        let first = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        #expect(first.failed == false && first.warnings.isEmpty)
        #expect(first.pages == 6)
        #expect(first.counts.failures == 3)
        #expect(first.counts.requests == 3 + 15)
        #expect(first.records == 3 + 15)
        // Newest TimeGenerated seen: the 02:30 summary minute.
        #expect(first.lagSeconds == (Self.now - Self.t(2, 30)) / Timestamp.microsPerSecond)
        #expect(try CannedAzure.checkpoints(store, source: "la")["ingested_to"] == String(Self.t(3)))
        let coverage = try store.withConnection { db in
            try db.rows("SELECT scope, from_us, to_us, records FROM coverage WHERE source = 'la' ORDER BY from_us").map { ($0[0].text ?? "", $0[1].integer ?? 0, $0[2].integer ?? 0, $0[3].integer ?? 0) }
        }
        #expect(coverage.map(\.0) == Array(repeating: "workspace:\(Self.workspace)", count: 3))
        #expect(coverage.map(\.1) == [Self.t(0), Self.t(1), Self.t(2)])
        #expect(coverage.map(\.2) == [Self.t(1), Self.t(2), Self.t(3)])
        #expect(coverage.map(\.3) == [12, 5, 1])

        // Same "now": every window up to now − lag is committed, nothing is sent.
        http.reset()
        let again = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        #expect(http.requests.isEmpty)
        #expect(again.counts.requests == 0)

        // An hour later: only the new window.
        http.reset()
        _ = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now + Timestamp.microsPerHour))
        #expect(http.requests.count == 2)
        #expect(http.requests.allSatisfy { (try? JSONParser.parse($0.body ?? []))?["query"]?.text?.contains("datetime(2026-11-23T03:00:00.000000Z)") == true })
        #expect(try CannedAzure.checkpoints(store, source: "la")["ingested_to"] == String(Self.t(4)))
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup") == 18)
    }

    @Test func reReadingCommittedWindowsCountsNothingTwice() throws {
        let store = try CannedAzure.store()
        let http = CannedAzure.HTTP(Self.standardWorkspace().answer)
        let collector = try LogAnalyticsCollector(source: Self.source())
        _ = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        // Lose the cursor (a renamed source, a restored database): the same windows again.
        try store.withConnection { try $0.run("DELETE FROM checkpoints WHERE source = 'la'") }
        let again = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        #expect(again.counts.requests == 0 && again.counts.failures == 0)
        #expect(again.counts.duplicates == 3 + 15)
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup") == 18)
        #expect(try CannedAzure.scalar(store, "SELECT count(*) FROM request_failures") == 3)
    }

    @Test func aPartialResultKeepsRowsAndDoesNotAdvance() throws {
        let store = try CannedAzure.store()
        let w = Self.standardWorkspace()
        w.partialFailures = [Self.t(1)]
        w.partialSummaries = [Self.t(1)]
        let http = CannedAzure.HTTP(w.answer)
        let collector = try LogAnalyticsCollector(source: Self.source())

        let first = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        #expect(first.failed == false)
        #expect(http.requests.count == 4)  // window 00 and window 01, then stop
        #expect(first.warnings.count == 1)
        let warning = first.warnings.first ?? ""
        #expect(warning.contains("2026-11-23T01:00:00Z") && warning.contains("PartialError"))
        #expect(try CannedAzure.checkpoints(store, source: "la")["ingested_to"] == String(Self.t(1)))
        // The partial window's failure row is kept; its partial counts are held back.
        #expect(try CannedAzure.scalar(store, "SELECT count(*) FROM request_failures") == 3)
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup WHERE status < 400") == 10)
        #expect(try CannedAzure.scalar(store, "SELECT count(*) FROM coverage WHERE source = 'la'") == 1)

        // Next run: the service answers in full; the window is read again, nothing doubles.
        w.partialFailures = []
        w.partialSummaries = []
        http.reset()
        let second = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now))
        #expect(http.requests.count == 4)  // windows 01 and 02
        #expect(second.warnings.isEmpty)
        #expect(second.counts.failures == 0 && second.counts.duplicates == 1)
        #expect(try CannedAzure.checkpoints(store, source: "la")["ingested_to"] == String(Self.t(3)))
        #expect(try CannedAzure.scalar(store, "SELECT count(*) FROM request_failures") == 3)
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup WHERE status < 400") == 15)
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup") == 18)
    }

    @Test func aPartialFailuresQueryStillCommitsCompleteCountsOnce() throws {
        let store = try CannedAzure.store()
        let w = Self.standardWorkspace()
        w.partialFailures = [Self.t(0)]
        let http = CannedAzure.HTTP(w.answer)
        let collector = try LogAnalyticsCollector(source: Self.source())
        let first = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        #expect(first.warnings.count == 1 && first.warnings[0].contains("failures query"))
        #expect(try CannedAzure.checkpoints(store, source: "la")["ingested_to"] == nil)
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup WHERE status < 400") == 10)
        w.partialFailures = []
        _ = try collector.collect(try CannedAzure.context(Self.source(), http: http, store: store, now: Self.now, since: Self.since))
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup WHERE status < 400") == 15)
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup") == 18)
    }

    /// The same logical requests, once as AzureDiagnostics rows loaded one by one and once as
    /// the summary query's rows: the same rollup rows, the same api-version history, and
    /// `requests` in status counts them all.
    @Test func summaryRowsRollUpLikePerRecordImports() throws {
        // (minute, objectId, ip, deployment, api, status, durations)
        struct Logical { var minute: Int64; var objectId: String; var ip: String; var deployment: String; var api: String; var durations: [Int] }
        let logical = [
            Logical(minute: Self.t(0, 5), objectId: "", ip: "198.51.100.***", deployment: "gpt-4o-prod", api: "2024-10-21", durations: [10, 20, 30]),
            // An Entra caller from two IPs: one rollup caller (the object id, lower-cased).
            Logical(minute: Self.t(0, 5), objectId: Self.entra, ip: "203.0.113.***", deployment: "gpt-4o-prod", api: "2024-10-21", durations: [5]),
            Logical(minute: Self.t(0, 5), objectId: Self.entra, ip: "192.0.2.***", deployment: "gpt-4o-prod", api: "2024-10-21", durations: [7, 8]),
            Logical(minute: Self.t(0, 6), objectId: "", ip: "198.51.100.***", deployment: "embed", api: "2024-02-01", durations: [1]),
        ]
        // Path A: one AzureDiagnostics row per request, through the row normalizer.
        let perRecord = try CannedAzure.store()
        var batch = RecordBatch()
        var n = 0
        for l in logical {
            for d in l.durations {
                n += 1
                let p = Self.props(objectId: l.objectId, deployment: l.deployment, api: l.api)
                let row = JSONObject([("TimeGenerated", .string(Timestamp.iso(l.minute + Int64(n) * 1_000_000))), ("ResourceId", .string(Self.account)),
                                      ("Category", .string("RequestResponse")), ("OperationName", .string("ChatCompletions_Create")),
                                      ("ResultSignature", .string("200")), ("DurationMs", .string("\(d)")), ("CallerIPAddress", .string(l.ip)),
                                      ("CorrelationId", .string("corr-\(n)")), ("location_s", .string("eastus")), ("properties_s", .string(p))])
                batch.requests.append(try DiagnosticsNormalizer.request(logAnalyticsRow: row))
            }
        }
        let a = try perRecord.write(batch, source: "blobs")
        #expect(a.requests == 7)

        // Path B: the collector, fed the summary rows Log Analytics would return (longs as strings and numbers).
        let summarized = try CannedAzure.store()
        let w = Workspace()
        w.summaries[Self.t(0)] = logical.enumerated().map { i, l in
            Self.summaryRow(l.minute, status: i % 2 == 0 ? "\"200\"" : "200", deployment: l.deployment, api: "Azure OpenAI API version \(l.api)",
                            objectId: l.objectId, ip: l.ip, requests: i % 2 == 0 ? "\"\(l.durations.count)\"" : "\(l.durations.count)",
                            duration: i % 2 == 0 ? "\"\(l.durations.reduce(0, +))\"" : "\(l.durations.reduce(0, +))")
        }
        let http = CannedAzure.HTTP(w.answer)
        let out = try LogAnalyticsCollector(source: Self.source()).collect(
            try CannedAzure.context(Self.source(), http: http, store: summarized, now: Self.t(1, 10), since: Self.t(0)))
        #expect(out.counts.requests == 7)
        #expect(out.records == 7)

        let rollup = "SELECT minute_us, resource_id, deployment, caller, api_version, operation, status, count, duration_ms_sum FROM request_rollup_v ORDER BY 1, 2, 3, 4, 5, 6, 7"
        let apis = "SELECT res.value, cal.value, api.value, a.first_us, a.last_us, a.requests FROM api_versions a JOIN dims res ON res.id = a.resource JOIN dims cal ON cal.id = a.caller JOIN dims api ON api.id = a.api_version ORDER BY 1, 2, 3"
        let rowsA = try perRecord.withConnection { try $0.rows(rollup) }
        let rowsB = try summarized.withConnection { try $0.rows(rollup) }
        #expect(rowsA == rowsB)
        #expect(rowsB.count == 3)
        #expect(rowsB.contains { $0[3].text == Self.entra.lowercased() && $0[7].integer == 3 && $0[8].integer == 20 })
        #expect(rowsB.contains { $0[3].text == "198.51.100.***" && $0[4].text == "2024-10-21" && $0[7].integer == 3 && $0[8].integer == 60 })
        #expect(rowsB.allSatisfy { $0[1].text == Self.account.lowercased() })
        #expect(try perRecord.withConnection { try $0.rows(apis) } == (try summarized.withConnection { try $0.rows(apis) }))
        // `status` counts requests represented, rolled up or not.
        let reader = "SELECT COALESCE(sum(count), 0) FROM request_rollup"
        #expect(try CannedAzure.scalar(perRecord, reader) == 7)
        #expect(try CannedAzure.scalar(summarized, reader) == 7)
    }

    @Test func longsArriveAsStringsOrNumbers() throws {
        let store = try CannedAzure.store()
        let w = Workspace()
        w.failures[Self.t(0)] = [Self.failureRow(Self.t(0, 1), status: 401, duration: 3, correlation: "c-s"),
                                 Self.failureRow(Self.t(0, 2), status: 429, duration: 4, correlation: "c-n", numbers: true)]
        w.summaries[Self.t(0)] = [Self.summaryRow(Self.t(0, 3), status: "200", requests: "5", duration: "12"),
                                  Self.summaryRow(Self.t(0, 4), status: "\"204\"", requests: "6", duration: "13")]
        let http = CannedAzure.HTTP(w.answer)
        let out = try LogAnalyticsCollector(source: Self.source()).collect(
            try CannedAzure.context(Self.source(), http: http, store: store, now: Self.t(1, 10), since: Self.t(0)))
        #expect(out.counts.quarantined == 0)
        let failures = try store.withConnection { try $0.rows("SELECT status, duration_ms, correlation_id FROM request_failures ORDER BY time_us") }
        #expect(failures.map { $0[0].integer } == [401, 429])
        #expect(failures.map { $0[1].integer } == [3, 4])
        #expect(try CannedAzure.scalar(store, "SELECT sum(count) FROM request_rollup WHERE status < 400") == 11)
        #expect(try CannedAzure.scalar(store, "SELECT sum(duration_ms_sum) FROM request_rollup WHERE status < 400") == 25)
    }

    @Test func anUnreadableSummaryRowIsQuarantined() throws {
        let store = try CannedAzure.store()
        let w = Workspace()
        w.summaries[Self.t(0)] = [Self.summaryRow(Self.t(0, 3), requests: "\"many\"", duration: "1"), Self.summaryRow(Self.t(0, 4), requests: "2", duration: "1")]
        let out = try LogAnalyticsCollector(source: Self.source()).collect(
            try CannedAzure.context(Self.source(), http: CannedAzure.HTTP(w.answer), store: store, now: Self.t(1, 10), since: Self.t(0)))
        #expect(out.counts.quarantined == 1 && out.counts.requests == 2)
        let reason = try store.withConnection { try $0.scalar("SELECT reason FROM quarantine")?.text }
        #expect(reason?.contains("Requests") == true)
    }

    @Test func forbiddenNamesTheRoleAndBadRequestTheServiceMessage() throws {
        let store = try CannedAzure.store()
        let collector = try LogAnalyticsCollector(source: Self.source())
        let forbidden = CannedAzure.HTTP { _ in
            CannedAzure.json(403, #"{"error":{"code":"InsufficientAccessError","message":"The provided credentials have insufficient access to perform the requested operation"}}"#)
        }
        do {
            _ = try collector.collect(try CannedAzure.context(Self.source(), http: forbidden, store: store, now: Self.now, since: Self.since))
            Issue.record("a 403 must stop the source")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("HTTP 403"))
            #expect(text.contains("Log Analytics Reader"))
            #expect(text.contains("Microsoft.OperationalInsights/workspaces/query/read"))
        }
        let bad = CannedAzure.HTTP { _ in
            CannedAzure.json(400, #"{"error":{"code":"BadArgumentError","message":"The request had some invalid properties","innererror":{"code":"SemanticError","message":"Failed to resolve scalar expression named 'location_s'"}}}"#)
        }
        do {
            _ = try collector.collect(try CannedAzure.context(Self.source(), http: bad, store: store, now: Self.now, since: Self.since))
            Issue.record("a 400 must stop the source")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("BadArgumentError"))
            #expect(text.contains("Failed to resolve scalar expression named 'location_s'"))
        }
        let other = CannedAzure.HTTP { _ in CannedAzure.json(404, #"{"error":{"code":"WorkspaceNotFoundError","message":"Workspace not found"}}"#) }
        do {
            _ = try collector.collect(try CannedAzure.context(Self.source(), http: other, store: store, now: Self.now, since: Self.since))
            Issue.record("a 404 must stop the source")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("HTTP 404 WorkspaceNotFoundError: Workspace not found"))
        }
        #expect(try CannedAzure.checkpoints(store, source: "la").isEmpty)
    }

    @Test func configIsValidated() throws {
        #expect(throws: ConfigError.self) { try LogAnalyticsCollector(source: Self.source(workspace: "/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z")) }
        #expect(throws: ConfigError.self) { try LogAnalyticsCollector(source: Self.source(window: "soon")) }
        #expect(throws: ConfigError.self) { try LogAnalyticsCollector(source: Self.source(window: "2d")) }
        let c = try LogAnalyticsCollector(source: Self.source(window: "30m", lag: "0m"))
        #expect(c.window == 30 * Timestamp.microsPerMinute && c.lag == 0)
        let d = try LogAnalyticsCollector(source: Self.source())
        #expect(d.window == Timestamp.microsPerHour && d.lag == 10 * Timestamp.microsPerMinute)
        // First run: --since floored to the window; 7 days back without it.
        #expect(d.windows(now: Self.now, since: Self.since, checkpoints: [:]).map(\.from) == [Self.t(0), Self.t(1), Self.t(2)])
        #expect(d.windows(now: Self.now, since: nil, checkpoints: [:]).count == 7 * 24)
        #expect(d.windows(now: Self.now, since: Self.since, checkpoints: ["ingested_to": String(Self.t(2))]).map(\.from) == [Self.t(2)])
    }
}
