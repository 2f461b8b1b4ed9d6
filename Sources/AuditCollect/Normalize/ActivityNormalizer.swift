import Foundation
import AuditCore

/// Normalizes Activity Log records in all their shapes — ARM REST (`eventTimestamp`,
/// localizable strings), diagnostic-settings export (`time`, `resultType`, `identity`,
/// upper-cased ids) and Log Analytics `AzureActivity` rows — into `ActivityEvent`s, and derives
/// the changes that can break authentication.
public enum ActivityNormalizer {
    public enum Shape: String, Sendable { case rest, export, logAnalytics = "log-analytics" }

    /// Record-level failures, reported as quarantine reasons.
    public struct Failure: Error, Sendable { public var reason: String }

    /// Canonical status words shared by both shapes (contracts.md: `Started`≡`Start`, …).
    public static func canonicalStatus(_ raw: String) -> String {
        switch raw.trimmingSpaces.asciiLowercased {
        case "start", "started": return "Started"
        case "accept", "accepted": return "Accepted"
        case "success", "succeeded": return "Succeeded"
        case "failure", "failed": return "Failed"
        case "active", "activated": return "Active"
        case "resolved", "resolve": return "Resolved"
        case "updated", "update": return "Updated"
        case "inprogress", "in progress": return "In Progress"
        case "cancel", "canceled", "cancelled": return "Canceled"
        case "": return "Unknown"
        default: return raw.trimmingSpaces
        }
    }

    static let activityCategories: Set<String> = [
        "administrative", "servicehealth", "resourcehealth", "alert", "autoscale", "recommendation", "security", "policy",
        "write", "action", "delete",
    ]

    /// True when an export/Event Hub record is an Activity Log record.
    public static func looksLikeExport(_ o: JSONObject) -> Bool {
        guard o["time"] != nil || o["eventTimestamp"] != nil, o["operationName"] != nil else { return false }
        let cat = (o["category"]?.localizedValue ?? "").asciiLowercased
        if activityCategories.contains(cat) { return true }
        return o["resultType"] != nil && o["identity"]?.objectValue != nil && cat.isEmpty
    }

    /// True when the record is in the ARM REST shape.
    public static func looksLikeREST(_ o: JSONObject) -> Bool {
        o["eventTimestamp"] != nil && (o["eventDataId"] != nil || o["operationName"]?.objectValue != nil)
    }

    /// Normalizes one record of the given shape.
    public static func normalize(_ o: JSONObject, shape: Shape) throws(Failure) -> (ActivityEvent, [ChangeRecord], [VendorIncident]) {
        switch shape {
        case .rest: return try fromREST(o)
        case .export: return try fromExport(o)
        case .logAnalytics: return try fromLogAnalytics(o)
        }
    }

    // MARK: - Shapes

    static func fromREST(_ o: JSONObject) throws(Failure) -> (ActivityEvent, [ChangeRecord], [VendorIncident]) {
        guard let timeText = o["eventTimestamp"]?.nonEmptyText else { throw Failure(reason: "missing eventTimestamp") }
        guard let time = Timestamp.parse(timeText) else { throw Failure(reason: "unreadable eventTimestamp '\(timeText)'") }
        guard let op = o["operationName"]?.localizedValue else { throw Failure(reason: "missing operationName") }
        let props = o["properties"]?.objectValue ?? JSONObject()
        let claims = o["claims"]?.objectValue ?? JSONObject()
        let auth = o["authorization"]?.objectValue
        var f = Fields(time: time, operation: op)
        f.eventDataId = o["eventDataId"]?.nonEmptyText
        f.submission = o["submissionTimestamp"]?.nonEmptyText.flatMap(Timestamp.parse)
        f.category = o["category"]?.localizedValue ?? props["eventCategory"]?.nonEmptyText ?? "Administrative"
        f.status = canonicalStatus(o["status"]?.localizedValue ?? "")
        f.subStatus = o["subStatus"]?.localizedValue
        f.level = o["level"]?.nonEmptyText
        f.caller = o["caller"]?.nonEmptyText
        f.callerIp = o["httpRequest"]?["clientIpAddress"]?.nonEmptyText ?? claims["ipaddr"]?.nonEmptyText
        f.correlationId = o["correlationId"]?.nonEmptyText
        f.operationId = o["operationId"]?.nonEmptyText
        f.resourceId = o["resourceId"]?.nonEmptyText ?? auth?["scope"]?.nonEmptyText ?? ""
        f.tenantId = o["tenantId"]?.nonEmptyText
        f.httpStatus = httpStatus(props["statusCode"]?.text, subStatus: o["subStatus"]?["localizedValue"]?.text)
        f.description = o["description"]?.nonEmptyText
        f.claims = claims
        f.properties = props
        f.authorization = auth
        return build(f, shape: .rest, raw: .object(o))
    }

