import Foundation
import AuditCore

/// Derives auth-relevant changes from successful Activity Log operations.
enum ActivityChanges {
    static func derive(event e: ActivityEvent, fields f: ActivityNormalizer.Fields) -> [ChangeRecord] {
        guard e.status == "Succeeded" else { return [] }
        let op = e.operation.asciiLowercased
        let props = f.properties
        let request = props.first("requestbody", "requestBody")?.embeddedObject
        let response = props.first("responseBody", "responsebody")?.embeddedObject
        let actor = e.caller
        let account = ResourceID(e.resourceId)
        let name = account.shortName
        var out: [ChangeRecord] = []

        func add(_ kind: String, resource: String, summary: String, detail: [(String, JSONValue)] = [], principal: String? = nil) {
            var members: [(key: String, value: JSONValue)] = [("operation", .string(e.operation))]
            members += detail.map { (key: $0.0, value: $0.1) }
            out.append(ChangeRecord(
                dedupeKey: "activity:" + e.identityKey + ":" + kind, timeUs: e.timeUs, kind: kind, resourceId: resource,
                actor: actor, summary: Redactor.redact(summary), detail: Redactor.redact(json: .object(JSONObject(members))).serialized,
                sourceKind: "activity", sourceId: e.eventDataId ?? e.correlationId, correlationId: e.correlationId, principalId: principal))
        }
        let by = actor.map { " by \($0)" } ?? ""

        switch op {
        case "microsoft.cognitiveservices/accounts/regeneratekey/action":
            let key = request?["keyName"]?.nonEmptyText
            add(ChangeKind.keyRegenerated, resource: e.resourceId, summary: "\(key ?? "a key") regenerated on \(name)\(by)",
                detail: key.map { [("key_name", .string($0))] } ?? [])
        case "microsoft.cognitiveservices/accounts/listkeys/action":
            add(ChangeKind.keyListed, resource: e.resourceId, summary: "keys listed on \(name)\(by)")
        case "microsoft.cognitiveservices/accounts/write":
            let p = request?["properties"]?.objectValue
            var any = false
            if let disable = p?["disableLocalAuth"]?.bool {
                add(disable ? ChangeKind.localAuthDisabled : ChangeKind.localAuthEnabled, resource: e.resourceId,
                    summary: "key (local) authentication \(disable ? "disabled" : "enabled") on \(name)\(by)",
                    detail: [("disableLocalAuth", .bool(disable))])
                any = true
            }
            if let p, p["networkAcls"] != nil || p["publicNetworkAccess"] != nil {
                var d: [(String, JSONValue)] = []
                if let v = p["publicNetworkAccess"] { d.append(("publicNetworkAccess", v)) }
                if let v = p["networkAcls"] { d.append(("networkAcls", v)) }
                let pna = p["publicNetworkAccess"]?.nonEmptyText.map { " (public network access \($0))" } ?? ""
                add(ChangeKind.networkRuleChange, resource: e.resourceId, summary: "network rules changed on \(name)\(pna)\(by)", detail: d)
                any = true
            }
            if !any {
                add(ChangeKind.accountConfigChange, resource: e.resourceId,
                    summary: "account configuration changed on \(name)\(by)" + (request == nil ? " (request body not logged)" : ""))
            }
        case _ where op.hasPrefix("microsoft.cognitiveservices/accounts/privateendpointconnection")
            || op.hasPrefix("microsoft.cognitiveservices/accounts/networksecurityperimeter")
            || op == "microsoft.cognitiveservices/accounts/joinperimeter/action":
            let acct = accountID(e.resourceId)
            add(ChangeKind.networkRuleChange, resource: acct, summary: "network access changed on \(ResourceID(acct).shortName) (\(e.operation))\(by)")
        case "microsoft.cognitiveservices/accounts/deployments/write", "microsoft.cognitiveservices/accounts/deployments/delete":
            let acct = accountID(e.resourceId)
            let verb = op.hasSuffix("delete") ? "deleted" : "created or updated"
            add(ChangeKind.deploymentChange, resource: acct, summary: "deployment \(ResourceID(e.resourceId).shortName) \(verb) on \(ResourceID(acct).shortName)\(by)",
                detail: [("deployment", .string(ResourceID(e.resourceId).shortName))])
        case "microsoft.authorization/roleassignments/write", "microsoft.authorization/roleassignments/delete":
            let body = (request?["properties"] ?? request?["Properties"])?.objectValue ?? (response?["properties"] ?? response?["Properties"])?.objectValue
            let principal = body?.first("principalId", "PrincipalId")?.nonEmptyText?.asciiLowercased
            let principalType = body?.first("principalType", "PrincipalType")?.nonEmptyText
            let roleDef = body?.first("roleDefinitionId", "RoleDefinitionId")?.nonEmptyText
            let scope = body?.first("scope", "Scope")?.nonEmptyText.map(ResourceID.canonical) ?? roleAssignmentScope(e.resourceId)
            let deleted = op.hasSuffix("delete")
            let role = roleDef.map { RoleNames.name(forDefinition: $0) } ?? "a role"
            let who = principal.map { "\(principalType.map { $0 + " " } ?? "")\($0)" } ?? "a principal"
            var d: [(String, JSONValue)] = [("scope", .string(scope)), ("role_assignment", .string(e.resourceId))]
            if let principal { d.append(("principal_id", .string(principal))) }
            if let principalType { d.append(("principal_type", .string(principalType))) }
            if let roleDef { d.append(("role_definition_id", .string(roleDef))) }
            add(deleted ? ChangeKind.roleAssignmentDeleted : ChangeKind.roleAssignmentCreated, resource: scope,
                summary: "role assignment \(deleted ? "removed" : "added"): \(role) for \(who) at \(ResourceID(scope).shortName)\(by)",
                detail: d, principal: principal)
        case "microsoft.keyvault/vaults/secrets/write":
            let vault = ResourceID(e.resourceId)
            add(ChangeKind.keyvaultSecretSet, resource: vaultID(e.resourceId), summary: "Key Vault secret \(vault.shortName) set via ARM\(by)",
                detail: [("secret_name", .string(vault.shortName))])
        default:
            break
        }
        return out
    }

