import AuditCore
import AuditNet
import AuditStore
import Foundation
import Testing

@testable import AuditCollect

/// `rbac-snapshot`: account properties and role assignments, diffed between snapshots into the
/// same change kinds the Activity Log path derives (formats.md §11–12).
@Suite struct RBACSnapshotCollectorTests {
    static let sub = "11111111-2222-3333-4444-555555555555"
    static let rg = "/subscriptions/\(sub)/resourceGroups/rg-ai"
    static let accountA = "\(rg)/providers/Microsoft.CognitiveServices/accounts/aoai-prod-eus"
    static let accountC = "\(rg)/providers/Microsoft.CognitiveServices/accounts/ais-prod"
    static let textAnalytics = "\(rg)/providers/Microsoft.CognitiveServices/accounts/lang-prod"
    static let arm = "https://management.azure.com"
    static let openAIUser = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
    static let contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
    static let customRole = "77777777-aaaa-4bbb-8ccc-999999999999"
    static let spPrincipal = "dddddddd-1111-2222-3333-444444444444"
    static let userPrincipal = "aaaaaaaa-0000-1111-2222-333333333333"

    static func t(_ hour: Int64, _ minute: Int64 = 0) -> Int64 {
        Timestamp.make(year: 2026, month: 11, day: 23, hour: hour, minute: minute) ?? 0
    }

    static func source(accounts: [String]? = nil) -> SourceConfig {
        var values: [String: SourceValue] = ["subscriptions": SourceValue(line: 3, list: [sub])]
        if let accounts { values["accounts"] = SourceValue(line: 4, list: accounts) }
        return SourceConfig(name: "rbac", type: RBACSnapshotCollector.type, configPath: "aoai-audit.yaml", line: 2, values: values)
    }

    struct RoleAssignment {
        var guid: String
        var scope: String
        var role: String
        var principal: String
        var type: String

        var id: String { "\(scope)/providers/Microsoft.Authorization/roleAssignments/\(guid)" }
        var json: String {
            #"{"properties":{"roleDefinitionId":"/subscriptions/\#(sub)/providers/Microsoft.Authorization/roleDefinitions/\#(role)","principalId":"\#(principal)","principalType":"\#(type)","scope":"\#(scope)","condition":null,"conditionVersion":null,"createdOn":"2024-05-29T13:31:07.5516312Z","updatedOn":"2024-05-29T13:31:07.5516312Z","createdBy":"BBBBBBBB-0000-1111-2222-333333333333","updatedBy":null,"delegatedManagedIdentityResourceId":null,"description":null},"id":"\#(id)","type":"Microsoft.Authorization/roleAssignments","name":"\#(guid)"}"#
        }
    }

    /// A fake ARM: accounts (kind + properties), role assignments per account (two pages),
    /// role definitions; answers by URL.
    final class World: @unchecked Sendable {
        var disableLocalAuth: [String: Bool] = [accountA: false, accountC: false]
        var publicNetworkAccess: [String: String?] = [accountA: "Enabled", accountC: nil]
        var defaultAction = "Allow"
        var assignments: [String: [RoleAssignment]] = [:]
        var forbidAssignments = false
        var forbidAccount = false

        init() {
            let inherited = RoleAssignment(guid: "6f7e8d9c-0b1a-4c2d-9e3f-4a5b6c7d8e9f", scope: "/subscriptions/\(sub)", role: contributor, principal: userPrincipal, type: "User")
            assignments[accountA] = [
                RoleAssignment(guid: "0a1b2c3d-4e5f-4a5b-8c9d-0e1f2a3b4c5d", scope: accountA, role: openAIUser, principal: spPrincipal, type: "ServicePrincipal"),
                RoleAssignment(guid: "1a1b2c3d-4e5f-4a5b-8c9d-0e1f2a3b4c5d", scope: accountA, role: customRole, principal: "eeeeeeee-1111-2222-3333-444444444444", type: "Group"),
                inherited,
            ]
            assignments[accountC] = [
                RoleAssignment(guid: "2a1b2c3d-4e5f-4a5b-8c9d-0e1f2a3b4c5d", scope: accountC, role: customRole, principal: spPrincipal, type: "ServicePrincipal"),
                inherited,
            ]
        }

