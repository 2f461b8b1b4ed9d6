import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// Runs the built CLI against a temp database.
struct CLI {
    let dir = TestSupport.makeTempDirectory("aoai-audit-cli")
    var db: String { dir.appendingPathComponent("audit.db").path }

    @discardableResult
    func run(_ args: [String], env: [String: String] = [:]) throws -> TestSupport.ProcessResult {
        // Options follow the subcommand; put --db right after it so a `--` in args stays last.
        let full = args.isEmpty ? ["--db", db] : [args[0], "--db", db] + args.dropFirst()
        return try TestSupport.cli(full, environment: env, cwd: dir.path)
    }

    func counts() throws -> [String: Int64] {
        let r = try run(["status", "--format", "json"])
        #expect(r.status == 0, "status failed: \(r.stderr)")
        let v = try JSONParser.parse(r.stdout)
        #expect(v["schema_version"]?.int64 == 1)
        var out: [String: Int64] = [:]
        for m in v["counts"]?.objectValue?.members ?? [] { out[m.key] = m.value.int64 }
        return out
    }

    func write(_ text: String, _ name: String) throws -> String { try TestSupport.write(text, to: dir, name: name) }
}

/// Small records written from formats.md (our own, not the shared fixtures).
enum Samples {
    static let rest = #"""
    {"value":[{"authorization":{"action":"Microsoft.CognitiveServices/accounts/regenerateKey/action","scope":"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-prod-eus"},"caller":"ops@contoso.com","channels":"Operation","claims":{"ipaddr":"203.0.113.10"},"correlationId":"5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11","description":"","eventDataId":"e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921","eventName":{"value":"EndRequest","localizedValue":"End request"},"category":{"value":"Administrative","localizedValue":"Administrative"},"eventTimestamp":"2024-05-29T14:02:11.4732210Z","level":"Informational","operationId":"5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11","operationName":{"value":"Microsoft.CognitiveServices/accounts/regenerateKey/action","localizedValue":"Regenerate Key"},"resourceGroupName":"rg-ai","resourceId":"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-prod-eus","status":{"value":"Succeeded","localizedValue":"Succeeded"},"subStatus":{"value":"OK","localizedValue":"OK (HTTP Status Code: 200)"},"submissionTimestamp":"2024-05-29T14:04:03.0115320Z","subscriptionId":"11111111-2222-3333-4444-555555555555","properties":{"statusCode":"OK","requestbody":"{\"keyName\":\"Key2\"}"}}],"nextLink":null}
    """#

    static let export = #"""
    {"time":"2024-05-29T14:02:09.1183004Z","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-AI/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/AOAI-PROD-EUS","operationName":"MICROSOFT.COGNITIVESERVICES/ACCOUNTS/REGENERATEKEY/ACTION","category":"Administrative","resultType":"Start","resultSignature":"Started.","durationMs":0,"callerIpAddress":"203.0.113.10","correlationId":"5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11","identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"ops@contoso.com"}},"level":"Information","location":"global","properties":{"statusCode":"Accepted"}}
    {"time":"2024-05-29T14:02:11.4732210Z","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-AI/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/AOAI-PROD-EUS","operationName":"MICROSOFT.COGNITIVESERVICES/ACCOUNTS/REGENERATEKEY/ACTION","category":"Administrative","resultType":"Success","resultSignature":"Succeeded.OK","durationMs":2354,"callerIpAddress":"203.0.113.10","correlationId":"5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11","identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"ops@contoso.com"}},"level":"Information","location":"global","properties":{"statusCode":"OK","requestbody":"{\"keyName\":\"Key2\"}"}}
    """#

    static func request(_ i: Int, status: Int, minute: Int = 3, asString: Bool = false) -> String {
        let props = #"{"apiName":"Azure OpenAI API version 2024-10-21","requestTime":638525522000000000,"requestLength":412,"responseTime":638525522000030000,"responseLength":224,"objectId":"","streamType":"Non-Streaming","modelDeploymentName":"gpt-4o-prod","modelName":"gpt-4o","modelVersion":"2024-08-06"}"#
        let p = asString ? "\"" + props.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : props
        let sec = String(format: "%02d", i % 60)
        return #"{"Tenant":"eastus","callerIpAddress":"198.51.100.***","category":"RequestResponse","correlationId":"4f1d2c3b-5a69-4788-9a0b-\#(String(format: "%012d", i))","durationMs":3,"event":"ShoeboxCallResult","location":"eastus","operationName":"ChatCompletions_Create","properties":\#(p),"resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-AI/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/AOAI-PROD-EUS","resultSignature":"\#(status)","time":"2024-05-29T14:0\#(minute):\#(sec).0010000Z"}"#
    }
}
