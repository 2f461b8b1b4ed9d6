import AuditCore

/// One Activity Log event as the generator plans it, before it is written in the REST shape
/// (formats.md §1.2, §3.1) and the export shape (§2.2).
struct GeneratorActivityEvent {
    /// Sets the EndRequest outcome: Succeeded (200/201 with the response body) or Failed with
    /// ARM's 403 AuthorizationFailed message naming the admin and the action.
    mutating func setOutcome(failed: Bool, by who: GeneratorTopology.Admin, action: String, created: Bool, responseBody: String?) {
        if failed {
            status = "Failed"
            subStatus = "Forbidden"
            httpCode = 403
            statusMessage = #"{"error":{"code":"AuthorizationFailed","message":"The client '\#(who.caller)' with object id '\#(who.objectId.text)' does not have authorization to perform action '\#(action)' over scope '\#(resourceId)' or the scope is invalid. If access was recently granted, please refresh your credentials."}}"#
        } else {
            status = "Succeeded"
            subStatus = created ? "Created" : "OK"
            httpCode = created ? 201 : 200
            self.responseBody = responseBody
        }
    }

    enum Kind { case begin, end, health }

    /// Service Health incident details (§3.1 `properties`).
    struct Health {
        var title: String
        var service: String
        var region: String
        var trackingId: String
        var impactStart: Int64
        var mitigation: Int64?
        var communication: String
    }

    var kind: Kind
    /// Planning order; the tie-breaker whenever two events share a timestamp.
    var sequence: Int
    var eventDataId: GeneratorGUID
    var correlationId: GeneratorGUID
    /// Event time and ingestion time, 100-ns ticks since the Unix epoch.
    var time: Int64
    var submission: Int64
    var subscription: Int
    /// `operationName.value` in its usual case, e.g. `Microsoft.CognitiveServices/accounts/listKeys/action`.
    var operation: String
    var resourceId: String
    var resourceGroup: String
    var provider: String
    var resourceType: String
    var method: String
    var admin: Int
    var tokenIssued: Int64
    /// `Started`, `Succeeded`, `Failed`, `Active`, `Resolved`.
    var status: String
    /// `""`, `OK`, `Created`, `Forbidden`.
    var subStatus: String
    var httpCode: Int
    var durationMs: Int64
    var requestBody: String?
    var responseBody: String?
    var statusMessage: String?
    var serviceRequestId: GeneratorGUID?
    var clientRequestId: GeneratorGUID
    var health: Health?

    var failed: Bool { status == "Failed" }
}

/// Plans the Activity Log of the window: administrative operations as BeginRequest/EndRequest
/// pairs, mostly in office hours, plus a few Service Health incidents (Active, then Resolved)
/// delivered to every subscription.
struct GeneratorActivityPlanner {
    let topology: GeneratorTopology
    let options: GeneratorOptions

    static let openAIUserRole = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
    static let openAIContributorRole = "a001fd3d-188f-4b5d-821b-7da978bf7442"

    private enum Operation: CaseIterable {
        case listKeys, regenerateKey, accountWrite, deploymentWrite, roleWrite, roleDelete, secretWrite

        var weight: Double {
            switch self {
            case .listKeys: return 30
            case .regenerateKey: return 8
            case .accountWrite: return 10
            case .deploymentWrite: return 12
            case .roleWrite: return 12
            case .roleDelete: return 6
            case .secretWrite: return 14
            }
        }
    }