    /// `/…/accounts/x/deployments/y` → `/…/accounts/x`.
    static func accountID(_ id: String) -> String {
        guard let r = id.range(of: "/accounts/") else { return id }
        let rest = id[r.upperBound...]
        let name = rest.prefix { $0 != "/" }
        return String(id[..<r.upperBound]) + name
    }

    static func vaultID(_ id: String) -> String {
        guard let r = id.range(of: "/vaults/") else { return id }
        return String(id[..<r.upperBound]) + id[r.upperBound...].prefix { $0 != "/" }
    }

    /// A role assignment id is `<scope>/providers/microsoft.authorization/roleassignments/<guid>`.
    static func roleAssignmentScope(_ id: String) -> String {
        let lower = id.asciiLowercased
        guard let r = lower.range(of: "/providers/microsoft.authorization/roleassignments/") else { return lower }
        let scope = String(lower[..<r.lowerBound])
        return scope.isEmpty ? "/" : scope
    }
}

/// Well-known built-in role definition ids (the last path segment of `roleDefinitionId`).
enum RoleNames {
    static let known: [String: String] = [
        "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",
        "a001fd3d-188f-4b5d-821b-7da978bf7442": "Cognitive Services OpenAI Contributor",
        "a97b65f3-24c7-4388-baec-2e87135dc908": "Cognitive Services User",
        "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68": "Cognitive Services Contributor",
        "b59867f0-fa02-499b-be73-45a86b5b3e1c": "Cognitive Services Data Reader",
        "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
        "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    ]

    static func name(forDefinition id: String) -> String {
        let guid = (id.split(separator: "/").last.map(String.init) ?? id).asciiLowercased
        return known[guid] ?? "role \(guid)"
    }
}
