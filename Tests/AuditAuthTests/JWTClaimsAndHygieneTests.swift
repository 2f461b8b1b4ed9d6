import AuditCore
import AuditNet
import AuditTestSupport
import Foundation
import Testing

@Suite struct JWTClaimsTests {
    typealias D = AuthTestData

    /// formats.md §16.1: a user-assigned managed identity's token for Azure OpenAI.
    static let managedIdentityToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6IkZBS0VraWQwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwia2lkIjoiRkFLRWtpZDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAifQ.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSIsImlzcyI6Imh0dHBzOi8vc3RzLndpbmRvd3MubmV0Lzk5OTk5OTk5LTg4ODgtNzc3Ny02NjY2LTU1NTU1NTU1NTU1NS8iLCJpYXQiOjE3MTY5OTEyMDAsIm5iZiI6MTcxNjk5MTIwMCwiZXhwIjoxNzE2OTk1MTAwLCJhaW8iOiJGQUtFIiwiYXBwaWQiOiJjY2NjY2NjYy0xMTExLTIyMjItMzMzMy00NDQ0NDQ0NDQ0NDQiLCJhcHBpZGFjciI6IjIiLCJpZHAiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC85OTk5OTk5OS04ODg4LTc3NzctNjY2Ni01NTU1NTU1NTU1NTUvIiwiaWR0eXAiOiJhcHAiLCJvaWQiOiJkZGRkZGRkZC0xMTExLTIyMjItMzMzMy00NDQ0NDQ0NDQ0NDQiLCJyaCI6IkZBS0UiLCJzdWIiOiJkZGRkZGRkZC0xMTExLTIyMjItMzMzMy00NDQ0NDQ0NDQ0NDQiLCJ0aWQiOiI5OTk5OTk5OS04ODg4LTc3NzctNjY2Ni01NTU1NTU1NTU1NTUiLCJ1dGkiOiJGQUtFdXRpIiwidmVyIjoiMS4wIiwieG1zX21pcmlkIjoiL3N1YnNjcmlwdGlvbnMvMTExMTExMTEtMjIyMi0zMzMzLTQ0NDQtNTU1NTU1NTU1NTU1L3Jlc291cmNlZ3JvdXBzL3JnLWFpL3Byb3ZpZGVycy9NaWNyb3NvZnQuTWFuYWdlZElkZW50aXR5L3VzZXJBc3NpZ25lZElkZW50aXRpZXMvaWQtYW9haS1yZWFkZXIifQ.ZmFrZS1zaWduYXR1cmU"

    @Test func decodesAManagedIdentityToken() throws {
        let c = try JWTClaims.decode(Self.managedIdentityToken)
        #expect(c.aud == ["https://cognitiveservices.azure.com"])
        #expect(c.iss == "https://sts.windows.net/99999999-8888-7777-6666-555555555555/")
        #expect(c.tid == "99999999-8888-7777-6666-555555555555")
        #expect(c.appid == "cccccccc-1111-2222-3333-444444444444" && c.clientID == c.appid)
        #expect(c.appidacr == "2")
        #expect(c.oid == "dddddddd-1111-2222-3333-444444444444")
        #expect(c.iat == 1_716_991_200 && c.nbf == 1_716_991_200 && c.exp == 1_716_995_100)
        #expect(c.expiresOnMicros == Int64(1_716_995_100) * 1_000_000)
        #expect(c.idtyp == "app" && c.ver == "1.0" && c.isAppOnly)
        #expect(c.xmsMirid == "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-ai/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aoai-reader")
        #expect(c.userName == nil && c.scp.isEmpty && c.roles.isEmpty)
        #expect(!c.description.contains(Self.managedIdentityToken))
        #expect(c.description.contains("exp=2024-05-29T15:05:00Z"))
    }