        func account(_ id: String, kind: String) -> String {
            let pna = (publicNetworkAccess[id] ?? nil).map { #""publicNetworkAccess":"\#($0)","# } ?? ""
            let acls = id == accountA ? #""networkAcls":{"defaultAction":"\#(defaultAction)","virtualNetworkRules":[],"ipRules":[{"value":"203.0.113.0/24"}]},"# : #""networkAcls":null,"#
            return #"{"id":"\#(id)","name":"\#(id.split(separator: "/").last ?? "")","type":"Microsoft.CognitiveServices/accounts","location":"eastus","kind":"\#(kind)","sku":{"name":"S0"},"properties":{"endpoint":"https://x.openai.azure.com/",\#(acls)\#(pna)"disableLocalAuth":\#(disableLocalAuth[id] ?? false),"provisioningState":"Succeeded"}}"#
        }

        func answer(_ r: HTTPRequest) -> HTTPResponse {
            let url = r.url
            let list = "\(arm)/subscriptions/\(sub)/providers/Microsoft.CognitiveServices/accounts?api-version=2023-05-01"
            if url == list {
                return CannedAzure.json(200, #"{"value":[\#(account(accountA, kind: "OpenAI")),\#(account(textAnalytics, kind: "TextAnalytics"))],"nextLink":"\#(list)&$skiptoken=page2"}"#)
            }
            if url == list + "&$skiptoken=page2" {
                return CannedAzure.json(200, #"{"value":[\#(account(accountC, kind: "AIServices"))]}"#)
            }
            for id in [accountA, accountC] {
                if url == "\(arm)\(id)?api-version=2023-05-01" {
                    if forbidAccount { return Self.forbidden("Microsoft.CognitiveServices/accounts/read", id) }
                    return CannedAzure.json(200, account(id, kind: id == accountA ? "OpenAI" : "AIServices"))
                }
                let ra = "\(arm)\(id)/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()"
                let items = assignments[id] ?? []
                let half = items.count / 2
                if url == ra {
                    if forbidAssignments { return Self.forbidden("Microsoft.Authorization/roleAssignments/read", id) }
                    return CannedAzure.json(200, #"{"value":[\#(items[..<half].map(\.json).joined(separator: ","))],"nextLink":"\#(ra)&$skiptoken=2"}"#)
                }
                if url == ra + "&$skiptoken=2" {
                    return CannedAzure.json(200, #"{"value":[\#(items[half...].map(\.json).joined(separator: ","))]}"#)
                }
            }
            if url == "\(arm)/subscriptions/\(sub)/providers/Microsoft.Authorization/roleDefinitions/\(customRole)?api-version=2022-04-01" {
                return CannedAzure.json(200, #"{"properties":{"roleName":"AOAI Callers (custom)","type":"CustomRole","assignableScopes":["/"],"permissions":[]},"id":"/subscriptions/\#(sub)/providers/Microsoft.Authorization/roleDefinitions/\#(customRole)","type":"Microsoft.Authorization/roleDefinitions","name":"\#(customRole)"}"#)
            }
            return CannedAzure.json(404, #"{"error":{"code":"NotFound","message":"no route for \#(url)"}}"#)
        }

        static func forbidden(_ action: String, _ scope: String) -> HTTPResponse {
            CannedAzure.json(403, #"{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'y' does not have authorization to perform action '\#(action)' over scope '\#(scope)' or the scope is invalid."}}"#)
        }
    }

    func run(_ world: World, store: SourceStore, now: Int64, http: CannedAzure.HTTP? = nil, accounts: [String]? = nil) throws -> SourceOutcome {
        let http = http ?? CannedAzure.HTTP(world.answer)
        let collector = try RBACSnapshotCollector(source: Self.source(accounts: accounts))
        return try collector.collect(try CannedAzure.context(Self.source(accounts: accounts), http: http, store: store, now: now))
    }

    struct StoredChange { var kind: String; var resource: String; var principal: String?; var summary: String; var detail: String; var time: Int64; var sourceKind: String; var actor: String? }

    static func changes(_ store: SourceStore) throws -> [StoredChange] {
        try store.withConnection { db in
            try db.rows("SELECT kind, resource_id, principal_id, summary, detail, time_us, source_kind, actor FROM changes ORDER BY id").map {
                StoredChange(kind: $0[0].text ?? "", resource: $0[1].text ?? "", principal: $0[2].text, summary: $0[3].text ?? "",
                             detail: $0[4].text ?? "", time: $0[5].integer ?? 0, sourceKind: $0[6].text ?? "", actor: $0[7].text)
            }
        }
    }

    // MARK: - Tests

    @Test func theFirstSnapshotRecordsStateAndNoChanges() throws {
        let store = try CannedAzure.store()
        let world = World()
        let http = CannedAzure.HTTP(world.answer)
        let out = try run(world, store: store, now: Self.t(1), http: http)
        #expect(out.failed == false && out.warnings.isEmpty)
        #expect(out.counts.changes == 0)
        #expect(try Self.changes(store).isEmpty)
        let urls = http.requests.map(\.url)
        // nextLinks followed (account list and both role assignment lists), kinds filtered.
        #expect(urls.contains { $0.hasSuffix("&$skiptoken=page2") })
        #expect(urls.filter { $0.hasSuffix("&$filter=atScope()&$skiptoken=2") }.count == 2)
        #expect(!urls.contains { $0.contains("lang-prod") })
        // The custom role is looked up once (cached); built-in ones never.
        #expect(urls.filter { $0.contains("roleDefinitions/\(Self.customRole)") }.count == 1)
        #expect(!urls.contains { $0.contains("roleDefinitions/\(Self.openAIUser)") })
        #expect(http.requests.allSatisfy { CannedAzure.header($0, "Authorization") == "Bearer test-token" && $0.method == "GET" })
        #expect(urls.count == 2 + 2 * 3 + 1)

        let state = try store.withConnection { try $0.rows("SELECT scope, item, value FROM rbac_state WHERE source = 'rbac' ORDER BY scope, item") }
        #expect(state.count == (3 + 3) + (3 + 2))
        let a = Self.accountA.lowercased()
        #expect(state.contains { $0[0].text == a && $0[1].text == "property:disableLocalAuth" && $0[2].text == "false" })
        #expect(state.contains { $0[0].text == a && $0[1].text == "property:networkAcls" && $0[2].text == #"{"defaultAction":"Allow","ipRules":["203.0.113.0/24"],"virtualNetworkRules":[]}"# })
        #expect(state.contains { $0[0].text == Self.accountC.lowercased() && $0[1].text == "property:publicNetworkAccess" && $0[2].text == "Enabled" })
        #expect(state.contains { $0[2].text?.contains("AOAI Callers (custom)") == true })
        #expect(try CannedAzure.checkpoints(store, source: "rbac")["snapshot_at"] == String(Self.t(1)))
    }

    @Test func aRemovedAssignmentIsOneDeletedChange() throws {
        let store = try CannedAzure.store()
        let world = World()
        _ = try run(world, store: store, now: Self.t(1))
        world.assignments[Self.accountA]?.removeAll { $0.role == Self.openAIUser }
        let out = try run(world, store: store, now: Self.t(7))
        #expect(out.counts.changes == 1)
        let changes = try Self.changes(store)
        #expect(changes.count == 1)
        let c = try #require(changes.first)
        #expect(c.kind == ChangeKind.roleAssignmentDeleted)
        #expect(c.principal == Self.spPrincipal)
        #expect(c.resource == Self.accountA.lowercased())
        #expect(c.time == Self.t(7))
        #expect(c.sourceKind == "rbac-snapshot")
        #expect(c.summary.contains("Cognitive Services OpenAI User"))
        #expect(c.summary.contains("between 2026-11-23T01:00:00Z and 2026-11-23T07:00:00Z"))
        let detail = try JSONParser.parse(c.detail)
        #expect(detail["principal_id"]?.text == Self.spPrincipal)
        #expect(detail["principal_type"]?.text == "ServicePrincipal")
        #expect(detail["role"]?.text == "Cognitive Services OpenAI User")
        #expect(detail["scope"]?.text == Self.accountA.lowercased())
        #expect(detail["time_exact"]?.bool == false)
        #expect(detail["observed_between"]?["from"]?.text == "2026-11-23T01:00:00.000000Z")
        // The state follows: the assignment is gone from rbac_state.
        #expect(try CannedAzure.scalar(store, "SELECT count(*) FROM rbac_state WHERE item LIKE 'assignment:%0a1b2c3d%'") == 0)
    }

    @Test func anInheritedAssignmentRemovedIsOneChangeAtItsScope() throws {
        let store = try CannedAzure.store()
        let world = World()
        _ = try run(world, store: store, now: Self.t(1))
        for id in [Self.accountA, Self.accountC] { world.assignments[id]?.removeAll { $0.role == Self.contributor } }
        _ = try run(world, store: store, now: Self.t(2))
        let changes = try Self.changes(store)
        #expect(changes.count == 1)
        #expect(changes.first?.resource == "/subscriptions/\(Self.sub)")
        #expect(changes.first?.principal == Self.userPrincipal)
        #expect(changes.first?.summary.contains("Contributor for User") == true)
    }

    @Test func anAddedAssignmentIsACreatedChange() throws {
        let store = try CannedAzure.store()
        let world = World()
        _ = try run(world, store: store, now: Self.t(1))
        world.assignments[Self.accountA]?.append(RoleAssignment(guid: "3a1b2c3d-4e5f-4a5b-8c9d-0e1f2a3b4c5d", scope: Self.accountA, role: Self.openAIUser,
                                                                 principal: "FFFFFFFF-1111-2222-3333-444444444444", type: "ServicePrincipal"))
        _ = try run(world, store: store, now: Self.t(2))
        let changes = try Self.changes(store)
        #expect(changes.map(\.kind) == [ChangeKind.roleAssignmentCreated])
        #expect(changes.first?.principal == "ffffffff-1111-2222-3333-444444444444")
        #expect(changes.first?.actor == "bbbbbbbb-0000-1111-2222-333333333333")
    }

    @Test func aDisableLocalAuthFlipIsALocalAuthChange() throws {
        let store = try CannedAzure.store()
        let world = World()
        _ = try run(world, store: store, now: Self.t(1))
        world.disableLocalAuth[Self.accountA] = true
        _ = try run(world, store: store, now: Self.t(2))
        var changes = try Self.changes(store)
        #expect(changes.count == 1)
        #expect(changes.first?.kind == ChangeKind.localAuthDisabled)
        #expect(changes.first?.resource == Self.accountA.lowercased())
        #expect(changes.first?.summary.contains("key (local) authentication disabled on aoai-prod-eus") == true)
        #expect(changes.first?.summary.contains("between 2026-11-23T01:00:00Z and 2026-11-23T02:00:00Z") == true)

        world.disableLocalAuth[Self.accountA] = false
        world.defaultAction = "Deny"
        world.publicNetworkAccess[Self.accountC] = "Disabled"
        _ = try run(world, store: store, now: Self.t(3))
        changes = try Self.changes(store)
        #expect(changes.count == 4)
        #expect(changes.dropFirst().map(\.kind).sorted() == [ChangeKind.localAuthEnabled, ChangeKind.networkRuleChange, ChangeKind.networkRuleChange])
        #expect(changes.contains { $0.kind == ChangeKind.networkRuleChange && $0.summary.contains("default action Allow → Deny") })
        #expect(changes.contains { $0.kind == ChangeKind.networkRuleChange && $0.resource == Self.accountC.lowercased() && $0.summary.contains("Enabled → Disabled") })
    }

    @Test func aRerunWithoutChangeDerivesNothing() throws {
        let store = try CannedAzure.store()
        let world = World()
        _ = try run(world, store: store, now: Self.t(1))
        let second = try run(world, store: store, now: Self.t(2))
        let third = try run(world, store: store, now: Self.t(3))
        #expect(second.counts.changes == 0 && third.counts.changes == 0)
        #expect(try Self.changes(store).isEmpty)
        #expect(try CannedAzure.checkpoints(store, source: "rbac")["snapshot_at"] == String(Self.t(3)))
        #expect(try CannedAzure.scalar(store, "SELECT count(DISTINCT seen_us) FROM rbac_state") == 1)
    }

    @Test func configuredAccountsAreUsedWithoutListing() throws {
        let store = try CannedAzure.store()
        let world = World()
        let http = CannedAzure.HTTP(world.answer)
        _ = try run(world, store: store, now: Self.t(1), http: http, accounts: [Self.accountA])
        #expect(!http.requests.contains { $0.url.contains("/providers/Microsoft.CognitiveServices/accounts?") })
        #expect(try CannedAzure.scalar(store, "SELECT count(DISTINCT scope) FROM rbac_state") == 1)
        #expect(throws: ConfigError.self) { try RBACSnapshotCollector(source: Self.source(accounts: ["aoai-prod-eus"])) }
    }

    @Test func forbiddenNamesThePermission() throws {
        let store = try CannedAzure.store()
        let world = World()
        world.forbidAssignments = true
        do {
            _ = try run(world, store: store, now: Self.t(1))
            Issue.record("a 403 must stop the source")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("HTTP 403 AuthorizationFailed"))
            #expect(text.contains("lacks 'Microsoft.Authorization/roleAssignments/read'"))
        }
        world.forbidAssignments = false
        world.forbidAccount = true
        do {
            _ = try run(world, store: store, now: Self.t(1))
            Issue.record("a 403 must stop the source")
        } catch {
            #expect(String(describing: error).contains("lacks 'Microsoft.CognitiveServices/accounts/read'"))
        }
        #expect(try CannedAzure.scalar(store, "SELECT count(*) FROM rbac_state") == 0)
        #expect(try CannedAzure.checkpoints(store, source: "rbac").isEmpty)
    }
}
