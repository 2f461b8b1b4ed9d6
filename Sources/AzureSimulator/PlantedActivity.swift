/// Plans the Activity Log of a planted scenario: the operations that cause the planted bursts
/// (their EndRequest is the truth's evidence), the Service Health communications of a planted
/// vendor incident, and decoys — key rotations and listings, role assignments of unrelated
/// principals, incidents of other regions and services, and everyday noise (deployments,
/// diagnostic settings, RAI policies, reads).
///
/// Decoys that could pass for a cause (rotations, key listings, role assignments) are kept
/// clear of the bursts on their account: none falls within 30 minutes after a burst's span or
/// 4 hours before it; an incident of another service keeps 45 minutes from every burst start.
struct PlantedActivity {
    /// A Service Health incident, for the status feeds as well.
    struct Incident {
        var title: String
        var service: String
        var region: String
        var impactStart: Int64
        var posted: Int64
    }

    private(set) var events: [GeneratorActivityEvent] = []
    /// Per burst, per account it hit: the eventDataId and correlationId of the cause.
    private(set) var evidence: [[Int: (eventDataId: GeneratorGUID, correlationId: GeneratorGUID)]]
    private(set) var incidents: [Incident] = []
    private let plan: PlantedPlan
    private var rng: GeneratorRandom

    private var estate: PlantedEstate { plan.estate }

    init(plan: PlantedPlan, seed: UInt64) {
        self.plan = plan
        rng = GeneratorRandom(seed: seed, stream: 13)
        evidence = Array(repeating: [:], count: plan.bursts.count)
        for i in plan.bursts.indices { plantCause(i) }
        addDecoys()
    }

    // MARK: - Building blocks

    /// A BeginRequest/EndRequest pair ending at `end`; returns the EndRequest.
    @discardableResult
    private mutating func operation(
        _ name: String, account: Int, suffix: String = "", provider: String = "Microsoft.CognitiveServices",
        resourceType: String = "Microsoft.CognitiveServices/accounts", method: String = "POST", admin: Int, end: Int64,
        requestBody: String? = nil, responseBody: String? = nil, created: Bool = false, failed: Bool = false
    ) -> GeneratorActivityEvent {
        let a = estate.accounts[account]
        let durationMs = Int64(300 + rng.int(2700))
        let begin = end - durationMs * 10_000 - rng.int64(10_000)
        let correlation = rng.guid()
        var event = GeneratorActivityEvent(
            kind: .begin, sequence: events.count, eventDataId: rng.guid(), correlationId: correlation, time: begin,
            submission: begin + PlantedTime.minute + rng.int64(3 * PlantedTime.minute), subscription: a.subscription,
            operation: name, resourceId: a.resourceId + suffix, resourceGroup: a.resourceGroup, provider: provider,
            resourceType: resourceType, method: method, admin: admin, tokenIssued: begin / PlantedTime.second - Int64(60 + rng.int(3000)),
            status: "Started", subStatus: "", httpCode: 0, durationMs: 0, requestBody: requestBody, responseBody: nil,
            statusMessage: nil, serviceRequestId: nil, clientRequestId: rng.guid(), health: nil)
        events.append(event)
        event.kind = .end
        event.sequence = events.count
        event.eventDataId = rng.guid()
        event.time = end
        event.submission = end + PlantedTime.minute + rng.int64(3 * PlantedTime.minute)
        event.durationMs = durationMs
        event.serviceRequestId = rng.guid()
        event.setOutcome(failed: failed, by: estate.admins[admin], action: name, created: created, responseBody: responseBody)
        events.append(event)
        return event
    }

