import AuditCore
import AzureSimulator
import Foundation
import Testing

/// Role assignments, role definitions and account properties through ARM.
@Suite(.enabled(if: SimScenario.gitPath != nil, "needs git on PATH (PlantedScenario writes repositories)"))
struct SimAzureRBACTests {
    static func assignments(_ azure: SimAzure, scope: String, filter: String?, headers: [String: String]) throws -> [JSONValue] {
        var url = scope + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
        if let filter { url += "&$filter=" + Sim.encode(filter) }
        let r = azure.handle(Sim.request(url, headers: headers))
        try #require(r.status == 200, "\(Sim.text(r))")
        return try Sim.json(r)["value"]?.arrayValue ?? []
    }

    @Test func atScopeListsTheAccountsOwnAndInheritedAssignments() throws {
        let azure = try SimScenario.make()
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let truth = try SimScenario.truth()
        // The accounts of the estate keep their original case (from truth.json).
        let truthAccounts = (truth["accounts"]?.arrayValue ?? []).compactMap(\.text)
        #expect(Set(azure.accountIDs) == Set(truthAccounts))
        let entra = (truth["apps"]?.arrayValue ?? []).filter { $0["entra"] == .bool(true) }
        let app = try #require(entra.first)
        let account = try #require(app["resource_id"]?.text), oid = try #require(app["object_id"]?.text)
        let parsed = ResourceID(account)
        let sub = "/subscriptions/\(try #require(parsed.subscription))"
        let rg = account.components(separatedBy: "/providers/")[0]

        let atAccount = try Self.assignments(azure, scope: account, filter: "atScope()", headers: headers)
        let scopes = atAccount.compactMap { $0["properties"]?["scope"]?.text?.lowercased() }
        #expect(scopes.contains(sub.lowercased()) && scopes.contains(rg.lowercased()) && scopes.contains(account.lowercased()))
        #expect(scopes.allSatisfy { account.lowercased() == $0 || account.lowercased().hasPrefix($0 + "/") })
        let mine = try #require(atAccount.first { $0["properties"]?["principalId"]?.text == oid })
        #expect(mine["properties"]?["roleDefinitionId"]?.text?.hasSuffix("/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd") == true)
        #expect(mine["type"]?.text == "Microsoft.Authorization/roleAssignments")
        #expect(mine["id"]?.text == account + "/providers/Microsoft.Authorization/roleAssignments/" + (mine["name"]?.text ?? ""))
        #expect(mine["properties"]?.objectValue?.keys.contains("createdOn") == true)

        // At the resource group: atScope() leaves out the account's own, no filter includes it.
        let atRG = try Self.assignments(azure, scope: rg, filter: "atScope()", headers: headers)
        #expect(!atRG.contains { $0["properties"]?["scope"]?.text?.lowercased() == account.lowercased() })
        let belowRG = try Self.assignments(azure, scope: rg, filter: nil, headers: headers)
        #expect(belowRG.contains { $0["properties"]?["scope"]?.text?.lowercased() == account.lowercased() })
        let forPrincipal = try Self.assignments(azure, scope: account, filter: "atScope() and assignedTo('\(oid)')", headers: headers)
        #expect(forPrincipal.count == 1)

        // The role definition names the role.
        let definition = azure.handle(
            Sim.request("\(sub)/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd?api-version=2022-04-01", headers: headers))
        #expect(try Sim.json(definition)["properties"]?["roleName"]?.text == "Cognitive Services OpenAI User")
        let reader = azure.handle(
            Sim.request("\(sub)/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7?api-version=2022-04-01", headers: headers))
        #expect(try Sim.json(reader)["properties"]?["roleName"]?.text == "Reader")

        // Removed: gone from the list, no tombstone.
        let id = try #require(mine["id"]?.text)
        #expect(azure.removeRoleAssignment(id: id))
        let after = try Self.assignments(azure, scope: account, filter: "atScope()", headers: headers)
        #expect(after.count == atAccount.count - 1 && !after.contains { $0["id"]?.text == id })
        #expect(!azure.removeRoleAssignment(id: id))
        let added = try #require(azure.addRoleAssignment(scope: account, role: "Cognitive Services OpenAI Contributor", principalID: oid))
        #expect(try Self.assignments(azure, scope: account, filter: "atScope()", headers: headers).contains { $0["id"]?.text == added })
    }

    @Test func accountGetReflectsPropertyChanges() throws {
        let azure = try SimScenario.make { $0.pageSize = 2 }
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let account = try #require(azure.accountIDs.first)
        func get() throws -> JSONValue {
            let r = azure.handle(Sim.request(account + "?api-version=2023-05-01", headers: headers))
            try #require(r.status == 200, "\(Sim.text(r))")
            return try Sim.json(r)
        }
        let before = try get()
        #expect(before["kind"]?.text == "OpenAI" && before["sku"]?["name"]?.text == "S0" && before["id"]?.text == account)
        #expect(before["properties"]?["disableLocalAuth"] == .bool(false))
        #expect(before["properties"]?["publicNetworkAccess"]?.text == "Enabled")
        #expect(before["properties"]?["provisioningState"]?.text == "Succeeded")
        #expect(before["properties"]?["endpoint"]?.text == "https://\(ResourceID(account).shortName).openai.azure.com/")
        #expect(before["properties"]?["networkAcls"]?["defaultAction"]?.text == "Allow")
        #expect(before["location"]?.text?.isEmpty == false)

        #expect(azure.setAccountProperty(resourceID: account.uppercased(), disableLocalAuth: true, publicNetworkAccess: "Disabled"))
        let after = try get()
        #expect(after["properties"]?["disableLocalAuth"] == .bool(true))
        #expect(after["properties"]?["publicNetworkAccess"]?.text == "Disabled")
        #expect(after["etag"] != before["etag"])
        #expect(!azure.setAccountProperty(resourceID: "/subscriptions/x/resourceGroups/y/providers/Microsoft.CognitiveServices/accounts/none"))

        // Listing per subscription pages with nextLink and finds every account of it.
        let sub = try #require(ResourceID(account).subscription)
        var next: String? = "/subscriptions/\(sub)/providers/Microsoft.CognitiveServices/accounts?api-version=2023-05-01"
        var ids: [String] = []
        while let url = next {
            let body = try Sim.json(azure.handle(Sim.request(url, headers: headers)))
            ids += (body["value"]?.arrayValue ?? []).compactMap { $0["id"]?.text }
            next = body["nextLink"]?.text
        }
        #expect(Set(ids) == Set(azure.accountIDs.filter { ResourceID($0).subscription == sub }))
        let missing = azure.handle(Sim.request(account + "x?api-version=2023-05-01", headers: headers))
        #expect(try missing.status == 404 && (Sim.json(missing)["error"]?["code"]?.text) == "ResourceNotFound")
    }
}
