import AuditCore
import AzureSimulator
import Foundation
import Testing

/// The Azure OpenAI data plane: every 401/403 class of formats.md §5 with its exact body.
struct SimAzureDataPlaneTests {
    static let account = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-prod-eus"
    static let caller = "dddddddd-0000-1111-2222-333333333333"
    static let chat = "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    static let body = Array(#"{"messages":[{"role":"user","content":"hi"}]}"#.utf8)

    static func make() -> SimAzure {
        let azure = SimAzure()
        azure.addAccount(resourceID: account, location: "eastus", deployments: ["gpt-4o-prod": "gpt-4o"], entraCallers: [caller])
        return azure
    }

    static func post(_ azure: SimAzure, path: String = chat, host: String = "aoai-prod-eus.openai.azure.com", _ headers: [String: String]) -> SimResponse {
        var h = headers
        h["host"] = host
        h["content-type"] = "application/json"
        return azure.handle(Sim.request(path, method: "POST", headers: h, body: body))
    }

    @Test func keysAnswerOKOrTheExact224ByteBodyOr403WhenDisabled() throws {
        let azure = Self.make()
        let key = try #require(azure.accountKeys(account: "aoai-prod-eus").first)
        let ok = Self.post(azure, ["api-key": key])
        #expect(ok.status == 200)
        #expect(try Sim.json(ok)["object"]?.text == "chat.completion")
        #expect(Sim.header(ok, "x-ms-region") == "East US")
        #expect(Sim.header(ok, "x-ratelimit-remaining-requests") != nil && Sim.header(ok, "x-ratelimit-remaining-tokens") != nil)
        #expect(Sim.header(ok, "apim-request-id") != nil)

        let bad = Self.post(azure, ["api-key": "0123456789abcdef0123456789abcdef"])
        #expect(bad.status == 401 && bad.reason == "PermissionDenied")
        #expect(
            Sim.text(bad)
                == #"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#
        )
        #expect(bad.body.count == 224)
        #expect(Sim.header(bad, "apim-request-id") != nil && Sim.header(bad, "Content-Type") == "application/json")

        // A rotated key stops working at once; the new one works.
        let fresh = try #require(azure.regenerateKey(account: "aoai-prod-eus", keyName: "key1"))
        #expect(Self.post(azure, ["api-key": key]).status == 401)
        #expect(Self.post(azure, ["api-key": fresh]).status == 200)

        #expect(azure.setAccountProperty(resourceID: Self.account, disableLocalAuth: true))
        let disabled = Self.post(azure, ["api-key": fresh])
        #expect(disabled.status == 403)
        #expect(Sim.text(disabled) == #"{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this resource."}}"#)
    }

    @Test func tokensAnswerTheStatusCodeBodyOrPermissionDenied() throws {
        let azure = Self.make()
        let tokenBody = #"{"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#

        let good = azure.issueToken(audience: "https://cognitiveservices.azure.com", objectID: Self.caller)
        #expect(Self.post(azure, ["authorization": "Bearer " + good]).status == 200)

        let wrongAudience = azure.issueToken(audience: "https://management.azure.com", objectID: Self.caller)
        let r1 = Self.post(azure, ["authorization": "Bearer " + wrongAudience])
        #expect(r1.status == 401 && Sim.text(r1) == tokenBody)
        let r2 = Self.post(azure, ["authorization": "Bearer garbage"])
        #expect(r2.status == 401 && Sim.text(r2) == tokenBody)
        let shortLived = azure.issueToken(audience: "https://cognitiveservices.azure.com", objectID: Self.caller, lifetimeSeconds: 5)
        azure.advanceClock(seconds: 6)
        let r3 = Self.post(azure, ["authorization": "Bearer " + shortLived])
        #expect(r3.status == 401 && Sim.text(r3) == tokenBody)

        // A valid token of a principal with no data-plane role: 401 PermissionDenied (not 403).
        let stranger = azure.issueToken(audience: "https://cognitiveservices.azure.com/", objectID: "eeeeeeee-0000-1111-2222-333333333333")
        let r4 = Self.post(azure, ["authorization": "Bearer " + stranger])
        #expect(r4.status == 401 && r4.reason == "PermissionDenied")
        #expect(Sim.text(r4) == #"{"error":{"code":"PermissionDenied","message":"Principal does not have access to API/Operation."}}"#)

        // Removing the caller's role assignment makes it PermissionDenied too; the token endpoint's
        // own tokens work the same way.
        let assignment = try #require(azure.roleAssignments(scope: Self.account).first { $0.principalID == Self.caller })
        #expect(azure.removeRoleAssignment(id: assignment.name))
        #expect(Sim.text(Self.post(azure, ["authorization": "Bearer " + good])).contains("PermissionDenied"))
        // Local auth disabled does not affect tokens.
        azure.addRoleAssignment(scope: "/subscriptions/11111111-2222-3333-4444-555555555555", role: "Cognitive Services User", principalID: Self.caller)
        azure.setAccountProperty(resourceID: Self.account, disableLocalAuth: true)
        #expect(Self.post(azure, ["authorization": "Bearer " + good]).status == 200)
    }

    @Test func unknownDeploymentsThrottlingAndAccountSelection() throws {
        let azure = Self.make()
        let key = try #require(azure.accountKeys(account: "aoai-prod-eus").first)
        let missing = Self.post(azure, path: "/openai/deployments/gpt-5/chat/completions?api-version=2024-10-21", ["api-key": key])
        #expect(missing.status == 404)
        #expect(
            Sim.text(missing)
                == #"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#
        )
        // On loopback the first (or configured) account answers.
        #expect(Self.post(azure, host: "127.0.0.1:9999", ["api-key": key]).status == 200)
        // Another host's subdomain is another (unknown) resource.
        #expect(Self.post(azure, host: "aoai-other.openai.azure.com", ["api-key": key]).status == 404)
        // No credentials at all.
        #expect(Self.post(azure, [String: String]()).status == 401)

        azure.updateOptions {
            $0.dataPlaneThrottleEvery = 2
            $0.retryAfterSeconds = "6"
        }
        let statuses = (0..<4).map { _ in Self.post(azure, ["api-key": key]) }
        let throttled = try #require(statuses.first { $0.status == 429 })
        #expect(statuses.filter { $0.status == 429 }.count == 2)
        #expect(Sim.header(throttled, "Retry-After") == "6")
        #expect(Sim.text(throttled).hasPrefix(#"{"error":{"code":"429","message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded"#))
        #expect(azure.requestCount(.dataPlane) == azure.requestCount)
    }
}
