import AuditCore

/// Writes planned Activity Log events in the two wire shapes: the ARM list API's `EventData`
/// (formats.md §1.2, §3.1) and the diagnostic-settings export record (§2.2), which has
/// upper-cased ids, `resultType`, `identity` and no `eventDataId`.
struct ActivityRecordWriter {
    let topology: GeneratorTopology

    // MARK: - REST shape

    /// Appends one `EventData` object (no trailing separator).
    func appendREST(_ e: GeneratorActivityEvent, into out: inout GeneratorBuffer) {
        let sub = topology.subscriptions[e.subscription].text
        let tenant = topology.tenant.text
        if let health = e.health {
            appendRESTHealth(e, health: health, subscription: sub, into: &out)
            return
        }
        let admin = topology.admins[e.admin]
        out.raw("{")
        out.key("authorization")
        out.raw("{")
        out.key("action")
        out.string(e.operation)
        out.raw(",")
        out.key("scope")
        out.string(e.resourceId)
        out.raw("},")
        out.key("caller")
        out.string(admin.caller)
        out.raw(#","channels":"Operation","claims":"#)
        appendClaims(e, admin: admin, into: &out)
        out.raw(#","correlationId":""#)
        out.guid(e.correlationId)
        out.raw(#"","description":"","eventDataId":""#)
        out.guid(e.eventDataId)
        if e.kind == .begin {
            out.raw(#"","eventName":{"value":"BeginRequest","localizedValue":"Begin request"}"#)
        } else {
            out.raw(#"","eventName":{"value":"EndRequest","localizedValue":"End request"}"#)
        }
        out.raw(#","category":{"value":"Administrative","localizedValue":"Administrative"},"eventTimestamp":""#)
        out.isoTicks(e.time)
        out.raw(#"","httpRequest":{"clientRequestId":""#)
        out.guid(e.clientRequestId)
        out.raw(#"","clientIpAddress":""#)
        out.raw(admin.ip)
        out.raw(#"","method":""#)
        out.raw(e.method)
        out.raw(#""},"id":"#)
        appendEventId(e, into: &out)
        out.raw(e.failed ? #","level":"Error","operationId":""# : #","level":"Informational","operationId":""#)
        out.guid(e.correlationId)
        out.raw(#"","operationName":"#)
        localizable(e.operation, into: &out)
        out.raw(#","resourceGroupName":"#)
        out.string(e.resourceGroup)
        out.raw(#","resourceProviderName":"#)
        localizable(e.provider, into: &out)
        out.raw(#","resourceType":"#)
        localizable(e.resourceType, into: &out)
        out.raw(#","resourceId":"#)
        out.string(e.resourceId)
        out.raw(#","status":"#)
        localizable(e.status, into: &out)
        out.raw(#","subStatus":{"value":""#)
        out.raw(e.subStatus)
        out.raw(#"","localizedValue":""#)
        if e.httpCode > 0 {
            out.raw(e.subStatus)
            out.raw(" (HTTP Status Code: ")
            out.int(e.httpCode)
            out.raw(")")
        }
        out.raw(#""},"submissionTimestamp":""#)
        out.isoTicks(e.submission)
        out.raw(#"","subscriptionId":""#)
        out.raw(sub)
        out.raw(#"","tenantId":""#)
        out.raw(tenant)
        out.raw(#"","properties":"#)
        appendAdminProperties(e, into: &out)
        out.raw(#","relatedEvents":[]}"#)
    }

    private func appendRESTHealth(
        _ e: GeneratorActivityEvent, health: GeneratorActivityEvent.Health, subscription sub: String,
        into out: inout GeneratorBuffer
    ) {
        out.raw(#"{"channels":"Admin","correlationId":""#)
        out.guid(e.correlationId)
        out.raw(#"","description":"#)
        out.string(e.status + ": " + health.title)
        out.raw(#","eventDataId":""#)
        out.guid(e.eventDataId)
        out.raw(#"","eventName":{"value":null},"category":{"value":"ServiceHealth","localizedValue":"Service Health"},"eventTimestamp":""#)
        out.isoTicks(e.time)
        out.raw(#"","id":"#)
        appendEventId(e, into: &out)
        out.raw(e.status == "Active" ? #","level":"Warning""# : #","level":"Informational""#)
        out.raw(#","operationName":"#)
        localizable(e.operation, into: &out)
        out.raw(#","resourceProviderName":{"value":null},"resourceType":{"value":null,"localizedValue":""},"resourceId":"#)
        out.string(e.resourceId)
        out.raw(#","status":"#)
        localizable(e.status, into: &out)
        out.raw(#","subStatus":{"value":null},"submissionTimestamp":""#)
        out.isoTicks(e.submission)
        out.raw(#"","subscriptionId":""#)
        out.raw(sub)
        out.raw(#"","properties":"#)
        appendHealthProperties(e, health: health, into: &out)
        out.raw("}")
    }

    /// `<resourceId>/events/<eventDataId>/ticks/<.NET ticks>`.
    private func appendEventId(_ e: GeneratorActivityEvent, into out: inout GeneratorBuffer) {
        out.byte(0x22)
        out.escaped(e.resourceId)
        out.raw("/events/")
        out.guid(e.eventDataId)
        out.raw("/ticks/")
        out.int(e.time + Timestamp.unixEpochTicks)
        out.byte(0x22)
    }

    private func localizable(_ value: String, into out: inout GeneratorBuffer) {
        out.raw(#"{"value":"#)
        out.string(value)
        out.raw(#","localizedValue":"#)
        out.string(value)
        out.raw("}")
    }

    // MARK: - Shared parts

    /// The JWT claims of the caller's ARM token; all values are strings.
    private func appendClaims(
        _ e: GeneratorActivityEvent, admin: GeneratorTopology.Admin, into out: inout GeneratorBuffer
    ) {
        let tenant = topology.tenant.text
        out.raw(#"{"aud":"https://management.core.windows.net/","iss":"https://sts.windows.net/"#)
        out.raw(tenant)
        out.raw(#"/","iat":""#)
        out.int(e.tokenIssued)
        out.raw(#"","nbf":""#)
        out.int(e.tokenIssued)
        out.raw(#"","exp":""#)
        out.int(e.tokenIssued + 4800)
        out.raw(#"","appid":""#)
        out.raw(admin.appId)
        out.raw(admin.isServicePrincipal ? #"","appidacr":"1""# : #"","appidacr":"0""#)
        out.raw(#","http://schemas.microsoft.com/identity/claims/objectidentifier":""#)
        out.guid(admin.objectId)
        out.raw(#"","http://schemas.microsoft.com/identity/claims/tenantid":""#)
        out.raw(tenant)
        out.raw("\"")
        if let upn = admin.upn {
            out.raw(#","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"#)
            out.string(upn)
            out.raw(#","name":"#)
            out.string(String(upn.prefix { $0 != "@" }))
        }
        out.raw(#","ipaddr":""#)
        out.raw(admin.ip)
        out.raw(#"","ver":"1.0"}"#)
    }

    /// Administrative `properties`: every value a string, nested JSON encoded as a string.
    private func appendAdminProperties(_ e: GeneratorActivityEvent, into out: inout GeneratorBuffer) {
        let sub = topology.subscriptions[e.subscription].text
        out.raw(#"{"eventCategory":"Administrative","entity":"#)
        out.string(e.resourceId)
        out.raw(#","message":"#)
        out.string(e.operation)
        out.raw(#","hierarchy":""#)
        out.raw(topology.tenant.text)
        out.raw("/")
        out.raw(sub)
        out.raw("\"")
        if e.kind == .end {
            out.raw(#","statusCode":"#)
            out.string(e.subStatus)
            out.raw(#","serviceRequestId":"#)
            if let id = e.serviceRequestId {
                out.byte(0x22)
                out.guid(id)
                out.byte(0x22)
            } else {
                out.raw("null")
            }
        }
        if let body = e.requestBody {
            out.raw(#","requestbody":"#)
            out.string(body)
        }
        if let body = e.responseBody {
            out.raw(#","responseBody":"#)
            out.string(body)
        }
        if let message = e.statusMessage {
            out.raw(#","statusMessage":"#)
            out.string(message)
        }
        out.raw("}")
    }

    private func appendHealthProperties(
        _ e: GeneratorActivityEvent, health: GeneratorActivityEvent.Health, into out: inout GeneratorBuffer
    ) {
        out.raw(#"{"title":"#)
        out.string(health.title)
        out.raw(#","service":"#)
        out.string(health.service)
        out.raw(#","region":"#)
        out.string(health.region)
        out.raw(#","communication":"#)
        out.string(health.communication)
        out.raw(#","incidentType":"Incident","trackingId":"#)
        out.string(health.trackingId)
        out.raw(#","impactStartTime":""#)
        out.isoTicks(health.impactStart)
        out.raw("\"")
        if let mitigation = health.mitigation {
            out.raw(#","impactMitigationTime":""#)
            out.isoTicks(mitigation)
            out.raw("\"")
        }
        out.raw(#","impactedServices":"#)
        out.string(#"[{"ImpactedRegions":[{"RegionName":"\#(health.region)"}],"ServiceName":"\#(health.service)"}]"#)
        out.raw(#","defaultLanguageTitle":"#)
        out.string(health.title)
        out.raw(#","defaultLanguageContent":"#)
        out.string(health.communication)
        out.raw(#","stage":"#)
        out.string(e.status)
        out.raw(#","communicationId":""#)
        out.int(health.impactStart + Timestamp.unixEpochTicks)
        out.raw(#"","version":"0.1.1"}"#)
    }

    // MARK: - Export shape

    /// Built-in role definition ids, without dashes as the export's `evidence` writes them.
    private static func roleDefinition(_ role: String) -> String {
        switch role {
        case "User Access Administrator": return "18d7d88dd35e4fb5a5c37773c20a72d9"
        case "Cognitive Services Contributor": return "25fbc0a9bd7c42a3aa1a3b75d497ee68"
        default: return "b24988ac618042a0ab8820f7382dd24c"  // Contributor
        }
    }

    /// Appends one export record and a newline (JSON lines).
    func appendExport(_ e: GeneratorActivityEvent, into out: inout GeneratorBuffer) {
        out.raw(#"{"time":""#)
        out.isoTicks(e.time)
        out.raw(#"","resourceId":"#)
        out.string(GeneratorTopology.upper(e.resourceId))
        out.raw(#","operationName":"#)
        out.string(GeneratorTopology.upper(e.operation))
        if let health = e.health {
            out.raw(#","category":"ServiceHealth","resultType":""#)
            out.raw(e.status)
            out.raw(#"","resultSignature":""#)
            out.raw(e.status)
            out.raw(#".","durationMs":0,"correlationId":""#)
            out.guid(e.correlationId)
            out.raw(#"","identity":{"authorization":{},"claims":{}},"level":""#)
            out.raw(e.status == "Active" ? "Warning" : "Information")
            out.raw(#"","location":"global","properties":{"eventCategory":"ServiceHealth","eventProperties":"#)
            appendHealthProperties(e, health: health, into: &out)
            out.raw("}}\n")
            return
        }
        let admin = topology.admins[e.admin]
        switch (e.kind, e.failed) {
        case (.begin, _): out.raw(#","category":"Administrative","resultType":"Start","resultSignature":"Started.""#)
        case (_, true): out.raw(#","category":"Administrative","resultType":"Failure","resultSignature":"Failed.Forbidden""#)
        default:
            out.raw(#","category":"Administrative","resultType":"Success","resultSignature":"Succeeded."#)
            out.raw(e.subStatus)
            out.raw("\"")
        }
        out.raw(#","durationMs":"#)
        out.int(e.durationMs)
        out.raw(#","callerIpAddress":""#)
        out.raw(admin.ip)
        out.raw(#"","correlationId":""#)
        out.guid(e.correlationId)
        out.raw(#"","identity":{"authorization":{"scope":"#)
        out.string(e.resourceId)
        out.raw(#","action":"#)
        out.string(e.operation)
        if e.kind == .begin {
            let sub = topology.subscriptions[e.subscription]
            out.raw(#","evidence":{"role":"#)
            out.string(admin.role)
            out.raw(#","roleAssignmentScope":"/subscriptions/"#)
            out.guid(sub)
            out.raw(#"","roleAssignmentId":""#)
            out.guid(GeneratorGUID(hi: admin.objectId.hi ^ sub.hi, lo: admin.objectId.lo ^ sub.lo), dashes: false)
            out.raw(#"","roleDefinitionId":""#)
            out.raw(Self.roleDefinition(admin.role))
            out.raw(#"","principalId":""#)
            out.guid(admin.objectId, dashes: false)
            out.raw(#"","principalType":""#)
            out.raw(admin.isServicePrincipal ? #"ServicePrincipal"}"# : #"User"}"#)
        }
        out.raw(#"},"claims":"#)
        appendClaims(e, admin: admin, into: &out)
        out.raw(e.failed ? #"},"level":"Error""# : #"},"level":"Information""#)
        out.raw(#","location":"global","properties":"#)
        appendAdminProperties(e, into: &out)
        out.raw("}\n")
    }
}
