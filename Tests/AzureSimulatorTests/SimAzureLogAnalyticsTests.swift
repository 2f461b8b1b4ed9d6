import AuditCore
import AzureSimulator
import Foundation
import Testing

/// Log Analytics queries (the collector's two KQL shapes) and the status feeds.
@Suite(.enabled(if: SimScenario.gitPath != nil, "needs git on PATH (PlantedScenario writes repositories)"))
struct SimAzureLogAnalyticsTests {
    static let workspace = "0c0ffee0-1234-4abc-9def-0123456789ab"

    static func failures(_ from: Int64, _ to: Int64) -> String {
        """
        AzureDiagnostics
        | where ingestion_time() >= datetime(\(Timestamp.iso(from))) and ingestion_time() < datetime(\(Timestamp.iso(to)))
        | where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse"
        | where toint(ResultSignature) >= 400
        | project TimeGenerated, ResourceId, Category, OperationName, ResultSignature, DurationMs, CallerIPAddress, CorrelationId, location_s, properties_s
        """
    }

    static func successes(_ from: Int64, _ to: Int64) -> String {
        """
        AzureDiagnostics
        | where ingestion_time() >= datetime(\(Timestamp.iso(from))) and ingestion_time() < datetime(\(Timestamp.iso(to)))
        | where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse"
        | where toint(ResultSignature) < 400
        | extend p = parse_json(properties_s)
        | summarize Requests = count(), DurationMs = sum(DurationMs) by Minute = bin(TimeGenerated, 1m), ResourceId, OperationName, ResultSignature, Deployment = tostring(p.modelDeploymentName), ApiName = tostring(p.apiName), ObjectId = tostring(p.objectId), CallerIPAddress, location_s
        """
    }