    /// A role assignment write or delete at `account` for `principal`; returns the EndRequest.
    @discardableResult
    private mutating func roleAssignment(
        delete: Bool, account: Int, principal: String, principalType: String, role: String, end: Int64
    ) -> GeneratorActivityEvent {
        let a = estate.accounts[account]
        let assignment = rng.guid().text
        let sub = estate.subscriptions[a.subscription].text
        let definition = "/subscriptions/\(sub)/providers/Microsoft.Authorization/roleDefinitions/\(role)"
        let suffix = "/providers/Microsoft.Authorization/roleAssignments/" + assignment
        let stamp = GeneratorBuffer.isoText(end - 30 * PlantedTime.day)
        let response = #"{"properties":{"roleDefinitionId":"\#(definition)","principalId":"\#(principal)","principalType":"\#(principalType)","scope":"\#(a.resourceId)","condition":null,"conditionVersion":null,"createdOn":"\#(stamp)","updatedOn":"\#(stamp)","createdBy":null,"updatedBy":"\#(estate.admins[PlantedEstate.accessAdmin].objectId.text)","delegatedManagedIdentityResourceId":null,"description":null},"id":"\#(a.resourceId + suffix)","type":"Microsoft.Authorization/roleAssignments","name":"\#(assignment)"}"#
        let request = delete ? nil : #"{"Id":"\#(assignment)","Properties":{"PrincipalId":"\#(principal)","PrincipalType":"\#(principalType)","RoleDefinitionId":"\#(definition)","Scope":"\#(a.resourceId)","Condition":null,"ConditionVersion":null}}"#
        return operation(
            delete ? "Microsoft.Authorization/roleAssignments/delete" : "Microsoft.Authorization/roleAssignments/write",
            account: account, suffix: suffix, provider: "Microsoft.Authorization", resourceType: "Microsoft.Authorization/roleAssignments",
            method: delete ? "DELETE" : "PUT", admin: PlantedEstate.accessAdmin, end: end, requestBody: request,
            responseBody: response, created: !delete)
    }

    /// Active (and, when it falls inside the window, Resolved) communications of one incident in
    /// `subscriptions`; returns the Active event of each subscription.
    private mutating func incident(
        service: String, region: String, what: String, impactStart: Int64, posted: Int64, resolved: Int64, subscriptions: [Int]
    ) -> [Int: GeneratorActivityEvent] {
        let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
        let tracking = String((0..<3).map { _ in rng.pick(letters) }) + "-" + String((0..<3).map { _ in rng.pick(letters) })
        return incident(service: service, region: region, what: what, tracking: tracking, impactStart: impactStart, posted: posted,
                        resolved: resolved, subscriptions: subscriptions)
    }

    private mutating func incident(
        service: String, region: String, what: String, tracking: String, impactStart: Int64, posted: Int64, resolved: Int64,
        subscriptions: [Int]
    ) -> [Int: GeneratorActivityEvent] {
        let title = "\(service) - \(region) - \(what)"
        let hhmm = String(GeneratorBuffer.isoText(impactStart).dropFirst(11).prefix(5))
        let text = "<p>Starting at \(hhmm) UTC a subset of customers using \(service) in \(region) may experience errors.</p>"
        if posted < plan.windowEnd - PlantedTime.minute {
            incidents.append(Incident(title: title, service: service, region: region, impactStart: impactStart, posted: posted))
        }
        var active: [Int: GeneratorActivityEvent] = [:]
        for sub in subscriptions {
            for stage in ["Active", "Resolved"] {
                let time = (stage == "Active" ? posted : resolved) + Int64(rng.int(20)) * PlantedTime.second
                if time >= plan.windowEnd - PlantedTime.minute { continue }
                let health = GeneratorActivityEvent.Health(
                    title: title, service: service, region: region, trackingId: tracking, impactStart: impactStart,
                    mitigation: stage == "Resolved" ? resolved - 5 * PlantedTime.minute : nil, communication: text)
                let event = GeneratorActivityEvent(
                    kind: .health, sequence: events.count, eventDataId: rng.guid(), correlationId: rng.guid(), time: time,
                    submission: time + 30 * PlantedTime.second + rng.int64(2 * PlantedTime.minute), subscription: sub,
                    operation: "Microsoft.ServiceHealth/incident/action", resourceId: "/subscriptions/\(estate.subscriptions[sub].text)",
                    resourceGroup: "", provider: "", resourceType: "", method: "", admin: 0, tokenIssued: 0, status: stage,
                    subStatus: "", httpCode: 0, durationMs: 0, requestBody: nil, responseBody: nil, statusMessage: nil,
                    serviceRequestId: nil, clientRequestId: rng.guid(), health: health)
                events.append(event)
                if stage == "Active" { active[sub] = event }
            }
        }
        return active
    }

    // MARK: - Causes