    static func fromExport(_ o: JSONObject) throws(Failure) -> (ActivityEvent, [ChangeRecord], [VendorIncident]) {
        guard let timeText = o.first("time", "eventTimestamp")?.nonEmptyText else { throw Failure(reason: "missing time") }
        guard let time = Timestamp.parse(timeText) else { throw Failure(reason: "unreadable time '\(timeText)'") }
        guard let op = o["operationName"]?.localizedValue else { throw Failure(reason: "missing operationName") }
        let props = o["properties"]?.embeddedObject ?? JSONObject()
        let identity = o["identity"]?.embeddedObject
        let claims = identity?["claims"]?.objectValue ?? JSONObject()
        let auth = identity?["authorization"]?.objectValue
        var f = Fields(time: time, operation: op)
        f.eventDataId = o["eventDataId"]?.nonEmptyText
        var category = o["category"]?.localizedValue ?? props["eventCategory"]?.nonEmptyText ?? "Administrative"
        if ["write", "action", "delete"].contains(category.asciiLowercased) { category = "Administrative" }  // legacy export
        f.category = category
        f.status = canonicalStatus(o["resultType"]?.text ?? "")
        f.subStatus = o["resultSignature"]?.nonEmptyText
        f.level = o["level"]?.nonEmptyText
        f.caller = callerFromClaims(claims)
        f.callerIp = o["callerIpAddress"]?.nonEmptyText ?? claims["ipaddr"]?.nonEmptyText
        f.correlationId = o["correlationId"]?.nonEmptyText
        f.operationId = props["operationId"]?.nonEmptyText
        f.resourceId = o["resourceId"]?.nonEmptyText ?? auth?["scope"]?.nonEmptyText ?? ""
        f.tenantId = o["tenantId"]?.nonEmptyText
        f.httpStatus = httpStatus(props["statusCode"]?.text, subStatus: nil)
        f.description = o["resultDescription"]?.nonEmptyText
        f.claims = claims
        f.properties = props["eventProperties"]?.embeddedObject.map { merge(props, $0) } ?? props
        f.authorization = auth
        if let ev = auth?["evidence"]?.objectValue {
            f.principalId = ev["principalId"]?.nonEmptyText
            f.principalType = ev["principalType"]?.nonEmptyText
            f.role = ev["role"]?.nonEmptyText
        }
        return build(f, shape: .export, raw: .object(o))
    }

