import AuditCore
import Foundation
import Testing

@testable import AuditCollect

/// Azure OpenAI diagnostic logs, Key Vault audit/Event Grid records and Log Analytics rows.
/// Records are written for the test from formats.md §4, §13 and §15 (fake ids).
@Suite struct ResourceLogNormalizerTests {
    static let account = "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-AI/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/AOAI-PROD-EUS"
    static let accountLower = account.lowercased()

    static let requestProperties = #"{"apiName":"Azure OpenAI API version 2024-10-21","requestTime":638525522000000000,"requestLength":412,"responseTime":638525522000030000,"responseLength":224,"objectId":"","streamType":"Non-Streaming","modelDeploymentName":"gpt-4o-prod","modelName":"gpt-4o","modelVersion":"2024-08-06"}"#

    /// A §4.2 RequestResponse line; `properties` inline as an object or JSON-encoded as a string.
    static func request(properties: String = requestProperties, asString: Bool = false, status: String = #""401""#,
                        time: String? = "2024-05-29T14:03:20.0010000Z") -> String {
        let p = asString ? JSONValue.string(properties).serialized : properties
        let t = time.map { #""time":"\#($0)","# } ?? ""
        return #"{"Tenant":"eastus","callerIpAddress":"198.51.100.***","category":"RequestResponse","correlationId":"4F1D2C3B-5A69-4788-9A0B-1C2D3E4F5A6B","durationMs":3,"event":"ShoeboxCallResult","location":"eastus","operationName":"ChatCompletions_Create","properties":\#(p),"resourceId":"\#(account)","resultSignature":\#(status),\#(t)"level":"Informational"}"#
    }

    // MARK: - RequestResponse

    @Test func propertiesAsStringOrObjectGiveTheSameRequest() throws {
        let inline = try object(Self.request())
        let encoded = try object(Self.request(asString: true))
        #expect(encoded["properties"]?.text?.hasPrefix("{\"apiName\"") == true)  // really a string
        #expect(DiagnosticsNormalizer.isRequestRecord(inline))
        let a = try DiagnosticsNormalizer.request(inline)
        let b = try DiagnosticsNormalizer.request(encoded)
        #expect(a == b)
        #expect(a.fingerprint == b.fingerprint)

        #expect(a.timeUs == 1_716_991_400_001_000)
        #expect(a.resourceId == Self.accountLower)
        #expect(a.category == "RequestResponse")
        #expect(a.operation == "ChatCompletions_Create")
        #expect(a.status == 401)  // "401" as a string
        #expect(a.apiVersion == "2024-10-21")
        #expect(a.deployment == "gpt-4o-prod")
        #expect(a.model == "gpt-4o")
        #expect(a.modelVersion == "2024-08-06")
        #expect(a.objectId == "")
        #expect(a.caller == "198.51.100.***")  // key caller: the masked IP
        #expect(a.correlationId == "4f1d2c3b-5a69-4788-9a0b-1c2d3e4f5a6b")
        #expect(a.durationMs == 3)
        #expect(a.requestLength == 412)
        #expect(a.responseLength == 224)
        #expect(a.streamType == "Non-Streaming")
        #expect(a.region == "eastus")
        #expect(a.extra == nil)  // every member mapped
    }

    @Test func aNumericResultSignatureEqualsTheStringOne() throws {
        let s = try DiagnosticsNormalizer.request(try object(Self.request(status: #""401""#)))
        let n = try DiagnosticsNormalizer.request(try object(Self.request(status: "401")))
        #expect(s.status == 401 && n.status == 401)
        #expect(s.fingerprint == n.fingerprint)
    }

    @Test func anEntraCallerIsIdentifiedByItsObjectId() throws {
        let props = Self.requestProperties.replacingOccurrences(of: #""objectId":"""#, with: #""objectId":"DDDDDDDD-1111-2222-3333-444444444444""#)
        let r = try DiagnosticsNormalizer.request(try object(Self.request(properties: props)))
        let keyCaller = try DiagnosticsNormalizer.request(try object(Self.request()))
        #expect(r.objectId == "dddddddd-1111-2222-3333-444444444444")
        #expect(r.caller == "dddddddd-1111-2222-3333-444444444444")
        #expect(r.fingerprint != keyCaller.fingerprint)
    }

    @Test func unmappedMembersAreKeptInExtra() throws {
        let props = Self.requestProperties.replacingOccurrences(of: #""objectId":"""#, with: #""objectId":"","backendRegion":"eastus2""#)
        let r = try DiagnosticsNormalizer.request(try object(Self.request(properties: props).replacingOccurrences(of: #""event":"#, with: #""Level":4,"event":"#)))
        let extra = try JSONParser.parse(try #require(r.extra))
        #expect(extra["Level"]?.int64 == 4)
        #expect(extra["properties"]?["backendRegion"]?.text == "eastus2")
    }

    @Test(arguments: [
        ("Azure OpenAI API version 2024-02-15-preview", "2024-02-15-preview"),
        ("Azure OpenAI API version 2023-07-01-preview", "2023-07-01-preview"),
        ("Some Other API Version 2024-06-01", "2024-06-01"),
        (" 2023-05-15 ", "2023-05-15"),
        ("", ""),
    ])
    func apiVersionFromAPIName(apiName: String, expected: String) {
        #expect(DiagnosticsNormalizer.apiVersion(fromAPIName: apiName) == expected)
    }

    @Test func missingTimeOrAnUnusableStatusIsAFailureWithAReason() throws {
        let noTime = #expect(throws: DiagnosticsNormalizer.Failure.self) { try DiagnosticsNormalizer.request(try object(Self.request(time: nil))) }
        #expect(noTime?.reason == "missing time")
        let badTime = #expect(throws: DiagnosticsNormalizer.Failure.self) { try DiagnosticsNormalizer.request(try object(Self.request(time: "later"))) }
        #expect(badTime?.reason == "unreadable time 'later'")
        let word = #expect(throws: DiagnosticsNormalizer.Failure.self) { try DiagnosticsNormalizer.request(try object(Self.request(status: #""OK""#))) }
        #expect(word?.reason == "resultSignature 'OK' is not an HTTP status")
        let missing = Self.request().replacingOccurrences(of: #""resultSignature":"401","#, with: "")
        let none = #expect(throws: DiagnosticsNormalizer.Failure.self) { try DiagnosticsNormalizer.request(try object(missing)) }
        #expect(none?.reason == "missing resultSignature (HTTP status)")

        // Through the router the bad record is quarantined with the same reason, not dropped.
        var batch = RecordBatch()
        RecordRouter(forced: nil, location: "PT1H.json").route(Array(Self.request(status: #""OK""#).utf8), line: 7, offset: 100, into: &batch)
        #expect(batch.requests.isEmpty)
        #expect(batch.quarantine.map(\.reason) == ["resultSignature 'OK' is not an HTTP status"])
        #expect(batch.quarantine.first?.line == 7)
    }

    // MARK: - Azure OpenAI Audit

    @Test func auditListKeyIsAKeyListing() throws {
        let line = #"{"AssetIdentity":"07628fea-67bb-424d-b160-fdc46c82d0b4","Tenant":"eastus","category":"Audit","operationName":"ListKey","properties":{"objectId":"B610AB05-CE06-4CC1-A6DD-174B9F80468A"},"resourceId":"\#(Self.account)","time":"2024-04-17T06:03:30.0000000Z"}"#
        let o = try object(line)
        #expect(DiagnosticsNormalizer.isAuditRecord(o))
        #expect(!DiagnosticsNormalizer.isRequestRecord(o))
        let c = try DiagnosticsNormalizer.audit(o)
        #expect(c.kind == "key_listed")
        #expect(c.timeUs == 1_713_333_810_000_000)
        #expect(c.resourceId == Self.accountLower)
        #expect(c.actor == "b610ab05-ce06-4cc1-a6dd-174b9f80468a")
        #expect(c.principalId == "b610ab05-ce06-4cc1-a6dd-174b9f80468a")
        #expect(c.summary == "ListKey on aoai-prod-eus by object b610ab05-ce06-4cc1-a6dd-174b9f80468a (Azure OpenAI audit log)")
        #expect(c.sourceKind == "diagnostics")
        let regen = try DiagnosticsNormalizer.audit(try object(line.replacingOccurrences(of: "ListKey", with: "RegenerateKey")))
        #expect(regen.kind == "key_regenerated")
        #expect(regen.dedupeKey != c.dedupeKey)
    }

    // MARK: - Key Vault

    static let vault = "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-AI/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-AI-PROD"

    static func auditEvent(_ op: String, status: Int = 200) -> String {
        #"{"time":"2024-05-29T14:02:40.1182735Z","category":"AuditEvent","operationName":"\#(op)","resultType":"Success","correlationId":"2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e","callerIpAddress":"203.0.113.10","identity":{"claim":{"oid":"AAAAAAAA-0000-1111-2222-333333333333","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","upn":"ops@contoso.com","xms_az_nwperimid":[]}},"properties":{"id":"https://kv-ai-prod.vault.azure.net/secrets/aoai-prod-eus-key/7f3c2b1a0e9d4c8b9a7f6e5d4c3b2a10","clientInfo":"AZURECLI/2.61.0 (DEB) azsdk-python-core/1.30.1 Python/3.11.8","httpStatusCode":\#(status),"requestUri":"https://kv-ai-prod.vault.azure.net/secrets/aoai-prod-eus-key?api-version=7.4","isRbacAuthorized":\#(status < 400),"tlsVersion":"TLS1_3"},"resourceId":"\#(vault)","operationVersion":"7.4","resultSignature":"OK","durationMs":"41"}"#
    }

    @Test func keyVaultSecretSetIsAChangeNamingTheSecretAndVersion() throws {
        let o = try object(Self.auditEvent("SecretSet"))
        #expect(KeyVaultNormalizer.isAuditEvent(o))
        let c = try #require(try KeyVaultNormalizer.change(auditEvent: o))
        #expect(c.kind == "keyvault_secret_set")
        #expect(c.timeUs == 1_716_991_360_118_273)
        #expect(c.resourceId == Self.vault.lowercased())
        #expect(c.actor == "ops@contoso.com")
        #expect(c.principalId == "aaaaaaaa-0000-1111-2222-333333333333")
        #expect(c.summary == "SecretSet: secret aoai-prod-eus-key (version 7f3c2b1a) in kv-ai-prod by ops@contoso.com")
        #expect(c.correlationId == "2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e")
        let detail = try JSONParser.parse(try #require(c.detail))
        #expect(detail["operation"]?.text == "SecretSet")
        #expect(detail["secret_name"]?.text == "aoai-prod-eus-key")  // a name, not a secret: never masked
        #expect(detail["version"]?.text == "7f3c2b1a0e9d4c8b9a7f6e5d4c3b2a10")
        #expect(detail["client_info"]?.text?.hasPrefix("AZURECLI/2.61.0") == true)
    }

    @Test func keyVaultReadsAndRefusedWritesChangeNothing() throws {
        #expect(try KeyVaultNormalizer.change(auditEvent: try object(Self.auditEvent("SecretGet"))) == nil)
        #expect(try KeyVaultNormalizer.change(auditEvent: try object(Self.auditEvent("SecretList"))) == nil)
        // resultType is "Success" even on a 403: the HTTP status decides.
        #expect(try KeyVaultNormalizer.change(auditEvent: try object(Self.auditEvent("SecretSet", status: 403))) == nil)
        #expect(try KeyVaultNormalizer.change(auditEvent: try object(Self.auditEvent("KeyRotate", status: 202))) != nil)

        var batch = RecordBatch()
        let router = RecordRouter(forced: nil, location: "kv.json")
        for op in ["SecretGet", "SecretSet"] { router.route(Array(Self.auditEvent(op).utf8), line: 1, offset: 0, into: &batch) }
        #expect(batch.read == 2)
        #expect(batch.skipped == 1)
        #expect(batch.changes.map(\.kind) == ["keyvault_secret_set"])
        #expect(batch.quarantine.isEmpty)
    }

    @Test func eventGridNewVersionWithPaddedKeysIsAChange() throws {
        // formats.md §13.3: the documented sample has "ObjectName " and " Version" (padded keys).
        let event = #"{"id":"7b3a9c2e-5d1f-4e8a-b6c4-2f9e1d3a7b5c","topic":"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.KeyVault/vaults/kv-ai-prod","subject":"","eventType":"Microsoft.KeyVault.SecretNewVersionCreated","eventTime":"2024-05-29T14:02:40.2771803Z","data":{"Id":"https://kv-ai-prod.vault.azure.net/secrets/aoai-prod-eus-key/7f3c2b1a0e9d4c8b9a7f6e5d4c3b2a10","VaultName":"kv-ai-prod","ObjectType":"Secret","ObjectName ":"aoai-prod-eus-key"," Version":"7f3c2b1a0e9d4c8b9a7f6e5d4c3b2a10","NBF":null,"EXP":null},"dataVersion":"1","metadataVersion":"1"}"#
        let o = try object(event)
        #expect(KeyVaultNormalizer.isEventGrid(o))
        let c = try #require(try KeyVaultNormalizer.change(eventGrid: o))
        #expect(c.kind == "keyvault_secret_set")
        #expect(c.summary == "SecretNewVersionCreated: aoai-prod-eus-key (version 7f3c2b1a) in kv-ai-prod")
        #expect(c.resourceId == "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-ai/providers/microsoft.keyvault/vaults/kv-ai-prod")
        #expect(c.dedupeKey == "keyvault-eventgrid:7b3a9c2e-5d1f-4e8a-b6c4-2f9e1d3a7b5c")
        #expect(c.timeUs == 1_716_991_360_277_180)
        // Near-expiry notices change nothing.
        let near = try object(event.replacingOccurrences(of: "SecretNewVersionCreated", with: "SecretNearExpiry"))
        #expect(try KeyVaultNormalizer.change(eventGrid: near) == nil)
    }

    // MARK: - Log Analytics tables

    @Test func logAnalyticsActivityAndDiagnosticsRowsWithStringValues() throws {
        let tables = try JSONParser.parse(#"""
        [{"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"OperationNameValue","type":"string"},{"name":"ActivityStatusValue","type":"string"},{"name":"ActivitySubstatus","type":"string"},{"name":"CategoryValue","type":"string"},{"name":"CorrelationId","type":"string"},{"name":"EventDataId","type":"string"},{"name":"Caller","type":"string"},{"name":"Level","type":"string"},{"name":"Properties","type":"string"},{"name":"_ResourceId","type":"string"}],
          "rows":[["2024-05-29T14:02:11.473Z","MICROSOFT.COGNITIVESERVICES/ACCOUNTS/REGENERATEKEY/ACTION","Succeeded","OK (HTTP Status Code: 200)","Administrative","5B7D6C1E-0F0A-4A55-9D1C-2F7F3F9E0A11","E1F0C8A2-6A3B-4B9E-8F0E-7D6C5B4A3921","ops@contoso.com","Informational","{\"requestbody\":\"{\\\"keyName\\\":\\\"Key1\\\"}\"}","\#(Self.accountLower)"]]},
         {"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"_ResourceId","type":"string"},{"name":"Category","type":"string"},{"name":"OperationName","type":"string"},{"name":"DurationMs","type":"long"},{"name":"ResultSignature","type":"string"},{"name":"CallerIPAddress","type":"string"},{"name":"properties_s","type":"string"}],
          "rows":[["2024-05-29T14:03:20.001Z","\#(Self.accountLower)","RequestResponse","ChatCompletions_Create","3","401","198.51.100.***","{\"apiName\":\"Azure OpenAI API version 2024-10-21\",\"objectId\":\"\",\"streamType\":\"Non-Streaming\",\"modelDeploymentName\":\"gpt-4o-prod\"}"],
                  ["2024-05-29T14:03:21.001Z","\#(Self.accountLower)","Trace","Trace","1","","",""],
                  ["2024-05-29T14:03:22.001Z","\#(Self.accountLower)","Audit","ListKey","0","200","",""]]},
         {"name":"PrimaryResult","columns":[{"name":"Computer","type":"string"}],"rows":[["vm-1"]]}]
        """#)
        var batch = RecordBatch()
        RecordRouter(forced: nil, location: "la.json").routeTables(tables, line: 1, into: &batch)
        #expect(batch.read == 5)

        let e = try #require(batch.activity.first)
        #expect(batch.activity.count == 1)
        #expect(e.shape == "log-analytics")
        #expect(e.identityKey == "5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11|microsoft.cognitiveservices/accounts/regeneratekey/action|succeeded|1716991331473000")
        #expect(e.eventDataId == "e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921")
        #expect(e.httpStatus == 200)  // from the sub-status text
        #expect(e.caller == "ops@contoso.com")
        #expect(batch.changes.map(\.kind) == ["key_regenerated"])
        #expect(batch.changes.first?.summary == "Key1 regenerated on aoai-prod-eus by ops@contoso.com")

        let r = try #require(batch.requests.first)
        #expect(batch.requests.count == 1)
        #expect(r.status == 401)
        #expect(r.durationMs == 3)
        #expect(r.apiVersion == "2024-10-21")
        #expect(r.deployment == "gpt-4o-prod")
        #expect(r.callerIp == "198.51.100.***")
        #expect(r.timeUs == 1_716_991_400_001_000)

        #expect(batch.quarantine.map(\.reason) == [
            "missing or non-numeric ResultSignature",
            "AzureDiagnostics row of category 'Audit' is not an Azure OpenAI request log",
            "unrecognized Log Analytics table (columns: Computer)",
        ])
        #expect(batch.quarantine.map(\.source) == ["la.json (table PrimaryResult row 2)", "la.json (table PrimaryResult row 3)", "la.json (table PrimaryResult row 1)"])
    }
}
