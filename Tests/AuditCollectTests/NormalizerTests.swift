import AuditCore
import Foundation
import Testing

@testable import AuditCollect

/// Activity Log normalization (REST, export, Log Analytics) and the changes it derives.
/// Every record here is written for the test from the shapes in formats.md §1–3 (fake ids).
enum ActivitySamples {
    static let sub = "11111111-2222-3333-4444-555555555555"
    static let corr = "5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11"
    static let account = "/subscriptions/\(sub)/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-prod-eus"
    static let accountUpper = account.uppercased()
    static let accountLower = account.lowercased()
    /// 2024-05-29T14:02:11.4732210Z in microseconds (the 7th fraction digit is dropped).
    static let endTimeUs: Int64 = 1_716_991_331_473_221

    /// formats.md §1.2: the REST EndRequest of a key regeneration.
    static let rest = #"""
    {"authorization":{"action":"Microsoft.CognitiveServices/accounts/regenerateKey/action","scope":"\#(account)"},
     "caller":"ops@contoso.com","channels":"Operation",
     "claims":{"appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","ipaddr":"203.0.113.10","ver":"1.0"},
     "correlationId":"\#(corr)","description":"","eventDataId":"E1F0C8A2-6A3B-4B9E-8F0E-7D6C5B4A3921",
     "eventName":{"value":"EndRequest","localizedValue":"End request"},
     "category":{"value":"Administrative","localizedValue":"Administrative"},
     "eventTimestamp":"2024-05-29T14:02:11.4732210Z","level":"Informational","operationId":"\#(corr)",
     "operationName":{"value":"Microsoft.CognitiveServices/accounts/regenerateKey/action","localizedValue":"Regenerate Key"},
     "resourceGroupName":"rg-ai","resourceId":"\#(account)",
     "status":{"value":"Succeeded","localizedValue":"Succeeded"},
     "subStatus":{"value":"OK","localizedValue":"OK (HTTP Status Code: 200)"},
     "submissionTimestamp":"2024-05-29T14:04:03.0115320Z","subscriptionId":"\#(sub)",
     "tenantId":"99999999-8888-7777-6666-555555555555",
     "properties":{"statusCode":"OK","requestbody":"{\"keyName\":\"Key2\"}"},"relatedEvents":[]}
    """#

    /// An export-shape (§2.2) Administrative record; `properties` is given as JSON text.
    static func export(op: String, resultType: String = "Success", resourceId: String = accountUpper,
                       time: String = "2024-05-29T14:02:11.4732210Z", properties: String = #"{"statusCode":"OK"}"#) -> String {
        #"""
        {"time":"\#(time)","resourceId":"\#(resourceId)","operationName":"\#(op.uppercased())","category":"Administrative",
         "resultType":"\#(resultType)","resultSignature":"Succeeded.OK","durationMs":2354,"callerIpAddress":"203.0.113.10",
         "correlationId":"\#(corr.uppercased())",
         "identity":{"authorization":{"scope":"\#(account)","action":"\#(op)"},
                     "claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"ops@contoso.com"}},
         "level":"Information","location":"global","properties":\#(properties)}
        """#
    }

    /// `properties` of an export record carrying `requestbody` (a JSON string, as ARM logs it).
    static func properties(requestBody: String?) -> String {
        var members: [(key: String, value: JSONValue)] = [("statusCode", .string("OK"))]
        if let requestBody { members.append(("requestbody", .string(requestBody))) }
        return JSONValue.object(JSONObject(members)).serialized
    }
}

func object(_ text: String) throws -> JSONObject {
    try #require(try JSONParser.parse(text).objectValue)
}

@Suite struct NormalizerTests {
    typealias S = ActivitySamples

    func normalize(_ text: String, _ shape: ActivityNormalizer.Shape) throws -> (ActivityEvent, [ChangeRecord], [VendorIncident]) {
        try ActivityNormalizer.normalize(try object(text), shape: shape)
    }

    // MARK: - One event, two shapes

    @Test func restAndExportShapesOfOneEventShareTheIdentityKey() throws {
        let restObject = try object(S.rest)
        let exportObject = try object(S.export(op: "Microsoft.CognitiveServices/accounts/regenerateKey/action"))
        #expect(ActivityNormalizer.looksLikeREST(restObject))
        #expect(!ActivityNormalizer.looksLikeREST(exportObject))
        #expect(ActivityNormalizer.looksLikeExport(exportObject))

        let (rest, _, _) = try ActivityNormalizer.normalize(restObject, shape: .rest)
        let (export, _, _) = try ActivityNormalizer.normalize(exportObject, shape: .export)
        let expectedKey = "\(S.corr)|microsoft.cognitiveservices/accounts/regeneratekey/action|succeeded|\(S.endTimeUs)"
        #expect(rest.identityKey == expectedKey)
        #expect(export.identityKey == expectedKey)
        // Only the REST shape has an eventDataId (stored lower-cased) and a submission time.
        #expect(rest.eventDataId == "e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921")
        #expect(export.eventDataId == nil)
        #expect(rest.submissionUs == 1_716_991_443_011_532)
        #expect(export.submissionUs == nil)
        #expect(rest.shape == "rest" && export.shape == "export")
        // The rest of the normalized event agrees.
        #expect(rest.timeUs == S.endTimeUs && export.timeUs == S.endTimeUs)
        #expect(rest.status == "Succeeded" && export.status == "Succeeded")
        #expect(rest.correlationId == S.corr && export.correlationId == S.corr)
        #expect(rest.resourceId == S.accountLower && export.resourceId == S.accountLower)
        #expect(rest.caller == "ops@contoso.com" && export.caller == "ops@contoso.com")
        #expect(rest.callerIp == "203.0.113.10" && export.callerIp == "203.0.113.10")
        #expect(rest.httpStatus == 200 && export.httpStatus == 200)
        #expect(rest.level == "Informational" && export.level == "Informational")
    }

    @Test func theRouterSendsEachShapeToItsNormalizer() {
        let router = RecordRouter(forced: nil, location: "test")
        var batch = RecordBatch()
        router.route(Array(S.rest.utf8), line: 1, offset: 0, into: &batch)
        router.route(Array(S.export(op: "Microsoft.CognitiveServices/accounts/regenerateKey/action").utf8), line: 2, offset: 0, into: &batch)
        #expect(batch.read == 2)
        #expect(batch.quarantine.isEmpty)
        #expect(batch.activity.map(\.shape) == ["rest", "export"])
        #expect(Set(batch.activity.map(\.identityKey)).count == 1)
        #expect(batch.changes.map(\.kind) == ["key_regenerated", "key_regenerated"])
        #expect(Set(batch.changes.map(\.dedupeKey)).count == 1)  // the store keeps one
    }

    // MARK: - Field normalization

    @Test(arguments: [
        ("Start", "Started"), ("Started", "Started"), ("Success", "Succeeded"), ("Succeeded", "Succeeded"),
        ("Failure", "Failed"), ("Failed", "Failed"), ("Accept", "Accepted"), ("Accepted", "Accepted"),
        ("Active", "Active"), ("Activated", "Active"), ("Resolved", "Resolved"), ("InProgress", "In Progress"),
        ("In Progress", "In Progress"), ("SUCCESS", "Succeeded"), (" failed ", "Failed"), ("", "Unknown"), ("Paused", "Paused"),
    ])
    func canonicalStatus(raw: String, expected: String) {
        #expect(ActivityNormalizer.canonicalStatus(raw) == expected)
    }

    @Test func exportLevelInformationBecomesInformationalAndOthersAreKept() throws {
        let info = try normalize(S.export(op: "Microsoft.CognitiveServices/accounts/listKeys/action"), .export).0
        #expect(info.level == "Informational")
        let error = try normalize(S.export(op: "Microsoft.CognitiveServices/accounts/listKeys/action").replacingOccurrences(of: #""level":"Information""#, with: #""level":"Error""#), .export).0
        #expect(error.level == "Error")
    }

    @Test func resourceIdsAreLowerCasedWhateverTheInputCase() throws {
        let mixed = "/TeNaNtS/FFFF-aaaa/PrOvIdErS/Microsoft.aadiam/"
        let e = try normalize(S.export(op: "Microsoft.aadiam/updateDirectory/action", resourceId: mixed), .export).0
        #expect(e.resourceId == "/tenants/ffff-aaaa/providers/microsoft.aadiam")
        #expect(e.operation == "MICROSOFT.AADIAM/UPDATEDIRECTORY/ACTION")  // kept as written; compared lower-cased
    }

    @Test func missingOrUnreadableTimeIsAFailureWithAReason() throws {
        let noTime = try object(#"{"operationName":"Microsoft.Web/sites/start/action","category":"Administrative","resultType":"Success"}"#)
        #expect(!ActivityNormalizer.looksLikeExport(noTime))
        let missing = #expect(throws: ActivityNormalizer.Failure.self) { try ActivityNormalizer.normalize(noTime, shape: .export) }
        #expect(missing?.reason == "missing time")
        let bad = S.export(op: "Microsoft.Web/sites/start/action", time: "sometime")
        let unreadable = #expect(throws: ActivityNormalizer.Failure.self) { try normalize(bad, .export) }
        #expect(unreadable?.reason == "unreadable time 'sometime'")
    }

    @Test(arguments: [
        ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", nil), ("00000000-0000-0000-0000-000000000000", nil), ("########", nil),
        ("E1F0C8A2-6A3B-4B9E-8F0E-7D6C5B4A3921", "e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921"), ("44ade6b4-3813-45e6-ae27-7420a95fa2f8", "44ade6b4-3813-45e6-ae27-7420a95fa2f8"),
    ] as [(String, String?)])
    func anonymisedEventDataIdsAreNotUsedAsEventIds(raw: String, expected: String?) throws {
        // Anonymised exports (wazuh's AzureActivity sample) give every row the same placeholder;
        // used as the unique event id it would collapse distinct events into one.
        let row = try object(#"{"TimeGenerated":"2022-06-03T14:05:13.004Z","OperationNameValue":"Microsoft.Authorization/roleAssignments/write","ActivityStatusValue":"Succeeded","CorrelationId":"c1","EventDataId":"\#(raw)","_ResourceId":"/subscriptions/s1"}"#)
        let e = try ActivityNormalizer.normalize(row, shape: .logAnalytics).0
        #expect(e.eventDataId == expected)
        #expect(e.identityKey == "c1|microsoft.authorization/roleassignments/write|succeeded|1654265113004000")
    }

    // MARK: - Changes

    @Test func regenerateKeyWithARequestBodyNamesTheKey() throws {
        let body = S.properties(requestBody: #"{"keyName":"Key2"}"#)
        let (_, changes, _) = try normalize(S.export(op: "Microsoft.CognitiveServices/accounts/regenerateKey/action", properties: body), .export)
        let c = try #require(changes.first)
        #expect(changes.count == 1)
        #expect(c.kind == "key_regenerated")
        #expect(c.summary == "Key2 regenerated on aoai-prod-eus by ops@contoso.com")
        #expect(c.resourceId == S.accountLower)
        #expect(c.sourceKind == "activity")
        #expect(c.correlationId == S.corr)
        #expect(try JSONParser.parse(c.detail ?? "")["key_name"]?.text == "Key2")
        // The REST shape carries the same body and gives the same change.
        let (_, restChanges, _) = try normalize(S.rest, .rest)
        #expect(restChanges.map(\.kind) == ["key_regenerated"])
        #expect(restChanges.first?.summary.contains("Key2") == true)
        #expect(restChanges.first?.sourceId == "e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921")
    }

    @Test func startedAcceptedAndFailedEventsDeriveNoChange() throws {
        let body = S.properties(requestBody: #"{"keyName":"Key1"}"#)
        for resultType in ["Start", "Accept", "Failure"] {
            let (e, changes, _) = try normalize(S.export(op: "Microsoft.CognitiveServices/accounts/regenerateKey/action", resultType: resultType, properties: body), .export)
            #expect(changes.isEmpty, "\(resultType) derived \(changes.map(\.kind))")
            #expect(e.status == ActivityNormalizer.canonicalStatus(resultType))
        }
    }

    @Test(arguments: [
        (#"{"properties":{"disableLocalAuth":true}}"#, ["local_auth_disabled"], "key (local) authentication disabled on aoai-prod-eus by ops@contoso.com"),
        (#"{"properties":{"disableLocalAuth":false}}"#, ["local_auth_enabled"], "key (local) authentication enabled on aoai-prod-eus by ops@contoso.com"),
        (#"{"properties":{"publicNetworkAccess":"Disabled"}}"#, ["network_rule_change"], "network rules changed on aoai-prod-eus (public network access Disabled) by ops@contoso.com"),
        (#"{"properties":{"networkAcls":{"defaultAction":"Deny","ipRules":[{"value":"203.0.113.0/24"}]}}}"#, ["network_rule_change"], "network rules changed on aoai-prod-eus by ops@contoso.com"),
        (#"{"properties":{"disableLocalAuth":true,"publicNetworkAccess":"Enabled"}}"#, ["local_auth_disabled", "network_rule_change"], "key (local) authentication disabled on aoai-prod-eus by ops@contoso.com"),
        (#"{"tags":{"env":"prod"}}"#, ["account_config_change"], "account configuration changed on aoai-prod-eus by ops@contoso.com"),
    ])
    func accountWriteIsClassifiedByItsRequestBody(body: String, kinds: [String], firstSummary: String) throws {
        let (_, changes, _) = try normalize(S.export(op: "Microsoft.CognitiveServices/accounts/write", properties: S.properties(requestBody: body)), .export)
        #expect(changes.map(\.kind) == kinds)
        #expect(changes.first?.summary == firstSummary)
        #expect(changes.allSatisfy { $0.resourceId == S.accountLower })
    }

    @Test func accountWriteWithoutARequestBodyIsAConfigChangeThatSaysSo() throws {
        let (_, changes, _) = try normalize(S.export(op: "Microsoft.CognitiveServices/accounts/write", properties: S.properties(requestBody: nil)), .export)
        #expect(changes.map(\.kind) == ["account_config_change"])
        #expect(changes.first?.summary == "account configuration changed on aoai-prod-eus by ops@contoso.com (request body not logged)")
    }

    @Test func roleAssignmentDeleteIsAttributedToItsScopeAndPrincipal() throws {
        let assignment = S.account + "/providers/Microsoft.Authorization/roleAssignments/0A1B2C3D-4E5F-4A5B-8C9D-0E1F2A3B4C5D"
        let response = #"{"properties":{"roleDefinitionId":"/subscriptions/\#(S.sub)/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd","principalId":"AAAAAAAA-0000-1111-2222-333333333333","principalType":"ServicePrincipal"},"id":"\#(assignment)","type":"Microsoft.Authorization/roleAssignments"}"#
        let props = JSONValue.object(JSONObject([("statusCode", .string("OK")), ("responseBody", .string(response))])).serialized
        let (e, changes, _) = try normalize(S.export(op: "Microsoft.Authorization/roleAssignments/delete", resourceId: assignment, properties: props), .export)
        #expect(e.resourceId == assignment.lowercased())
        let c = try #require(changes.first)
        #expect(changes.count == 1)
        #expect(c.kind == "role_assignment_deleted")
        #expect(c.resourceId == S.accountLower)  // the scope, not the assignment
        #expect(c.principalId == "aaaaaaaa-0000-1111-2222-333333333333")
        #expect(c.summary == "role assignment removed: Cognitive Services OpenAI User for ServicePrincipal aaaaaaaa-0000-1111-2222-333333333333 at aoai-prod-eus by ops@contoso.com")
        let detail = try JSONParser.parse(c.detail ?? "")
        #expect(detail["scope"]?.text == S.accountLower)
        #expect(detail["role_assignment"]?.text == assignment.lowercased())
    }

    @Test func keyVaultSecretWrittenThroughARMKeepsTheSecretNameReadable() throws {
        let secret = "/subscriptions/\(S.sub)/resourceGroups/rg-ai/providers/Microsoft.KeyVault/vaults/kv-ai-prod/secrets/aoai-prod-eus-key"
        let (_, changes, _) = try normalize(S.export(op: "Microsoft.KeyVault/vaults/secrets/write", resourceId: secret.uppercased()), .export)
        let c = try #require(changes.first)
        #expect(c.kind == "keyvault_secret_set")
        #expect(c.resourceId == "/subscriptions/\(S.sub)/resourcegroups/rg-ai/providers/microsoft.keyvault/vaults/kv-ai-prod")
        #expect(c.summary == "Key Vault secret aoai-prod-eus-key set via ARM by ops@contoso.com")
        #expect(try JSONParser.parse(c.detail ?? "")["secret_name"]?.text == "aoai-prod-eus-key")
    }

    @Test func roleAssignmentScopeIsThePartBeforeTheProvidersSegment() {
        #expect(ActivityChanges.roleAssignmentScope("/subscriptions/s1/providers/microsoft.authorization/roleassignments/g1") == "/subscriptions/s1")
        #expect(ActivityChanges.roleAssignmentScope("/providers/Microsoft.Authorization/roleAssignments/g1") == "/")
        #expect(ActivityChanges.roleAssignmentScope("/subscriptions/S1/resourceGroups/RG") == "/subscriptions/s1/resourcegroups/rg")
    }

    // MARK: - ServiceHealth

    static let serviceHealthREST = #"""
    {"channels":"Admin","correlationId":"c0ffee00-1111-2222-3333-444455556666","description":"Active: Azure OpenAI Service - East US",
     "eventDataId":"d00dfeed-aaaa-bbbb-cccc-ddddeeeeffff","eventName":{"value":null},
     "category":{"value":"ServiceHealth","localizedValue":"Service Health"},"eventTimestamp":"2024-05-29T13:55:00.0000000Z",
     "level":"Warning","operationName":{"value":"Microsoft.ServiceHealth/incident/action"},"resourceProviderName":{"value":null},
     "resourceId":"/subscriptions/11111111-2222-3333-4444-555555555555","status":{"value":"Active","localizedValue":"Active"},
     "subStatus":{"value":null},"submissionTimestamp":"2024-05-29T13:56:12.5520000Z","subscriptionId":"11111111-2222-3333-4444-555555555555",
     "properties":{"title":"Azure OpenAI Service - East US - Elevated authentication failures","service":"Azure OpenAI Service",
       "region":"East US","communication":"<p>Starting at 13:40 UTC a subset of customers may receive 401 errors.</p>",
       "incidentType":"Incident","trackingId":"7K2Q-9ZX","impactStartTime":"2024-05-29T13:40:00.0000000Z",
       "impactedServices":"[{\"ImpactedRegions\":[{\"RegionName\":\"East US\"}],\"ServiceName\":\"Azure OpenAI Service\"}]",
       "stage":"Active","communicationId":"638525517000000001","version":"0.1.1"}}
    """#

    /// The same incident exported (§3.1 last paragraph): fields under properties.eventProperties,
    /// and here without `service`/`region`, which must then come from impactedServices.
    static let serviceHealthExport = #"""
    {"time":"2024-05-29T14:30:00.0000000Z","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555",
     "operationName":"Microsoft.ServiceHealth/incident/action","category":"ServiceHealth","resultType":"Resolved",
     "correlationId":"c0ffee00-1111-2222-3333-444455556666","level":"Warning","location":"global",
     "properties":{"eventCategory":"ServiceHealth","eventProperties":{"title":"Azure OpenAI Service - East US - Elevated authentication failures",
       "incidentType":"Incident","trackingId":"7K2Q-9ZX","impactStartTime":"2024-05-29T13:40:00.0000000Z",
       "impactMitigationTime":"2024-05-29T14:20:00.0000000Z","stage":"Resolved",
       "impactedServices":"[{\"ImpactedRegions\":[{\"RegionName\":\"East US\"},{\"RegionName\":\"East US 2\"}],\"ServiceName\":\"Azure OpenAI Service\"}]"}}}
    """#

    @Test func serviceHealthRESTEventIsAnIncident() throws {
        let (e, changes, incidents) = try normalize(Self.serviceHealthREST, .rest)
        #expect(e.category == "ServiceHealth")
        #expect(e.title == "Azure OpenAI Service - East US - Elevated authentication failures")
        #expect(changes.isEmpty)
        let i = try #require(incidents.first)
        #expect(incidents.count == 1)
        #expect(i.incidentKey == "azure-servicehealth:7K2Q-9ZX")
        // Keyed by the event's identity, shared with its export shape (which has no eventDataId).
        #expect(i.updateKey == e.identityKey)
        #expect(i.provider == "azure-servicehealth")
        #expect(i.service == "Azure OpenAI Service")
        #expect(i.region == "East US")
        #expect(i.status == "Active")
        #expect(i.impact == "Incident")
        #expect(i.startUs == 1_716_990_000_000_000)  // impactStartTime, not the event time
        #expect(i.updatedUs == 1_716_990_900_000_000)
        #expect(i.resolvedUs == nil)
        #expect(i.body == "Starting at 13:40 UTC a subset of customers may receive 401 errors.")
    }

    @Test func serviceHealthExportEventTakesServiceAndRegionFromImpactedServices() throws {
        let (e, _, incidents) = try normalize(Self.serviceHealthExport, .export)
        #expect(e.status == "Resolved")
        let i = try #require(incidents.first)
        #expect(incidents.count == 1)
        #expect(i.incidentKey == "azure-servicehealth:7K2Q-9ZX")  // same incident as the REST update
        #expect(i.service == "Azure OpenAI Service")
        #expect(i.region == "East US, East US 2")
        #expect(i.status == "Resolved")
        #expect(i.title == "Azure OpenAI Service - East US - Elevated authentication failures")
        #expect(i.startUs == 1_716_990_000_000_000)
        #expect(i.resolvedUs.map(Timestamp.iso) == "2024-05-29T14:20:00.000000Z")
    }
}