    static func fromLogAnalytics(_ o: JSONObject) throws(Failure) -> (ActivityEvent, [ChangeRecord], [VendorIncident]) {
        guard let timeText = o["TimeGenerated"]?.nonEmptyText, let time = Timestamp.parse(timeText) else { throw Failure(reason: "missing or unreadable TimeGenerated") }
        guard let op = o.first("OperationNameValue", "OperationName")?.nonEmptyText else { throw Failure(reason: "missing OperationNameValue") }
        let props = o["Properties_d"]?.embeddedObject ?? o["Properties"]?.embeddedObject ?? JSONObject()
        let claims = o["Claims_d"]?.embeddedObject ?? o["Claims"]?.embeddedObject ?? JSONObject()
        let auth = o["Authorization_d"]?.embeddedObject ?? o["Authorization"]?.embeddedObject
        var f = Fields(time: time, operation: op)
        f.eventDataId = o["EventDataId"]?.nonEmptyText
        f.submission = o["EventSubmissionTimestamp"]?.nonEmptyText.flatMap(Timestamp.parse)
        f.category = o.first("CategoryValue", "Category")?.nonEmptyText ?? "Administrative"
        f.status = canonicalStatus(o.first("ActivityStatusValue", "ActivityStatus")?.text ?? "")
        f.subStatus = o.first("ActivitySubstatusValue", "ActivitySubstatus")?.nonEmptyText
        f.level = o["Level"]?.nonEmptyText
        f.caller = o["Caller"]?.nonEmptyText
        f.callerIp = o["CallerIpAddress"]?.nonEmptyText
        f.correlationId = o["CorrelationId"]?.nonEmptyText
        f.operationId = o["OperationId"]?.nonEmptyText
        f.resourceId = o.first("_ResourceId", "ResourceId")?.nonEmptyText ?? ""
        f.tenantId = nil  // the TenantId column is the workspace's
        f.httpStatus = httpStatus(props["statusCode"]?.text, subStatus: o["ActivitySubstatus"]?.text)
        f.claims = claims
        f.properties = props
        f.authorization = auth
        return build(f, shape: .logAnalytics, raw: .object(o))
    }

    // MARK: - Building

    struct Fields {
        var time: Int64
        var operation: String
        var eventDataId: String?
        var submission: Int64?
        var category = "Administrative"
        var status = "Unknown"
        var subStatus: String?
        var level: String?
        var caller: String?
        var callerIp: String?
        var correlationId: String?
        var operationId: String?
        var resourceId = ""
        var tenantId: String?
        var httpStatus: Int?
        var description: String?
        var principalId: String?
        var principalType: String?
        var role: String?
        var claims = JSONObject()
        var properties = JSONObject()
        var authorization: JSONObject?
    }

    static func build(_ f: Fields, shape: Shape, raw: JSONValue) -> (ActivityEvent, [ChangeRecord], [VendorIncident]) {
        let opLower = f.operation.asciiLowercased
        let eventDataId = f.eventDataId.flatMap { isPlaceholderID($0) ? nil : $0.asciiLowercased }
        let corr = f.correlationId ?? eventDataId ?? StableHash.hex(raw.serialized)
        let identity = corr.asciiLowercased + "|" + opLower + "|" + f.status.asciiLowercased + "|" + String(f.time)
        let level = f.level.map { $0.caseInsensitiveEquals("Information") ? "Informational" : $0 }
        let title = f.properties["title"]?.nonEmptyText ?? f.properties["defaultLanguageTitle"]?.nonEmptyText
        let event = ActivityEvent(
            identityKey: identity, eventDataId: eventDataId, timeUs: f.time, submissionUs: f.submission,
            category: f.category, operation: f.operation, status: f.status, subStatus: f.subStatus, level: level,
            caller: f.caller.map(Redactor.redact), callerIp: f.callerIp, correlationId: f.correlationId?.asciiLowercased,
            operationId: f.operationId, resourceId: ResourceID.canonical(f.resourceId), tenantId: f.tenantId,
            httpStatus: f.httpStatus, principalId: f.principalId, principalType: f.principalType, role: f.role,
            description: f.description.map(Redactor.redact), title: title.map(Redactor.redact), shape: shape.rawValue,
            raw: Redactor.redact(json: raw).serialized)
        let changes = ActivityChanges.derive(event: event, fields: f)
        var incidents: [VendorIncident] = []
        if f.category.caseInsensitiveEquals("ServiceHealth") { incidents.append(serviceHealthIncident(event, f)) }
        return (event, changes, incidents)
    }