    private mutating func plantCause(_ i: Int) {
        let b = plan.bursts[i]
        let a = b.accounts[0]
        let account = estate.accounts[a]
        let lastUsable = plan.windowEnd - 2 * PlantedTime.minute
        switch b.kind {
        case .keyRotation:
            let e = operation(
                "Microsoft.CognitiveServices/accounts/regenerateKey/action", account: a,
                admin: rng.pick([PlantedEstate.ops, PlantedEstate.pipeline]), end: b.cause, requestBody: #"{"keyName":"Key1"}"#)
            evidence[i][a] = (e.eventDataId, e.correlationId)
        case .localAuthDisabled:
            let e = operation(
                "Microsoft.CognitiveServices/accounts/write", account: a, method: "PUT",
                admin: rng.pick([PlantedEstate.policy, PlantedEstate.ops]), end: b.cause,
                requestBody: #"{"location":"\#(account.region.name)","properties":{"disableLocalAuth":true}}"#)
            evidence[i][a] = (e.eventDataId, e.correlationId)
            let back = b.end - Int64(30 + rng.int(90)) * PlantedTime.second
            if b.undone, back < lastUsable {
                operation(
                    "Microsoft.CognitiveServices/accounts/write", account: a, method: "PUT", admin: PlantedEstate.ops, end: back,
                    requestBody: #"{"location":"\#(account.region.name)","properties":{"disableLocalAuth":false}}"#)
            }
        case .roleAssignmentRemoved:
            let principal = estate.apps[b.app!].objectId
            let e = roleAssignment(
                delete: true, account: a, principal: principal, principalType: "ServicePrincipal",
                role: GeneratorActivityPlanner.openAIUserRole, end: b.cause)
            evidence[i][a] = (e.eventDataId, e.correlationId)
            let back = b.end - Int64(120 + rng.int(240)) * PlantedTime.second
            if b.undone, back < lastUsable {
                roleAssignment(
                    delete: false, account: a, principal: principal, principalType: "ServicePrincipal",
                    role: GeneratorActivityPlanner.openAIUserRole, end: back)
            }
        case .vendorIncident:
            let subs = Array(Set(b.accounts.map { estate.accounts[$0].subscription })).sorted()
            let active = incident(
                service: "Azure OpenAI Service", region: account.region.display, what: "Elevated authentication failures",
                tracking: b.trackingId, impactStart: b.cause, posted: b.posted,
                resolved: b.end + Int64(3 + rng.int(12)) * PlantedTime.minute, subscriptions: subs)
            for acc in b.accounts {
                if let e = active[estate.accounts[acc].subscription] { evidence[i][acc] = (e.eventDataId, e.correlationId) }
            }
        case .sdkBump, .unexplained:
            break
        }
    }

    // MARK: - Decoys

    /// A random time at which `account` is quiet (no burst from 30 minutes before to `after`
    /// after), or nil.
    private mutating func quietTime(_ account: Int, after: Int64) -> Int64? {
        for _ in 0..<200 {
            let t = plan.windowStart + 5 * PlantedTime.minute + rng.int64(plan.windowEnd - plan.windowStart - 10 * PlantedTime.minute)
            if plan.isQuiet(account: account, at: t, before: 30 * PlantedTime.minute, after: after) { return t }
        }
        return nil
    }

    private mutating func addDecoys() {
        let accounts = estate.accounts.count
        let hours = Int((plan.windowEnd - plan.windowStart) / PlantedTime.hour)
        let guarded = 4 * PlantedTime.hour
        // Key rotations and listings on quiet accounts: no failures follow.
        for _ in 0..<rng.int(in: 1...2) {
            let a = rng.int(accounts)
            if let t = quietTime(a, after: guarded) {
                operation(
                    "Microsoft.CognitiveServices/accounts/regenerateKey/action", account: a, admin: rng.pick([PlantedEstate.ops, PlantedEstate.pipeline]),
                    end: t, requestBody: #"{"keyName":"\#(rng.chance(0.5) ? "Key1" : "Key2")"}"#)
            }
        }
        for _ in 0..<rng.int(in: 1...3) {
            let a = rng.int(accounts)
            if let t = quietTime(a, after: guarded) {
                operation("Microsoft.CognitiveServices/accounts/listKeys/action", account: a,
                          admin: rng.pick([PlantedEstate.ops, PlantedEstate.pipeline, PlantedEstate.developer]), end: t,
                          failed: rng.chance(0.2))
            }
        }
        // Role assignments of principals that call nothing here.
        for n in 0..<rng.int(in: 1...3) {
            let a = rng.int(accounts)
            if let t = quietTime(a, after: guarded) {
                roleAssignment(
                    delete: n == 2, account: a, principal: rng.guid().text, principalType: rng.chance(0.5) ? "User" : "ServicePrincipal",
                    role: rng.chance(0.6) ? GeneratorActivityPlanner.openAIUserRole : GeneratorActivityPlanner.openAIContributorRole, end: t)
            }
        }
        // Incidents elsewhere: Azure OpenAI in a region without accounts, another service where accounts are.
        let used = Set(estate.accounts.map(\.region.name))
        let elsewhere = PlantedEstate.regions.filter { !used.contains($0.name) }
        let allSubs = Array(estate.subscriptions.indices)
        if let region = elsewhere.isEmpty ? nil : rng.pick(elsewhere) {
            let t = plan.windowStart + rng.int64(plan.windowEnd - plan.windowStart - PlantedTime.hour)
            _ = incident(service: "Azure OpenAI Service", region: region.display, what: "Elevated authentication failures", impactStart: t,
                         posted: t + Int64(5 + rng.int(10)) * PlantedTime.minute, resolved: t + Int64(40 + rng.int(80)) * PlantedTime.minute,
                         subscriptions: allSubs)
        }
        for _ in 0..<50 {
            let t = plan.windowStart + rng.int64(plan.windowEnd - plan.windowStart - PlantedTime.hour)
            if !plan.isQuietEverywhere(at: t, margin: 45 * PlantedTime.minute) { continue }
            let region = estate.accounts[rng.int(accounts)].region.display
            _ = incident(service: rng.pick(["Azure Cosmos DB", "Azure Databricks", "Virtual Machines"]), region: region,
                         what: "Degraded availability", impactStart: t, posted: t + Int64(5 + rng.int(10)) * PlantedTime.minute,
                         resolved: t + Int64(40 + rng.int(80)) * PlantedTime.minute, subscriptions: allSubs)
            break
        }
        // Everyday noise, anywhere.
        let deployments = GeneratorTopology.chatDeployments + [GeneratorTopology.embeddingDeployment]
        for _ in 0..<(hours + rng.int(hours / 2 + 1)) {
            let a = rng.int(accounts)
            let t = plan.windowStart + 3 * PlantedTime.minute + rng.int64(plan.windowEnd - plan.windowStart - 6 * PlantedTime.minute)
            let admin = rng.pick([PlantedEstate.ops, PlantedEstate.developer, PlantedEstate.pipeline, PlantedEstate.portalUser])
            switch rng.int(4) {
            case 0:
                let d = rng.pick(deployments)
                operation(
                    "Microsoft.CognitiveServices/accounts/deployments/write", account: a, suffix: "/deployments/" + d.name,
                    resourceType: "Microsoft.CognitiveServices/accounts/deployments", method: "PUT", admin: admin, end: t,
                    requestBody: #"{"sku":{"name":"Standard","capacity":\#(10 * rng.int(in: 1...12))},"properties":{"model":{"format":"OpenAI","name":"\#(d.model)","version":"\#(d.version)"}}}"#)
            case 1:
                operation(
                    "Microsoft.Insights/diagnosticSettings/write", account: a, suffix: "/providers/Microsoft.Insights/diagnosticSettings/to-storage",
                    provider: "Microsoft.Insights", resourceType: "Microsoft.Insights/diagnosticSettings", method: "PUT", admin: admin, end: t,
                    requestBody: #"{"properties":{"logs":[{"category":"RequestResponse","enabled":true},{"category":"Audit","enabled":true}]}}"#)
            case 2:
                operation(
                    "Microsoft.CognitiveServices/accounts/raiPolicies/write", account: a, suffix: "/raiPolicies/default-strict",
                    resourceType: "Microsoft.CognitiveServices/accounts/raiPolicies", method: "PUT", admin: admin, end: t)
            default:
                operation("Microsoft.CognitiveServices/accounts/read", account: a, method: "GET", admin: admin, end: t)
            }
        }
    }
}
