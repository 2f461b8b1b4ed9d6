import Foundation
import AuditCore

/// Normalizes Azure OpenAI resource logs — `RequestResponse`, `AzureOpenAIRequestUsage`,
/// `Audit` — from storage/Event Hub records and Log Analytics `AzureDiagnostics` rows.
public enum DiagnosticsNormalizer {
    public struct Failure: Error, Sendable { public var reason: String }

    static let requestCategories: Set<String> = ["requestresponse", "azureopenairequestusage", "trace"]

    /// True for a request log record (by category, or the `ShoeboxCallResult` event marker).
    public static func isRequestRecord(_ o: JSONObject) -> Bool {
        if let c = o["category"]?.text, requestCategories.contains(c.asciiLowercased) { return true }
        return o["event"]?.text == "ShoeboxCallResult"
    }

    public static func isAuditRecord(_ o: JSONObject) -> Bool {
        o["category"]?.text?.caseInsensitiveEquals("Audit") == true && o["resourceId"]?.text?.asciiLowercased.contains("microsoft.cognitiveservices") == true
    }

    /// One request record (storage/Event Hub shape).
    public static func request(_ o: JSONObject) throws(Failure) -> RequestRecord {
        var time: Int64?
        var resource: String?
        var category = "RequestResponse"
        var operation = ""
        var status: Int?
        var statusText: String?
        var props: JSONObject?
        var callerIp = ""
        var correlation: String?
        var duration: Int64?
        var region: String?
        var tenantRegion: String?
        var extra: [(key: String, value: JSONValue)] = []
        for m in o.members {
            switch m.key {
            case "time": time = m.value.text.flatMap(Timestamp.parse)
            case "resourceId": resource = m.value.nonEmptyText
            case "category": category = m.value.nonEmptyText ?? category
            case "operationName": operation = m.value.localizedValue ?? ""
            case "resultSignature":
                statusText = m.value.text
                status = m.value.int64.map { Int($0) }
            case "properties": props = m.value.embeddedObject
            case "callerIpAddress": callerIp = m.value.nonEmptyText ?? ""
            case "correlationId": correlation = m.value.nonEmptyText?.asciiLowercased
            case "durationMs": duration = m.value.int64
            case "location": region = m.value.nonEmptyText
            case "Tenant": tenantRegion = m.value.nonEmptyText
            case "event", "resultType", "level", "operationVersion": break
            default:
                // Unmapped members (and same-name members in another case, e.g. "Level" next to
                // "level") are kept, so nothing of the record is lost.
                extra.append(m)
            }
        }
        guard let time else { throw Failure(reason: o["time"] == nil ? "missing time" : "unreadable time '\(o["time"]?.text ?? "")'") }
        guard let resource else { throw Failure(reason: "missing resourceId") }
        guard let status else {
            throw Failure(reason: statusText == nil ? "missing resultSignature (HTTP status)" : "resultSignature '\(statusText ?? "")' is not an HTTP status")
        }
        return try build(time: time, resource: resource, category: category, operation: operation, status: status, props: props,
                         callerIp: callerIp, correlation: correlation, duration: duration, region: region ?? tenantRegion, extra: extra)
    }

    static func build(time: Int64, resource: String, category: String, operation: String, status: Int, props: JSONObject?,
                      callerIp: String, correlation: String?, duration: Int64?, region: String?,
                      extra topExtra: [(key: String, value: JSONValue)]) throws(Failure) -> RequestRecord {
        var deployment = "", model: String?, modelVersion: String?, objectId = "", api = "", stream: String?
        var reqLen: Int64?, respLen: Int64?
        var extra = topExtra
        var propExtra: [(key: String, value: JSONValue)] = []
        if let props {
            for m in props.members {
                switch m.key {
                case "apiName": api = apiVersion(fromAPIName: m.value.text ?? "")
                case "modelDeploymentName": deployment = m.value.nonEmptyText ?? ""
                case "modelName": model = m.value.nonEmptyText
                case "modelVersion": modelVersion = m.value.nonEmptyText
                case "objectId": objectId = m.value.nonEmptyText?.asciiLowercased ?? ""
                case "streamType": stream = m.value.nonEmptyText
                case "requestLength": reqLen = m.value.int64
                case "responseLength": respLen = m.value.int64
                case "requestTime", "responseTime": break  // derivable from time and durationMs
                default: propExtra.append(m)
                }
            }
            if api.isEmpty, let v = props["apiVersion"]?.nonEmptyText ?? props["api-version"]?.nonEmptyText { api = v }
        }
        if !propExtra.isEmpty { extra.append(("properties", .object(JSONObject(propExtra)))) }
        let extraText = extra.isEmpty ? nil : Redactor.redact(json: .object(JSONObject(extra))).serialized
        return RequestRecord(
            timeUs: time, resourceId: ResourceID.canonical(resource), category: category, operation: operation, status: status,
            deployment: deployment, model: model, modelVersion: modelVersion, objectId: objectId, callerIp: callerIp, apiVersion: api,
            correlationId: correlation, durationMs: duration, requestLength: reqLen, responseLength: respLen, streamType: stream,
            region: region, extra: extraText)
    }

