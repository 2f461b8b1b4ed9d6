import AuditCore
import AuditNet
import AuditTestSupport
import Foundation
import Testing

@Suite struct ClientSecretCredentialTests {
    typealias D = AuthTestData

    func credential(_ http: FakeHTTP, clock: TestClock = TestClock()) throws(AuthError) -> ClientSecretCredential {
        let p = try Credentials.make(method: .clientSecret, tenant: nil, login: D.login + "/", environment: D.clientSecretEnv, http: http, runCommand: FakeAz.missing, now: clock.function)
        // swiftlint:disable:next force_cast
        return p as! ClientSecretCredential
    }

    @Test func postsTheClientCredentialsFormURLEncoded() throws {
        let http = FakeHTTP(json: FakeHTTP.entraToken("tok-A", expiresIn: "3599"))
        let clock = TestClock()
        let token = try credential(http, clock: clock).token(scope: D.armScope)
        #expect(token.value == "tok-A")
        #expect(token.expiresOnMicros == clock.now + 3599 * 1_000_000)

        let r = try #require(http.requests.first)
        #expect(r.method == "POST")
        #expect(r.url == "https://login.microsoftonline.com/\(D.tenant)/oauth2/v2.0/token")
        #expect(D.header(r, "Content-Type") == "application/x-www-form-urlencoded")
        #expect(!r.allowPlainHTTPToMetadataAddress)
        let body = String(decoding: r.body ?? [], as: UTF8.self)
        // `&`, `=`, `+` and `%` in the secret are escaped, so the form splits where it should.
        #expect(body == "client_id=\(D.clientID)&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&client_secret=Sec%26ret%3DVa%2Blue%2520~x&grant_type=client_credentials")
        #expect(D.form(r) == ["client_id": D.clientID, "scope": D.armScope, "client_secret": D.secret, "grant_type": "client_credentials"])
    }