    /// All events, in planning order.
    func plan() -> [GeneratorActivityEvent] {
        var rng = GeneratorRandom(seed: options.seed, stream: 3)
        let tickStart = Timestamp.microsPerHour * (options.start / Timestamp.microsPerHour) * 10
        let tickDay: Int64 = 864_000_000_000
        let tickHour: Int64 = 36_000_000_000
        var events: [GeneratorActivityEvent] = []
        let operations = Operation.allCases
        let opCumulative = GeneratorRandom.cumulative(operations.map(\.weight))
        let hourCumulative = GeneratorRandom.cumulative((0..<24).map { (7...18).contains($0) ? 6.0 : 1.0 })
        let principals = topology.entraPrincipals
        let humans = topology.admins.indices.filter { !topology.admins[$0].isServicePrincipal }
        let robots = topology.admins.indices.filter { topology.admins[$0].isServicePrincipal }
        let accessAdmin = topology.admins.firstIndex { $0.role == "User Access Administrator" }

        for _ in 0..<(options.activityEventsPerDay * options.days / 2) {
            let day = Int64(rng.int(options.days))
            let hour = Int64(rng.weighted(hourCumulative))
            let begin = tickStart + day * tickDay + hour * tickHour + rng.int64(tickHour)
            let op = operations[rng.weighted(opCumulative)]
            let accountIndex = rng.int(topology.accounts.count)
            let account = topology.accounts[accountIndex]
            var admin = rng.chance(0.5) ? rng.pick(humans) : rng.pick(robots)
            if op == .roleWrite || op == .roleDelete { admin = accessAdmin ?? admin }
            let durationMs = Int64(200 + rng.spread(median: 1500, sigma: 0.6))
            let end = begin + durationMs * 10_000 + rng.int64(10_000)
            var resourceId = account.resourceId
            var provider = "Microsoft.CognitiveServices"
            var resourceType = "Microsoft.CognitiveServices/accounts"
            var operationName: String
            var method = "POST"
            var requestBody: String?
            var responseBody: String?
            var created = false
            switch op {
            case .listKeys:
                operationName = "Microsoft.CognitiveServices/accounts/listKeys/action"
            case .regenerateKey:
                operationName = "Microsoft.CognitiveServices/accounts/regenerateKey/action"
                requestBody = #"{"keyName":"\#(rng.chance(0.5) ? "Key1" : "Key2")"}"#
            case .accountWrite:
                operationName = "Microsoft.CognitiveServices/accounts/write"
                method = "PUT"
                let access = rng.chance(0.8) ? "Enabled" : "Disabled"
                requestBody = #"{"location":"\#(account.region.name)","kind":"OpenAI","sku":{"name":"S0"},"properties":{"disableLocalAuth":false,"publicNetworkAccess":"\#(access)","networkAcls":{"defaultAction":"Allow","ipRules":[]}}}"#
            case .deploymentWrite:
                let deployment = rng.pick(
                    GeneratorTopology.chatDeployments + [GeneratorTopology.embeddingDeployment])
                operationName = "Microsoft.CognitiveServices/accounts/deployments/write"
                resourceId += "/deployments/" + deployment.name
                resourceType = "Microsoft.CognitiveServices/accounts/deployments"
                method = "PUT"
                created = rng.chance(0.3)
                requestBody = #"{"sku":{"name":"Standard","capacity":\#(10 * rng.int(in: 1...12))},"properties":{"model":{"format":"OpenAI","name":"\#(deployment.model)","version":"\#(deployment.version)"},"versionUpgradeOption":"OnceNewDefaultVersionAvailable"}}"#
            case .roleWrite, .roleDelete:
                let assignment = rng.guid()
                let principal = principals.isEmpty || rng.chance(0.3) ? rng.guid().text : rng.pick(principals)
                let role = rng.chance(0.7) ? Self.openAIUserRole : Self.openAIContributorRole
                let sub = topology.subscriptions[account.subscription].text
                let definition = "/subscriptions/\(sub)/providers/Microsoft.Authorization/roleDefinitions/\(role)"
                operationName = op == .roleWrite
                    ? "Microsoft.Authorization/roleAssignments/write" : "Microsoft.Authorization/roleAssignments/delete"
                resourceId += "/providers/Microsoft.Authorization/roleAssignments/" + assignment.text
                provider = "Microsoft.Authorization"
                resourceType = "Microsoft.Authorization/roleAssignments"
                method = op == .roleWrite ? "PUT" : "DELETE"
                created = op == .roleWrite
                requestBody = #"{"Id":"\#(assignment.text)","Properties":{"PrincipalId":"\#(principal)","PrincipalType":"ServicePrincipal","RoleDefinitionId":"\#(definition)","Scope":"\#(account.resourceId)","Condition":null,"ConditionVersion":null}}"#
                let stamp = GeneratorBuffer.isoText(begin)
                responseBody = #"{"properties":{"roleDefinitionId":"\#(definition)","principalId":"\#(principal)","principalType":"ServicePrincipal","scope":"\#(account.resourceId)","condition":null,"conditionVersion":null,"createdOn":"\#(stamp)","updatedOn":"\#(stamp)","createdBy":null,"updatedBy":"\#(topology.admins[admin].objectId.text)","delegatedManagedIdentityResourceId":null,"description":null},"id":"\#(resourceId)","type":"Microsoft.Authorization/roleAssignments","name":"\#(assignment.text)"}"#
            case .secretWrite:
                operationName = "Microsoft.KeyVault/vaults/secrets/write"
                resourceId = "/subscriptions/\(topology.subscriptions[account.subscription].text)/resourceGroups/\(account.resourceGroup)/providers/Microsoft.KeyVault/vaults/\(account.keyVault)/secrets/\(account.name)-key"
                provider = "Microsoft.KeyVault"
                resourceType = "Microsoft.KeyVault/vaults/secrets"
                method = "PUT"
                requestBody = #"{"properties":{"contentType":"text/plain","attributes":{"enabled":true}}}"#
            }
            let failed = rng.chance(0.04)
            let correlation = rng.guid()
            let issued = (begin / 10_000_000) - Int64(60 + rng.int(3000))
            var event = GeneratorActivityEvent(
                kind: .begin, sequence: events.count, eventDataId: rng.guid(), correlationId: correlation, time: begin,
                submission: begin + 600_000_000 + rng.int64(2_400_000_000), subscription: account.subscription,
                operation: operationName, resourceId: resourceId, resourceGroup: account.resourceGroup,
                provider: provider, resourceType: resourceType, method: method, admin: admin, tokenIssued: issued,
                status: "Started", subStatus: "", httpCode: 0, durationMs: 0, requestBody: requestBody,
                responseBody: nil, statusMessage: nil, serviceRequestId: nil, clientRequestId: rng.guid(), health: nil)
            events.append(event)
            event.kind = .end
            event.sequence = events.count
            event.eventDataId = rng.guid()
            event.time = end
            event.submission = end + 600_000_000 + rng.int64(2_400_000_000)
            event.durationMs = durationMs
            event.serviceRequestId = rng.guid()
            event.setOutcome(failed: failed, by: topology.admins[admin], action: operationName, created: created, responseBody: responseBody)
            events.append(event)
        }
        appendHealth(to: &events, rng: &rng, tickStart: tickStart)
        return events
    }