    static func query(_ azure: SimAzure, _ kql: String, headers: [String: String]) -> SimResponse {
        var body = ""
        JSONValue.writeString(kql, to: &body)
        return azure.handle(
            Sim.request("/v1/workspaces/\(workspace)/query", method: "POST", headers: headers, body: Array(#"{"query":\#(body)}"#.utf8)))
    }

    /// (rows, column names) of the first table.
    static func table(_ r: SimResponse) throws -> (rows: [[JSONValue]], columns: [String], types: [String]) {
        let t = try #require(try Sim.json(r)["tables"]?.arrayValue?.first)
        let columns = t["columns"]?.arrayValue ?? []
        return (
            (t["rows"]?.arrayValue ?? []).map { $0.arrayValue ?? [] }, columns.compactMap { $0["name"]?.text }, columns.compactMap { $0["type"]?.text }
        )
    }

    @Test func failureRowsAndSuccessSummariesAddUpToTheScenario() throws {
        let azure = try SimScenario.make { $0.ingestionLagSeconds = 60...60 }
        let headers = try Sim.bearer(azure, scope: Sim.logAnalyticsScope)
        let records = try SimScenario.diagnosticRecords()
        let truth = try SimScenario.truth()
        let start = try #require(truth["start"]?.text.flatMap(Timestamp.parse)), end = try #require(truth["end"]?.text.flatMap(Timestamp.parse))
        func status(_ r: JSONValue) -> Int { Int(r["resultSignature"]?.text ?? "") ?? 0 }
        func time(_ r: JSONValue) -> Int64 { r["time"]?.text.flatMap(Timestamp.parse) ?? 0 }

        // Whole window, then one inner hour (ingestion = time + 60 s).
        for (from, to) in [(start - 3_600_000_000, end + 3_600_000_000), (start + 3_600_000_000, start + 2 * 3_600_000_000)] {
            let inWindow = records.filter { time($0) + 60_000_000 >= from && time($0) + 60_000_000 < to }
            let failing = inWindow.filter { status($0) >= 400 }, ok = inWindow.filter { status($0) < 400 }
            #expect(!failing.isEmpty && !ok.isEmpty)

            let f = Self.query(azure, Self.failures(from, to), headers: headers)
            try #require(f.status == 200, "\(Sim.text(f))")
            let ft = try Self.table(f)
            #expect(ft.columns == ["TimeGenerated", "ResourceId", "Category", "OperationName", "ResultSignature", "DurationMs", "CallerIPAddress", "CorrelationId", "location_s", "properties_s"])
            #expect(ft.types == ["datetime", "string", "string", "string", "string", "long", "string", "string", "string", "string"])
            #expect(ft.rows.count == failing.count)
            #expect(Set(ft.rows.compactMap { $0[7].text }) == Set(failing.compactMap { $0["correlationId"]?.text }))
            let row = try #require(ft.rows.first)
            #expect(row[5] == .string(row[5].text ?? ""), "longs are strings")
            #expect(row[0].text?.count == 24 && row[0].text?.hasSuffix("Z") == true)  // 2026-09-14T00:01:02.123Z
            #expect(row[1].text == row[1].text?.uppercased())
            #expect(try JSONParser.parse(row[9].text ?? "").objectValue != nil)

            let s = Self.query(azure, Self.successes(from, to), headers: headers)
            try #require(s.status == 200, "\(Sim.text(s))")
            let st = try Self.table(s)
            #expect(st.columns == ["Minute", "ResourceId", "OperationName", "ResultSignature", "Deployment", "ApiName", "ObjectId", "CallerIPAddress", "location_s", "Requests", "DurationMs"])
            let requests = st.rows.reduce(Int64(0)) { $0 + ($1[9].int64 ?? 0) }
            let duration = st.rows.reduce(Int64(0)) { $0 + ($1[10].int64 ?? 0) }
            #expect(requests == Int64(ok.count))
            #expect(duration == ok.reduce(Int64(0)) { $0 + ($1["durationMs"]?.int64 ?? 0) })
            #expect(st.rows.allSatisfy { $0[0].text?.hasSuffix(":00.000Z") == true })
        }
        #expect(azure.logAnalyticsQueryCount == 4)
    }

    @Test func partialErrorsUnknownQueriesAndLateIngestion() throws {
        let azure = try SimScenario.make { $0.partialErrorEvery = 2 }
        let headers = try Sim.bearer(azure, scope: Sim.logAnalyticsScope)
        let from = azure.now - 2 * 86_400_000_000, to = azure.now
        let full = try Self.table(Self.query(azure, Self.failures(from, to), headers: headers))
        let partial = Self.query(azure, Self.failures(from, to), headers: headers)
        #expect(partial.status == 200)
        let body = try Sim.json(partial)
        #expect(body["error"]?["code"]?.text == "PartialError")
        #expect(body["error"]?["message"]?.text == "There were some errors when processing your query.")
        #expect(body["error"]?["details"]?.arrayValue?.isEmpty == false)
        #expect(try Self.table(partial).rows.count == full.rows.count / 2)
        azure.updateOptions { $0.partialErrorEvery = nil }

        let other = Self.query(azure, "AzureDiagnostics | take 10", headers: headers)
        #expect(try other.status == 400 && (Sim.json(other)["error"]?["code"]?.text) == "BadArgumentError")
        let noToken = Self.query(azure, Self.failures(from, to), headers: [:])
        #expect(noToken.status == 401)

        // A record ingested late shows up in the window of its ingestion, not of its time.
        let id = "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/LATE"
        let line = #"{"time":"\#(Timestamp.iso(from))","resourceId":"\#(id)","category":"RequestResponse","operationName":"ChatCompletions_Create","resultSignature":"401","durationMs":3,"callerIpAddress":"198.51.100.***","correlationId":"late-1","location":"eastus","properties":{"objectId":""}}"#
        let ingested = azure.now - 60_000_000
        #expect(try azure.addDiagnosticRecords(lines: [line], ingestionTime: ingested) == 1)
        let late = try Self.table(Self.query(azure, Self.failures(ingested, ingested + 1), headers: headers))
        #expect(late.rows.compactMap { $0[7].text } == ["late-1"])
        #expect(azure.accountIDs.contains { $0.lowercased().hasSuffix("/accounts/late") })
    }

    @Test func statusFeedsAnswer304ToConditionalRequests() throws {
        let azure = try SimScenario.make()
        let first = azure.handle(Sim.request("/status/azure.rss"))
        #expect(first.status == 200 && Sim.header(first, "Content-Type")?.hasPrefix("application/rss+xml") == true)
        #expect(Sim.text(first).contains("<rss"))
        let etag = try #require(Sim.header(first, "ETag")), modified = try #require(Sim.header(first, "Last-Modified"))
        let again = azure.handle(Sim.request("/status/azure.rss", headers: ["if-none-match": etag]))
        #expect(again.status == 304 && again.body.isEmpty && Sim.header(again, "ETag") == etag)
        #expect(azure.handle(Sim.request("/status/azure.rss", headers: ["if-modified-since": modified])).status == 304)
        #expect(Sim.header(azure.handle(Sim.request("/status/openai.atom")), "Content-Type")?.hasPrefix("application/atom+xml") == true)
        #expect(Sim.header(azure.handle(Sim.request("/status/incidents.json")), "Content-Type")?.hasPrefix("application/json") == true)

        azure.setFeed(path: "/status/azure.rss", bytes: Array("<rss version=\"2.0\"><channel/></rss>".utf8))
        let changed = azure.handle(Sim.request("/status/azure.rss", headers: ["if-none-match": etag]))
        #expect(changed.status == 200 && Sim.text(changed) == "<rss version=\"2.0\"><channel/></rss>")
        #expect(Sim.header(changed, "ETag") != etag)
        #expect(azure.handle(Sim.request("/status/none.rss")).status == 404)
        #expect(azure.requestCount(.statusFeeds) == 7)
    }
}
