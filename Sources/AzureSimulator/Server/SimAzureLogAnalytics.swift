import AuditCore
import Foundation

/// One `RequestResponse` record as an `AzureDiagnostics` row (formats.md §4.3).
struct SimDiagnosticRecord: Sendable {
    var time: Int64
    /// When it reached the workspace (`ingestion_time()`).
    var ingestion: Int64
    /// Upper-cased, as Log Analytics shows it.
    var resourceID: String
    var category: String
    var operationName: String
    var resultSignature: String
    /// `toint(ResultSignature)`; nil when it is not an integer.
    var status: Int?
    var durationMs: Int64
    var callerIP: String
    var correlationID: String
    var location: String
    /// The properties JSON as text (`properties_s`).
    var properties: String
    var deployment: String
    var model: String
    var apiName: String
    var objectID: String
}

/// The Log Analytics query API (formats.md §4.4) for exactly the collector's two KQL shapes —
/// raw failures and per-minute summaries of successes over an `ingestion_time()` window —
/// and `print 1` (one table, one row: `doctor`'s access check) —
/// with `long` cells written as strings, `PartialError` injection and the query counter.
extension SimAzureState {
    static let logAnalyticsAudiences = ["https://api.loganalytics.io"]

    /// A record from one JSON line of the storage shape; nil when it is not one.
    func diagnosticRecord(_ value: JSONValue, ingestion: Int64?) -> SimDiagnosticRecord? {
        guard case .object(let o) = value, let time = o["time"]?.text.flatMap(Timestamp.parse),
            let resourceID = o["resourceId"]?.nonEmptyText
        else { return nil }
        let propertiesValue = o["properties"]
        let props = propertiesValue?.embeddedObject
        let propertiesText: String
        switch propertiesValue {
        case .string(let s)?: propertiesText = s
        case let v?: propertiesText = v.serialized
        case nil: propertiesText = "{}"
        }
        let signature = o["resultSignature"]?.text ?? ""
        let correlation = o["correlationId"]?.text ?? ""
        let lagRange = options.ingestionLagSeconds
        let lag = Int64(lagRange.lowerBound)
            + Int64(SimFormat.fnv1a(correlation + "|" + String(time)) % UInt64(lagRange.count))
        return SimDiagnosticRecord(
            time: time, ingestion: ingestion ?? time + lag * Timestamp.microsPerSecond, resourceID: resourceID.uppercased(),
            category: o["category"]?.text ?? "", operationName: o["operationName"]?.text ?? "", resultSignature: signature,
            status: Int(signature.trimmingSpaces), durationMs: o["durationMs"]?.int64 ?? 0, callerIP: o["callerIpAddress"]?.text ?? "",
            correlationID: correlation, location: o["location"]?.text ?? "", properties: propertiesText,
            deployment: props?["modelDeploymentName"]?.text ?? "", model: props?["modelName"]?.text ?? "",
            apiName: props?["apiName"]?.text ?? "", objectID: props?["objectId"]?.text ?? "")
    }

    /// What the two contract queries ask for.
    struct LogAnalyticsQuery {
        var from: Int64
        var to: Int64
        var summarize: Bool
    }