    /// `Azure OpenAI API version 2024-10-21` → `2024-10-21`; other forms as given.
    public static func apiVersion(fromAPIName name: String) -> String {
        let prefix = "Azure OpenAI API version "
        if name.hasPrefix(prefix) { return name.dropFirst(prefix.count).trimmingSpaces }
        let t = name.trimmingSpaces
        if let r = t.range(of: "version ", options: [.backwards, .caseInsensitive]) { return String(t[r.upperBound...]).trimmingSpaces }
        return t
    }

    /// A Log Analytics `AzureDiagnostics` row (column name → value).
    public static func request(logAnalyticsRow o: JSONObject) throws(Failure) -> RequestRecord {
        guard let timeText = o["TimeGenerated"]?.nonEmptyText, let time = Timestamp.parse(timeText) else { throw Failure(reason: "missing or unreadable TimeGenerated") }
        guard let resource = o.first("_ResourceId", "ResourceId")?.nonEmptyText else { throw Failure(reason: "missing _ResourceId") }
        guard let status = o["ResultSignature"]?.int64 else { throw Failure(reason: "missing or non-numeric ResultSignature") }
        let props = o.first("properties_s", "Properties_s", "properties")?.embeddedObject
        return try build(time: time, resource: resource, category: o["Category"]?.nonEmptyText ?? "RequestResponse",
                         operation: o["OperationName"]?.nonEmptyText ?? "", status: Int(status), props: props,
                         callerIp: o.first("CallerIPAddress", "CallerIpAddress")?.nonEmptyText ?? "",
                         correlation: o["CorrelationId"]?.nonEmptyText?.asciiLowercased, duration: o["DurationMs"]?.int64,
                         region: o.first("location_s", "Tenant_s")?.nonEmptyText, extra: [])
    }

    /// An Azure OpenAI `Audit` record (e.g. `ListKey`) as a change.
    public static func audit(_ o: JSONObject) throws(Failure) -> ChangeRecord {
        guard let timeText = o["time"]?.nonEmptyText, let time = Timestamp.parse(timeText) else { throw Failure(reason: "missing or unreadable time") }
        guard let resource = o["resourceId"]?.nonEmptyText else { throw Failure(reason: "missing resourceId") }
        let op = o["operationName"]?.localizedValue ?? "Audit"
        let props = o["properties"]?.embeddedObject
        let oid = props?["objectId"]?.nonEmptyText?.asciiLowercased
        let rid = ResourceID(resource)
        let kind: String
        switch op.asciiLowercased {
        case "listkey", "listkeys": kind = ChangeKind.keyListed
        case "regeneratekey", "regeneratekeys": kind = ChangeKind.keyRegenerated
        default: kind = ChangeKind.accountConfigChange
        }
        let who = oid.map { " by object \($0)" } ?? ""
        return ChangeRecord(
            dedupeKey: "aoai-audit:" + StableHash.hex(rid.canonical, op, String(time), oid ?? ""), timeUs: time, kind: kind,
            resourceId: rid.canonical, actor: oid, summary: "\(op) on \(rid.shortName)\(who) (Azure OpenAI audit log)",
            detail: Redactor.redact(json: .object(o)).serialized, sourceKind: "diagnostics", sourceId: o["correlationId"]?.nonEmptyText,
            correlationId: o["correlationId"]?.nonEmptyText, principalId: oid)
    }
}
