import AuditCore
import AzureSimulator
import Foundation
import Testing

/// The token endpoint and the bearer checks every ARM-style family shares.
struct SimAzureTokenTests {
    @Test func clientCredentialsGiveAJWTShapedTokenForTheScope() throws {
        let azure = SimAzure()
        let o = azure.options
        let r = azure.handle(
            Sim.tokenRequest([
                ("client_id", o.clientID), ("client_secret", o.clientSecret), ("scope", Sim.armScope), ("grant_type", "client_credentials"),
            ]))
        #expect(r.status == 200)
        let body = try Sim.json(r)
        #expect(body.objectValue?.keys == ["token_type", "expires_in", "ext_expires_in", "access_token"])
        #expect(body["token_type"]?.text == "Bearer")
        #expect(body["expires_in"] == .number("3599") && body["ext_expires_in"] == .number("3599"))
        let token = try #require(body["access_token"]?.text)
        let segments = token.split(separator: ".")
        #expect(segments.count == 3)
        var payload = String(segments[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let claims = try JSONParser.parse(Array(try #require(Data(base64Encoded: payload))))
        #expect(claims["aud"]?.text == "https://management.azure.com")
        #expect(claims["tid"]?.text == o.tenant && claims["appid"]?.text == o.clientID && claims["oid"]?.text == o.clientObjectID)
        let iat = try #require(claims["iat"]?.int64), exp = try #require(claims["exp"]?.int64), nbf = try #require(claims["nbf"]?.int64)
        #expect(exp - iat == 3599 && nbf == iat)
        #expect(iat == azure.now / 1_000_000 || iat == azure.now / 1_000_000 - 1)
        #expect(azure.requestCount(.token) == 1 && azure.issuedTokenCount == 1)
    }

    @Test func wrongSecretGetsAADSTS7000215WithTraceAndCorrelationIDs() throws {
        let azure = SimAzure()
        let o = azure.options
        var request = Sim.tokenRequest([
            ("client_id", o.clientID), ("client_secret", "not-the-secret"), ("scope", Sim.armScope), ("grant_type", "client_credentials"),
        ])
        request.headers["client-request-id"] = "c0ffee00-1111-2222-3333-444444444444"
        let r = azure.handle(request)
        #expect(r.status == 401)
        let body = try Sim.json(r)
        #expect(body.objectValue?.keys == ["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"])
        #expect(body["error"]?.text == "invalid_client")
        #expect(body["error_codes"] == .array([.number("7000215")]))
        #expect(body["correlation_id"]?.text == "c0ffee00-1111-2222-3333-444444444444")
        #expect(body["error_uri"]?.text == "https://login.microsoftonline.com/error?code=7000215")
        let trace = try #require(body["trace_id"]?.text), stamp = try #require(body["timestamp"]?.text)
        let expected = "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(o.clientID)'.\r\nTrace ID: \(trace)\r\nCorrelation ID: c0ffee00-1111-2222-3333-444444444444\r\nTimestamp: \(stamp)"
        #expect(body["error_description"]?.text == expected)
        #expect(stamp.count == 20 && stamp.hasSuffix("Z") && stamp.contains(" "))
        // The raw body carries the escapes, not raw line breaks.
        #expect(Sim.text(r).contains(#"\r\nTrace ID: "#))

        let unknown = azure.handle(
            Sim.tokenRequest([
                ("client_id", "00000000-0000-0000-0000-000000000000"), ("client_secret", "x"), ("scope", Sim.armScope),
                ("grant_type", "client_credentials"),
            ]))
        #expect(unknown.status == 400)
        #expect(try Sim.json(unknown)["error_codes"] == .array([.number("700016")]))
        #expect(try Sim.json(unknown)["error"]?.text == "unauthorized_client")
        #expect(azure.issuedTokenCount == 0)
    }

    @Test func workloadIdentityAssertionIsAcceptedOnlyWhenItMatches() throws {
        let azure = SimAzure(options: { var o = SimAzureOptions(); o.federatedAssertion = "header.eyJzdWIiOiJzeXN0ZW06c2EifQ.sig"; return o }())
        let o = azure.options
        func ask(_ assertion: String) -> SimResponse {
            azure.handle(
                Sim.tokenRequest([
                    ("client_id", o.clientID), ("scope", Sim.cognitiveScope), ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion),
                ]))
        }
        let ok = ask("header.eyJzdWIiOiJzeXN0ZW06c2EifQ.sig")
        #expect(ok.status == 200)
        let bad = ask("header.eyJzdWIiOiJzeXN0ZW06b3RoZXIifQ.sig")
        #expect(bad.status == 400)
        #expect(try Sim.json(bad)["error_description"]?.text?.hasPrefix("AADSTS700213: No matching federated identity record found for presented assertion subject 'system:other'") == true)
        let neither = azure.handle(Sim.tokenRequest([("client_id", o.clientID), ("scope", Sim.armScope), ("grant_type", "client_credentials")]))
        #expect(try neither.status == 401 && (Sim.json(neither)["error_codes"]) == .array([.number("7000218")]))
    }

    @Test func armAnswersEachBearerProblemWithItsOwn401() throws {
        let azure = SimAzure()
        let path = "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.CognitiveServices/accounts?api-version=2024-10-01"
        func code(_ headers: [String: String]) throws -> (Int, String?, SimResponse) {
            let r = azure.handle(Sim.request(path, headers: headers))
            return (r.status, try Sim.json(r)["error"]?["code"]?.text, r)
        }
        let missing = try code([:])
        #expect(missing.0 == 401 && missing.1 == "AuthenticationFailed")
        #expect(try Sim.json(missing.2)["error"]?["message"]?.text == "Authentication failed. The 'Authorization' header is missing.")
        #expect(Sim.header(missing.2, "x-ms-failure-cause") == "gateway")
        for name in ["x-ms-request-id", "x-ms-correlation-request-id", "x-ms-routing-request-id", "x-ms-ratelimit-remaining-subscription-reads"] {
            #expect(Sim.header(missing.2, name) != nil, "\(name) missing")
        }
        #expect(try code(["authorization": "Basic abc"]).1 == "AuthenticationFailedInvalidHeader")
        #expect(try code(["authorization": "Bearer not.a.token"]).1 == "InvalidAuthenticationToken")

        let storage = try Sim.bearer(azure, scope: Sim.storageScope)
        let wrong = try code(storage)
        #expect(wrong.0 == 401 && wrong.1 == "InvalidAuthenticationTokenAudience")
        #expect(
            try Sim.json(wrong.2)["error"]?["message"]?.text
                == "The access token has been obtained for wrong audience or resource 'https://storage.azure.com'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
        )

        let arm = try Sim.bearer(azure, scope: Sim.armScope)
        #expect(try code(arm).0 == 200)
        azure.expireAllTokens()
        let expired = try code(arm)
        #expect(expired.0 == 401 && expired.1 == "ExpiredAuthenticationToken")
        let message = try #require(try Sim.json(expired.2)["error"]?["message"]?.text)
        #expect(message.hasPrefix("The access token expiry UTC time '") && message.contains(" is earlier than current UTC time '"))
        #expect(message.contains(" AM'") || message.contains(" PM'"))
        // A fresh token works again.
        #expect(try code(try Sim.bearer(azure, scope: Sim.armScope)).0 == 200)
    }

    @Test func shortLivedTokensExpireWithTheClock() throws {
        let azure = SimAzure(options: { var o = SimAzureOptions(); o.expireTokensAfter = 30; return o }())
        let r = azure.handle(
            Sim.tokenRequest([
                ("client_id", azure.options.clientID), ("client_secret", azure.options.clientSecret), ("scope", Sim.armScope),
                ("grant_type", "client_credentials"),
            ]))
        #expect(try Sim.json(r)["expires_in"] == .number("30"))
        let headers = ["authorization": "Bearer " + (try #require(try Sim.json(r)["access_token"]?.text))]
        let path = "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.CognitiveServices/accounts?api-version=2024-10-01"
        #expect(azure.handle(Sim.request(path, headers: headers)).status == 200)
        azure.advanceClock(seconds: 31)
        let late = azure.handle(Sim.request(path, headers: headers))
        #expect(try late.status == 401 && (Sim.json(late)["error"]?["code"]?.text) == "ExpiredAuthenticationToken")
    }

    @Test func concurrentCallersAreSerializedSafely() {
        let azure = SimAzure()
        let o = azure.options
        let request = Sim.tokenRequest([
            ("client_id", o.clientID), ("client_secret", o.clientSecret), ("scope", Sim.armScope), ("grant_type", "client_credentials"),
        ])
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            _ = azure.handle(request)
            _ = azure.handle(Sim.request("/status/azure.rss"))
        }
        #expect(azure.requestCount == 128 && azure.issuedTokenCount == 64)
        #expect(azure.requestCount(.token) == 64 && azure.requestCount(.statusFeeds) == 64 && azure.requestLog().count == 128)
    }
}