    /// An anonymised id (`xxxxxxxx-xxxx-…`, `########-…`, the zero GUID) has no hex digit other
    /// than 0. Every event of such a file shares it, so it must not be used as the unique event id.
    static func isPlaceholderID(_ id: String) -> Bool {
        !id.utf8.contains { ($0 >= 0x31 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A ServiceHealth event as a vendor incident update (same incident across updates via trackingId).
    static func serviceHealthIncident(_ e: ActivityEvent, _ f: Fields) -> VendorIncident {
        let p = f.properties
        let tracking = p["trackingId"]?.nonEmptyText ?? p["TrackingId"]?.nonEmptyText ?? e.correlationId ?? e.identityKey
        var service = p["service"]?.nonEmptyText
        var region = p["region"]?.nonEmptyText
        if let impacted = p["impactedServices"]?.embeddedArray, let first = impacted.first?.objectValue {
            service = service ?? first["ServiceName"]?.nonEmptyText
            if region == nil, let regions = first["ImpactedRegions"]?.arrayValue {
                region = regions.compactMap { $0["RegionName"]?.nonEmptyText }.joined(separator: ", ")
            }
        }
        let start = p["impactStartTime"]?.nonEmptyText.flatMap(Timestamp.parse) ?? e.timeUs
        let mitigated = p["impactMitigationTime"]?.nonEmptyText.flatMap(Timestamp.parse)
        let stage = p["stage"]?.nonEmptyText ?? e.status
        let resolved = mitigated ?? (["resolved", "complete", "rca"].contains(stage.asciiLowercased) ? e.timeUs : nil)
        let body = (p["communication"]?.nonEmptyText ?? p["defaultLanguageContent"]?.nonEmptyText).map { StatusFeedText.plainText(fromHTML: $0) }
        return VendorIncident(
            incidentKey: "azure-servicehealth:" + tracking, updateKey: e.identityKey, provider: "azure-servicehealth",
            title: e.title ?? e.description ?? e.operation, status: stage, impact: p["incidentType"]?.nonEmptyText, service: service,
            region: region, startUs: start, updatedUs: e.timeUs, resolvedUs: resolved, url: nil, body: body.map(Redactor.redact))
    }

    static func merge(_ a: JSONObject, _ b: JSONObject) -> JSONObject {
        var out = a
        for m in b.members where a[m.key] == nil || m.key == "title" { out.members.append(m) }
        return out
    }

    /// The principal that acted, from token claims (export and Log Analytics shapes have no `caller`).
    static func callerFromClaims(_ c: JSONObject) -> String? {
        c.first("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn", "unique_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "email",
                "http://schemas.microsoft.com/identity/claims/objectidentifier", "oid", "appid")?.nonEmptyText
    }

    static let statusWords: [String: Int] = [
        "ok": 200, "created": 201, "accepted": 202, "nocontent": 204, "badrequest": 400, "unauthorized": 401, "forbidden": 403,
        "notfound": 404, "conflict": 409, "preconditionfailed": 412, "toomanyrequests": 429, "internalservererror": 500,
        "serviceunavailable": 503, "gatewaytimeout": 504,
    ]

    static func httpStatus(_ code: String?, subStatus: String?) -> Int? {
        if let code = code?.trimmingSpaces, !code.isEmpty {
            if let n = Int(code) { return n }
            if let n = statusWords[code.asciiLowercased] { return n }
        }
        if let s = subStatus, let r = s.range(of: "HTTP Status Code: ") {
            return Int(s[r.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }
}

extension JSONValue {
    /// An array, or a string that holds a JSON array (`impactedServices`).
    public var embeddedArray: [JSONValue]? {
        switch self {
        case .array(let a): return a
        case .string(let s): return (try? JSONParser.parse(s.trimmingSpaces))?.arrayValue
        default: return nil
        }
    }
}