    /// Recognizes the collector's two KQL shapes (whitespace-insensitive); nil for anything else.
    static func parseKQL(_ kql: String) -> LogAnalyticsQuery? {
        let q = kql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        guard q.hasPrefix("AzureDiagnostics |"),
            q.contains(#"| where ResourceProvider == "MICROSOFT.COGNITIVESERVICES" and Category == "RequestResponse""#)
        else { return nil }
        func bound(after marker: String) -> Int64? {
            guard let r = q.range(of: marker) else { return nil }
            let rest = q[r.upperBound...]
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return Timestamp.parse(String(rest[..<close]))
        }
        guard let from = bound(after: "where ingestion_time() >= datetime("), let to = bound(after: "and ingestion_time() < datetime(") else {
            return nil
        }
        let failures = "| where toint(ResultSignature) >= 400 | project TimeGenerated, ResourceId, Category, OperationName, ResultSignature, DurationMs, CallerIPAddress, CorrelationId, location_s, properties_s"
        let successes = "| where toint(ResultSignature) < 400 | extend p = parse_json(properties_s) | summarize Requests = count(), DurationMs = sum(DurationMs) by Minute = bin(TimeGenerated, 1m), ResourceId, OperationName, ResultSignature, Deployment = tostring(p.modelDeploymentName), ApiName = tostring(p.apiName), ObjectId = tostring(p.objectId), CallerIPAddress, location_s"
        if q.hasSuffix(failures) { return LogAnalyticsQuery(from: from, to: to, summarize: false) }
        if q.hasSuffix(successes) { return LogAnalyticsQuery(from: from, to: to, summarize: true) }
        return nil
    }

    func laError(_ status: Int, _ code: String, _ message: String) -> SimResponse {
        SimResponse.json(status, #"{"error":{"code":"# + SimFormat.json(code) + #","message":"# + SimFormat.json(message) + "}}")
    }

    mutating func handleLogAnalytics(_ request: SimRequest) -> SimResponse {
        let workspace = String(request.path.split(separator: "/")[2])
        switch authenticate(request, audiences: Self.logAnalyticsAudiences, exact: false) {
        case .success: break
        case .failure(let f): return armUnauthorized(f, allowed: Self.logAnalyticsAudiences)
        }
        if !options.workspaceIDs.isEmpty, !options.workspaceIDs.contains(where: { $0.caseInsensitiveEquals(workspace) }) {
            return laError(404, "WorkspaceNotFoundError", "The workspace \(workspace) could not be found.")
        }
        var kql: String?
        var timespan: String?
        if request.method == "POST" {
            guard let body = try? JSONParser.parse(request.body), case .object = body else {
                return laError(400, "BadArgumentError", "The request had some invalid properties: the body is not a JSON object.")
            }
            kql = body["query"]?.text
            timespan = body["timespan"]?.text
        } else if request.method == "GET" {
            kql = SimFormat.query(request, "query")
            timespan = SimFormat.query(request, "timespan")
        } else {
            return laError(405, "MethodNotAllowed", "The method \(request.method) is not allowed.")
        }
        laQueriesReceived += 1
        guard let kql, !kql.trimmingSpaces.isEmpty else {
            return laError(400, "BadArgumentError", "The request had some invalid properties: 'query' is required.")
        }
        // `print 1`: the cheapest query there is (`aoai-audit doctor` checks read access with it).
        if kql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ").lowercased() == "print 1" {
            laQueriesServed += 1
            return SimResponse.json(200, #"{"tables":[{"name":"PrimaryResult","columns":[{"name":"print_0","type":"long"}],"rows":[["1"]]}]}"#)
        }
        guard let query = Self.parseKQL(kql) else {
            return laError(
                400, "BadArgumentError",
                "The request had some invalid properties: the simulator answers only the collector's failure and success-summary queries.")
        }
        var span: (Int64, Int64)?
        if let timespan, !timespan.isEmpty {
            guard let s = Self.parseTimespan(timespan, now: now) else {
                return laError(400, "BadArgumentError", "The request had some invalid properties: timespan '\(timespan)' is not valid.")
            }
            span = s
        }
        let current = now
        let rows = diagnostics.filter { r in
            guard r.ingestion >= query.from, r.ingestion < query.to, r.ingestion <= current, let status = r.status,
                r.category == "RequestResponse", r.resourceID.contains("/PROVIDERS/MICROSOFT.COGNITIVESERVICES/"), query.summarize ? status < 400 : status >= 400
            else { return false }
            if let (a, b) = span, r.time < a || r.time > b { return false }
            return true
        }
        var columns: [(String, String)]
        var cells: [[String]]
        if query.summarize {
            columns = [
                ("Minute", "datetime"), ("ResourceId", "string"), ("OperationName", "string"), ("ResultSignature", "string"),
                ("Deployment", "string"), ("ApiName", "string"), ("ObjectId", "string"), ("CallerIPAddress", "string"),
                ("location_s", "string"), ("Requests", "long"), ("DurationMs", "long"),
            ]
            var groups: [[String]: (count: Int64, duration: Int64)] = [:]
            for r in rows {
                let key = [
                    SimFormat.isoMillis(Timestamp.minuteFloor(r.time)), r.resourceID, r.operationName, r.resultSignature, r.deployment,
                    r.apiName, r.objectID, r.callerIP, r.location,
                ]
                groups[key, default: (0, 0)].count += 1
                groups[key, default: (0, 0)].duration += r.durationMs
            }
            cells = groups.map { $0.key + [String($0.value.count), String($0.value.duration)] }
                .sorted { $0.lexicographicallyPrecedes($1) }
        } else {
            columns = [
                ("TimeGenerated", "datetime"), ("ResourceId", "string"), ("Category", "string"), ("OperationName", "string"),
                ("ResultSignature", "string"), ("DurationMs", "long"), ("CallerIPAddress", "string"), ("CorrelationId", "string"),
                ("location_s", "string"), ("properties_s", "string"),
            ]
            cells = rows.sorted { $0.time != $1.time ? $0.time < $1.time : $0.correlationID < $1.correlationID }.map { r in
                [
                    SimFormat.isoMillis(r.time), r.resourceID, r.category, r.operationName, r.resultSignature, String(r.durationMs),
                    r.callerIP, r.correlationID, r.location, r.properties,
                ]
            }
        }
        var partial = false
        if let n = options.partialErrorEvery, n > 0, laQueriesReceived % n == 0 {
            partial = true
            cells = Array(cells.prefix(cells.count / 2))
        }
        var body = #"{"tables":[{"name":"PrimaryResult","columns":["#
        body += columns.map { #"{"name":"\#($0.0)","type":"\#($0.1)"}"# }.joined(separator: ",")
        body += #"],"rows":["#
        body += cells.map { "[" + $0.map(SimFormat.json).joined(separator: ",") + "]" }.joined(separator: ",")
        body += "]}]"
        if partial {
            body += #","error":{"code":"PartialError","message":"There were some errors when processing your query.","details":[{"code":"EngineError","message":"Something went wrong processing your query on the server.","innererror":{"code":"-2133196797","message":"Partial query failure: Low memory condition (E_LOW_MEMORY_CONDITION).","severity":2,"severityName":"Error"}}]}"#
        }
        body += "}"
        laQueriesServed += 1
        return SimResponse.json(200, body)
    }

    /// A `timespan`: an ISO-8601 duration back from now (`PT12H`, `P1D`), `start/end`, or
    /// `start/duration`.
    static func parseTimespan(_ text: String, now: Int64) -> (Int64, Int64)? {
        let parts = text.split(separator: "/").map(String.init)
        if parts.count == 1 { return duration(parts[0]).map { (now - $0, now) } }
        guard parts.count == 2, let start = Timestamp.parse(parts[0]) else { return nil }
        if let end = Timestamp.parse(parts[1]) { return (start, end) }
        return duration(parts[1]).map { (start, start + $0) }
    }

    /// `PnDTnHnMnS` → microseconds.
    static func duration(_ text: String) -> Int64? {
        var s = Substring(text.uppercased())
        guard s.hasPrefix("P") else { return nil }
        s = s.dropFirst()
        var total: Int64 = 0
        var number = ""
        var inTime = false
        var any = false
        for c in s {
            if c == "T" {
                inTime = true
            } else if c.isNumber || c == "." {
                number.append(c)
            } else {
                guard let v = Double(number) else { return nil }
                let unit: Int64
                switch (c, inTime) {
                case ("D", false): unit = Timestamp.microsPerDay
                case ("W", false): unit = 7 * Timestamp.microsPerDay
                case ("H", true): unit = Timestamp.microsPerHour
                case ("M", true): unit = Timestamp.microsPerMinute
                case ("S", true): unit = Timestamp.microsPerSecond
                default: return nil
                }
                total += Int64(v * Double(unit))
                number = ""
                any = true
            }
        }
        return any && number.isEmpty ? total : nil
    }
}

// MARK: - Public API

extension SimAzure {
    /// Adds `RequestResponse` records (storage-shape JSON lines) that reach Log Analytics at
    /// `ingestionTime` (UTC microseconds), e.g. to plant late ingestion. Their accounts join
    /// the estate.
    ///
    /// - Returns: how many were added.
    /// - Throws: `SimAzureError.badJSON` when a line is not a record (none are added then).
    @discardableResult
    public func addDiagnosticRecords(lines: [String], ingestionTime: Int64) throws(SimAzureError) -> Int {
        var values: [JSONValue] = []
        for line in lines where !line.trimmingSpaces.isEmpty {
            guard let v = try? JSONParser.parse(line), v["time"] != nil, v["resourceId"] != nil else {
                throw .badJSON("a diagnostics record must be a JSON object with time and resourceId: \(line.prefix(120))")
            }
            values.append(v)
        }
        return locked { s in
            var added = 0
            for v in values {
                if let r = s.diagnosticRecord(v, ingestion: ingestionTime) {
                    s.diagnostics.append(r)
                    s.discoverAccount(from: r)
                    added += 1
                }
            }
            return added
        }
    }

    /// `RequestResponse` records Log Analytics holds (ingested or not yet).
    public var diagnosticRecordCount: Int { locked { $0.diagnostics.count } }

    /// Log Analytics queries answered with 200 so far.
    public var logAnalyticsQueryCount: Int { locked { $0.laQueriesServed } }
}