    @Test func decodesAHandMadeUserToken() throws {
        let token = D.jwt(#"{"aud":["api://x","https://management.core.windows.net/"],"iss":"https://login.microsoftonline.com/t/v2.0","tid":"t","azp":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","azpacr":"0","oid":"o","upn":"ana@contoso.com","unique_name":"ana@contoso.com","roles":["Reader","Writer"],"scp":"user_impersonation offline_access","exp":"1716995100","nbf":1716991200,"iat":1716991200,"ver":"2.0","xms_cc":["cp1"]}"#)
        let c = try JWTClaims.decode("Bearer " + token)
        #expect(c.aud == ["api://x", "https://management.core.windows.net/"])
        #expect(c.clientID == "04b07795-8ddb-461a-bbee-02f9e1bf7b46" && c.appid == nil && c.appidacr == "0")
        #expect(c.userName == "ana@contoso.com" && c.uniqueName == "ana@contoso.com")
        #expect(c.roles == ["Reader", "Writer"])
        #expect(c.scp == ["user_impersonation", "offline_access"])
        #expect(c.exp == 1_716_995_100, "string exp as re-emitted in logs")
        #expect(c.ver == "2.0" && !c.isAppOnly && c.xmsCC == ["cp1"])
    }

    @Test func notAJWTIsAnErrorThatDoesNotRepeatTheInput() {
        let apiKey = "0123456789abcdef0123456789abcdef"
        do {
            _ = try JWTClaims.decode(apiKey)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("looks like an API key"))
            #expect(!error.description.contains(apiKey))
        }
        #expect(throws: JWTClaims.DecodeError.self) { try JWTClaims.decode("a.b") }
        #expect(throws: JWTClaims.DecodeError.self) { try JWTClaims.decode("eyJ0.!!!.sig") }
        #expect(throws: JWTClaims.DecodeError.self) { try JWTClaims.decode("x." + D.base64URL("[1,2]") + ".y") }
    }
}

@Suite struct SecretHygieneTests {
    typealias D = AuthTestData

    @Test func noCredentialDescriptionHoldsASecret() throws {
        let dir = TestSupport.makeTempDirectory()
        let assertion = "federated-assertion-content-1234"
        let file = try TestSupport.write(assertion, to: dir, name: "tok")
        let accessToken = D.jwt(#"{"exp":9999999999}"#)
        let env = D.clientSecretEnv.merging([
            "AZURE_FEDERATED_TOKEN_FILE": file, "IDENTITY_ENDPOINT": "http://localhost:42356/msi/token",
            "IDENTITY_HEADER": "identity-header-secret", "AZURE_ACCESS_TOKEN": accessToken,
        ]) { a, _ in a }
        let http = FakeHTTP(json: FakeHTTP.entraToken("issued-token-value-5678"))
        let az = FakeAz(stdout: #"{"accessToken":"issued-token-value-5678","expires_on":9999999999}"#)
        let secrets = [D.secret, assertion, "identity-header-secret", accessToken, "issued-token-value-5678"]
        for method in AuthMethod.allCases {
            let p = try Credentials.make(method: method, tenant: nil, login: D.login, environment: env, http: http, runCommand: az.runner)
            let token = try p.token(scope: D.armScope)
            for text in [D.allRenderings(p), D.allRenderings(token)] {
                for s in secrets {
                    #expect(!text.contains(s), "\(method): \(s.prefix(8))… shown")
                }
            }
        }
        #expect(http.requests.count == 3, "client secret, workload identity, managed identity each asked once")
    }

    @Test func errorsHoldNoSecret() throws {
        let env = D.clientSecretEnv
        let http = FakeHTTP(status: 400, json: #"{"error":"invalid_client","error_description":"bad client_secret=\#(D.secret) access_token=abc.def","error_codes":[]}"#)
        let p = try Credentials.make(method: .clientSecret, tenant: nil, login: D.login, environment: env, http: http, runCommand: FakeAz.missing)
        do {
            _ = try p.token(scope: D.armScope)
        } catch {
            let text = D.allRenderings(error)
            #expect(!text.contains(D.secret))
            #expect(!text.contains("abc.def"))
        }
    }
}