    /// A few Service Health incidents, each Active then Resolved, in every subscription.
    private func appendHealth(to events: inout [GeneratorActivityEvent], rng: inout GeneratorRandom, tickStart: Int64) {
        guard options.activityEventsPerDay > 0 else { return }
        let tickHour: Int64 = 36_000_000_000
        let window = Int64(options.days) * 24 * tickHour
        for _ in 0..<max(1, options.days / 10) {
            let relevant = rng.chance(0.6)
            let decoys = ["Azure Cosmos DB", "Azure Key Vault", "Virtual Machines"]
            let service = relevant ? "Azure OpenAI Service" : rng.pick(decoys)
            let region = (relevant ? rng.pick(topology.accounts).region : rng.pick(GeneratorTopology.regions)).display
            let what = relevant ? "Elevated authentication failures" : "Degraded availability"
            let title = "\(service) - \(region) - \(what)"
            let impact = tickStart + rng.int64(max(window - 5 * tickHour, tickHour))
            let active = impact + 600_000_000 + rng.int64(1_800_000_000)
            let resolved = active + tickHour + rng.int64(3 * tickHour)
            let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
            let head = String((0..<3).map { _ in rng.pick(letters) })
            let tracking = head + "-" + String((0..<3).map { _ in rng.pick(letters) })
            let hhmm = String(GeneratorBuffer.isoText(impact).dropFirst(11).prefix(5))
            let text = "<p>Starting at \(hhmm) UTC a subset of customers using \(service) in \(region)"
                + " may experience errors.</p>"
            for sub in topology.subscriptions.indices {
                for stage in ["Active", "Resolved"] {
                    let time = stage == "Active" ? active : resolved
                    let health = GeneratorActivityEvent.Health(
                        title: title, service: service, region: region, trackingId: tracking, impactStart: impact,
                        mitigation: stage == "Resolved" ? resolved - 300_000_000 : nil, communication: text)
                    events.append(
                        GeneratorActivityEvent(
                            kind: .health, sequence: events.count, eventDataId: rng.guid(), correlationId: rng.guid(),
                            time: time, submission: time + 300_000_000 + rng.int64(1_200_000_000), subscription: sub,
                            operation: "Microsoft.ServiceHealth/incident/action",
                            resourceId: "/subscriptions/\(topology.subscriptions[sub].text)", resourceGroup: "",
                            provider: "", resourceType: "", method: "", admin: 0, tokenIssued: 0, status: stage,
                            subStatus: "", httpCode: 0, durationMs: 0, requestBody: nil, responseBody: nil,
                            statusMessage: nil, serviceRequestId: nil, clientRequestId: rng.guid(), health: health))
                }
            }
        }
    }
}