    @Test func expiresInMayBeANumberOrAString() throws {
        let clock = TestClock()
        let asString = try credential(FakeHTTP(json: #"{"access_token":"a","expires_in":"120"}"#), clock: clock).token(scope: D.armScope)
        #expect(asString.expiresOnMicros == clock.now + 120_000_000)
        let asNumber = try credential(FakeHTTP(json: #"{"access_token":"a","expires_in":120}"#), clock: clock).token(scope: D.armScope)
        #expect(asNumber.expiresOnMicros == clock.now + 120_000_000)
    }

    @Test func anInvalidSecretIsOneLineNamingTheCodeAndWhatToCheck() throws {
        let body = #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '12345678-aaaa-bbbb-cccc-1234567890ab'.\r\nTrace ID: 0b2f6d1e-0000-4000-8000-000000000000\r\nCorrelation ID: 7a1c5e3b-1111-4222-8333-444455556666\r\nTimestamp: 2023-05-06 06:03:00Z","error_codes":[7000215],"timestamp":"2023-05-06 06:03:00Z","trace_id":"0b2f6d1e-0000-4000-8000-000000000000","correlation_id":"7a1c5e3b-1111-4222-8333-444455556666","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#
        let http = FakeHTTP(status: 401, json: body)
        do {
            _ = try credential(http).token(scope: D.armScope)
            Issue.record("expected an error")
        } catch {
            let text = error.description
            #expect(text == "client-secret credential: token request for client \(D.clientID) in tenant \(D.tenant) failed: AADSTS7000215: invalid client secret: use the secret's Value, not its ID, and check it has not expired (AZURE_CLIENT_SECRET) (HTTP 401 invalid_client, correlation id 7a1c5e3b-1111-4222-8333-444455556666)")
            #expect(!text.contains("\n") && !text.contains("\r"))
            #expect(!text.contains(D.secret) && !text.contains("Sec%26ret"))
        }
    }

    @Test func otherCodesShowEntrasFirstLine() throws {
        let body = #"{"error":"invalid_request","error_description":"AADSTS50059: No tenant-identifying information found in either the request or implied by any provided credentials.\r\nTrace ID: abc\r\nCorrelation ID: def","error_codes":[50059]}"#
        do {
            _ = try credential(FakeHTTP(status: 400, json: body)).token(scope: D.armScope)
        } catch {
            #expect(error.message == "token request for client \(D.clientID) in tenant \(D.tenant) failed: AADSTS50059: No tenant-identifying information found in either the request or implied by any provided credentials. (HTTP 400 invalid_request)")
        }
        let known: [(Int, String)] = [(700016, "application not found"), (90002, "tenant not found"), (7000222, "the client secret has expired"), (70011, "invalid scope")]
        for (code, hint) in known {
            let b = #"{"error":"x","error_description":"AADSTS\#(code): text\r\nTrace ID: t","error_codes":[\#(code)]}"#
            do {
                _ = try credential(FakeHTTP(status: 400, json: b)).token(scope: D.armScope)
            } catch {
                #expect(error.message.contains("failed: AADSTS\(code): ") && error.message.contains(hint), "\(code)")
            }
        }
    }

    @Test func aServerEchoingTheSecretDoesNotLeakIt() throws {
        let echo = FakeHTTP { request throws(HTTPError) -> HTTPResponse in
            FakeHTTP.response(400, #"{"error":"bad","error_description":"you sent \#(D.secret) and \#(String(decoding: request.body ?? [], as: UTF8.self))"}"#)
        }
        do {
            _ = try credential(echo).token(scope: D.armScope)
        } catch {
            #expect(!error.description.contains(D.secret))
            #expect(!error.description.contains("Sec%26ret"))
        }
        let html = FakeHTTP { _ throws(HTTPError) -> HTTPResponse in
            HTTPResponse(status: 502, headers: [:], body: Array("<html>bad gateway client_secret=\(D.secret)</html>".utf8))
        }
        do {
            _ = try credential(html).token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("HTTP 502"))
            #expect(!error.description.contains(D.secret))
        }
    }

    @Test func aTransportErrorKeepsTheClientsDescription() throws {
        let failing = FakeHTTP { r throws(HTTPError) -> HTTPResponse in
            throw HTTPError.transport(url: r.url, message: "could not resolve host", attempts: 3)
        }
        do {
            _ = try credential(failing).token(scope: D.armScope)
        } catch {
            #expect(error.method == .clientSecret)
            #expect(error.message.contains("could not resolve host (after 3 attempts)"))
            #expect(error.message.contains(D.clientID))
        }
    }

    @Test func aTokenIsReusedUntilFiveMinutesBeforeItExpires() throws {
        let counter = FakeHTTP { r throws(HTTPError) -> HTTPResponse in
            FakeHTTP.response(200, FakeHTTP.entraToken("tok", expiresIn: "3600"))
        }
        let clock = TestClock()
        let c = try credential(counter, clock: clock)
        _ = try c.token(scope: D.armScope)
        _ = try c.token(scope: D.armScope)
        #expect(counter.requests.count == 1, "second call is a cache hit")
        _ = try c.token(scope: "https://api.loganalytics.io/.default")
        #expect(counter.requests.count == 2, "another scope is another token")
        clock.advance(seconds: 54 * 60)
        _ = try c.token(scope: D.armScope)
        #expect(counter.requests.count == 2, "6 minutes left: still cached")
        clock.advance(seconds: 60 + 1)
        _ = try c.token(scope: D.armScope)
        #expect(counter.requests.count == 3, "under 5 minutes left: fetched again")
    }

    @Test func aShortLivedTokenIsNotCached() throws {
        let http = FakeHTTP(json: FakeHTTP.entraToken(expiresIn: "200"))
        let c = try credential(http)
        _ = try c.token(scope: D.armScope)
        _ = try c.token(scope: D.armScope)
        #expect(http.requests.count == 2)
    }

    @Test func concurrentCallersForOneScopeFetchOnce() throws {
        let http = FakeHTTP(json: FakeHTTP.entraToken(), delay: 0.05)
        let c = try credential(http)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            _ = try? c.token(scope: D.armScope)
        }
        #expect(http.requests.count == 1)
    }

    @Test func aFailedFetchIsNotCached() throws {
        let flaky = FakeHTTP { r throws(HTTPError) -> HTTPResponse in
            FakeHTTP.response(400, #"{"error":"invalid_client","error_codes":[7000215]}"#)
        }
        let c = try credential(flaky)
        #expect(throws: AuthError.self) { try c.token(scope: D.armScope) }
        #expect(throws: AuthError.self) { try c.token(scope: D.armScope) }
        #expect(flaky.requests.count == 2)
    }
}

@Suite struct WorkloadIdentityCredentialTests {
    typealias D = AuthTestData

    @Test func readsTheFederatedTokenFileForEveryRequest() throws {
        let dir = TestSupport.makeTempDirectory()
        let file = try TestSupport.write("assertion-one\n", to: dir, name: "azure-identity-token")
        let env = ["AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_CLIENT_ID": D.clientID, "AZURE_TENANT_ID": D.tenant,
                   "AZURE_AUTHORITY_HOST": "https://login.example.test/"]
        let http = FakeHTTP(json: FakeHTTP.entraToken(expiresIn: "3600"))
        let clock = TestClock()
        let p = try Credentials.make(method: nil, tenant: nil, login: D.login, environment: env, http: http, runCommand: FakeAz.missing, now: clock.function)
        #expect(p.method == .workloadIdentity)
        _ = try p.token(scope: D.armScope)
        try TestSupport.write("assertion-two", to: dir, name: "azure-identity-token")
        clock.advance(seconds: 3600)
        _ = try p.token(scope: D.armScope)

        let requests = http.requests
        #expect(requests.count == 2)
        #expect(requests[0].url == "https://login.example.test/\(D.tenant)/oauth2/v2.0/token", "AZURE_AUTHORITY_HOST overrides the login endpoint")
        #expect(D.form(requests[0]) == [
            "client_id": D.clientID, "scope": D.armScope, "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": "assertion-one",
        ])
        #expect(D.form(requests[1])["client_assertion"] == "assertion-two")
        #expect(String(decoding: requests[0].body ?? [], as: UTF8.self).contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"))
    }

    @Test func aMissingOrEmptyFileIsAClearErrorWithoutTheAssertion() throws {
        let dir = TestSupport.makeTempDirectory()
        let env = ["AZURE_FEDERATED_TOKEN_FILE": dir.appendingPathComponent("nope").path, "AZURE_CLIENT_ID": D.clientID, "AZURE_TENANT_ID": D.tenant]
        let http = FakeHTTP(json: FakeHTTP.entraToken())
        let p = try Credentials.make(method: .workloadIdentity, tenant: nil, login: D.login, environment: env, http: http, runCommand: FakeAz.missing)
        do {
            _ = try p.token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("does not exist"))
            #expect(error.message.contains("AZURE_FEDERATED_TOKEN_FILE"))
        }
        #expect(http.requests.isEmpty)

        let assertion = D.jwt(#"{"sub":"system:serviceaccount:ai:auditor"}"#)
        let file = try TestSupport.write(assertion, to: dir, name: "tok")
        let refusing = FakeHTTP(status: 400, json: #"{"error":"invalid_client","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'x'. \#(assertion)\r\nTrace ID: t","error_codes":[70021]}"#)
        let q = try Credentials.make(method: .workloadIdentity, tenant: nil, login: D.login, environment: ["AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_CLIENT_ID": D.clientID, "AZURE_TENANT_ID": D.tenant], http: refusing, runCommand: FakeAz.missing)
        do {
            _ = try q.token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("AADSTS70021: no federated credential"))
            #expect(!error.description.contains(assertion))
        }
    }
}
