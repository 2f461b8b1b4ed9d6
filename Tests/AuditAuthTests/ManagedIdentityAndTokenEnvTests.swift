import AuditCore
import AuditNet
import AuditTestSupport
import Foundation
import Testing

@Suite struct ManagedIdentityCredentialTests {
    typealias D = AuthTestData

    func make(_ env: [String: String], _ http: FakeHTTP) throws(AuthError) -> any TokenProvider {
        try Credentials.make(method: .managedIdentity, tenant: D.tenant, login: D.login, environment: env, http: http, runCommand: FakeAz.missing)
    }

    @Test func usesIDENTITY_ENDPOINTWhenSet() throws {
        let http = FakeHTTP(json: #"{"access_token":"mi-token","expires_on":"1586984735","resource":"https://management.azure.com","token_type":"Bearer","client_id":"5E29463D"}"#)
        let env = ["IDENTITY_ENDPOINT": "http://localhost:42356/msi/token", "IDENTITY_HEADER": "hdr-guid-secret", "AZURE_CLIENT_ID": "cccccccc-1111-2222-3333-444444444444"]
        let p = try make(env, http)
        #expect(p.method == .managedIdentity)
        let token = try p.token(scope: D.armScope)
        #expect(token.value == "mi-token")
        #expect(token.expiresOnMicros == 1_586_984_735 * 1_000_000)
        let r = try #require(http.requests.first)
        #expect(r.method == "GET")
        #expect(r.url == "http://localhost:42356/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=cccccccc-1111-2222-3333-444444444444")
        #expect(D.header(r, "X-IDENTITY-HEADER") == "hdr-guid-secret")
        #expect(D.header(r, "Metadata") == nil)
        #expect(!r.allowPlainHTTPToMetadataAddress)
        #expect(!"\(p)".contains("hdr-guid-secret"))
    }

    @Test func otherwiseAsksIMDSWithTheMetadataHeader() throws {
        let http = FakeHTTP(json: #"{"access_token":"imds-token","refresh_token":"","expires_in":"3599","expires_on":"1506484173","not_before":"1506480273","resource":"https://cognitiveservices.azure.com","token_type":"Bearer"}"#)
        // IDENTITY_ENDPOINT without IDENTITY_HEADER is not App Service.
        let p = try make(["IDENTITY_ENDPOINT": "http://localhost:1/x"], http)
        let token = try p.token(scope: "https://cognitiveservices.azure.com/.default")
        #expect(token.expiresOnMicros == 1_506_484_173 * 1_000_000)
        let r = try #require(http.requests.first)
        #expect(r.url == "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com")
        #expect(D.header(r, "Metadata") == "true")
        #expect(r.allowPlainHTTPToMetadataAddress)
        #expect(p.method == .managedIdentity)
    }

    @Test func expiresInIsUsedWhenThereIsNoExpiresOn() throws {
        let clock = TestClock()
        let http = FakeHTTP(json: #"{"access_token":"x","expires_in":"28799"}"#)
        let p = ManagedIdentityCredential(environment: [:], http: http, now: clock.function)
        #expect(try p.token(scope: D.armScope).expiresOnMicros == clock.now + 28_799 * 1_000_000)
    }

    @Test func errorsSayWhatToCheck() throws {
        let noIdentity = FakeHTTP(status: 400, json: #"{"error":"invalid_request","error_description":"Identity not found"}"#)
        do {
            _ = try make(["AZURE_CLIENT_ID": "cccccccc-1111-2222-3333-444444444444"], noIdentity).token(scope: D.armScope)
        } catch {
            #expect(error.message == "IMDS http://169.254.169.254/metadata/identity/oauth2/token answered HTTP 400 (invalid_request: Identity not found) for user-assigned identity cccccccc-1111-2222-3333-444444444444; user-assigned identity cccccccc-1111-2222-3333-444444444444 is not assigned to this machine: check AZURE_CLIENT_ID")
        }
        let unreachable = FakeHTTP { r throws(HTTPError) -> HTTPResponse in throw .transport(url: r.url, message: "connection timed out", attempts: 5) }
        do {
            _ = try make([:], unreachable).token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("cannot reach IMDS (169.254.169.254)"))
            #expect(error.message.contains("NO_PROXY"))
        }
        let refusing = FakeHTTP { r throws(HTTPError) -> HTTPResponse in throw .insecureURL(url: r.url) }
        do {
            _ = try make([:], refusing).token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("allowPlainHTTPToMetadataAddress"))
        }
        let echoing = FakeHTTP(status: 401, json: #"{"statusCode":401,"message":"bad header hdr-guid-secret"}"#)
        do {
            _ = try make(["IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "hdr-guid-secret"], echoing).token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("HTTP 401"))
            #expect(!error.description.contains("hdr-guid-secret"))
        }
    }
}

@Suite struct TokenEnvCredentialTests {
    typealias D = AuthTestData

    @Test func expiryComesFromTheJWTExpClaim() throws {
        let jwt = D.jwt(#"{"aud":"https://management.azure.com","exp":1716995100}"#)
        let clock = TestClock(1_716_991_200 * 1_000_000)
        let p = try Credentials.make(method: .tokenEnv, tenant: nil, login: D.login, environment: ["AZURE_ACCESS_TOKEN": jwt], http: FakeHTTP(json: "{}"), runCommand: FakeAz.missing, now: clock.function)
        #expect(p.method == .tokenEnv)
        let t = try p.token(scope: D.armScope)
        #expect(t.value == jwt)
        #expect(t.expiresOnMicros == 1_716_995_100 * 1_000_000)
        #expect(!"\(p)".contains(jwt))
        clock.advance(seconds: 3900)
        do {
            _ = try p.token(scope: D.armScope)
            Issue.record("expected an expiry error")
        } catch {
            #expect(error.message.contains("expired at 2024-05-29T15:05:00Z"))
        }
    }

    @Test func anOpaqueTokenLastsAnHour() throws {
        let clock = TestClock()
        let p = try TokenEnvCredential(environment: ["AZURE_ACCESS_TOKEN": "Bearer opaque-token-value"], now: clock.function)
        let t = try p.token(scope: D.armScope)
        #expect(t.value == "opaque-token-value")
        #expect(t.expiresOnMicros == clock.now + 3600 * 1_000_000)
    }

    @Test func aMissingTokenIsAnError() {
        #expect(throws: AuthError.self) { try TokenEnvCredential(environment: ["AZURE_ACCESS_TOKEN": " "]) }
    }
}
