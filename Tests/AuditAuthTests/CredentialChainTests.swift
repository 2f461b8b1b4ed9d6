import AuditCore
import AuditNet
import AuditTestSupport
import Foundation
import Testing

@Suite struct CredentialChainTests {
    typealias D = AuthTestData

    let workloadEnv = ["AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_CLIENT_ID": D.clientID, "AZURE_TENANT_ID": D.tenant]
    let managedIdentityEnv = ["IDENTITY_ENDPOINT": "http://localhost:42356/msi/token", "IDENTITY_HEADER": "hdr-secret-guid"]

    func make(_ method: AuthMethod?, env: [String: String], tenant: String? = nil, az: CommandRunner = FakeAz.missing, http: FakeHTTP = FakeHTTP(json: FakeHTTP.entraToken()))
        throws(AuthError) -> any TokenProvider
    {
        try Credentials.make(method: method, tenant: tenant, login: D.login, environment: env, http: http, runCommand: az)
    }

    @Test func defaultChainPicksClientSecretFirst() throws {
        let env = D.clientSecretEnv.merging(workloadEnv) { a, _ in a }.merging(managedIdentityEnv) { a, _ in a }
        let http = FakeHTTP(json: FakeHTTP.entraToken())
        let p = try make(nil, env: env, az: FakeAz(stdout: "{}").runner, http: http)
        #expect(p.method == .clientSecret)
        #expect(p is ClientSecretCredential)
        #expect(http.requests.isEmpty, "making a credential sends nothing")
    }

    @Test func defaultChainPicksWorkloadIdentityWhenThereIsNoSecret() throws {
        let p = try make(nil, env: workloadEnv.merging(managedIdentityEnv) { a, _ in a }, az: FakeAz(stdout: "{}").runner)
        #expect(p.method == .workloadIdentity)
    }

    @Test func defaultChainFallsBackToTheAzureCLI() throws {
        // A partial service principal (no secret) and a partial workload identity (no file).
        let env = ["AZURE_TENANT_ID": D.tenant, "AZURE_CLIENT_ID": D.clientID, "AZURE_CLIENT_SECRET": "  "]
        let p = try make(nil, env: env, az: FakeAz(stdout: "{}").runner)
        #expect(p.method == .azureCLI)
        #expect((p as? AzureCLICredential)?.executable == "/opt/az/bin/az")
    }

    @Test func defaultChainNeverUsesManagedIdentityOrTheTokenVariable() throws {
        let http = FakeHTTP(json: FakeHTTP.entraToken())
        let env = managedIdentityEnv.merging(["AZURE_ACCESS_TOKEN": D.jwt(#"{"exp":9999999999}"#), "AZURE_CLIENT_ID": D.clientID]) { a, _ in a }
        do {
            _ = try make(nil, env: env, http: http)
            Issue.record("expected no credentials")
        } catch {
            let text = error.description
            #expect(error.method == nil)
            #expect(text.contains("AZURE_TENANT_ID") && text.contains("AZURE_CLIENT_SECRET") && text.contains("AZURE_FEDERATED_TOKEN_FILE"))
            #expect(text.contains("az login"))
            #expect(text.contains("`auth:`"))
            #expect(!text.contains("hdr-secret-guid"))
        }
        #expect(http.requests.isEmpty, "the metadata address is never probed unasked")
    }

    @Test func defaultChainReportsWhatEachStepLacks() {
        let chain = Credentials.defaultChain(tenant: "contoso.onmicrosoft.com", environment: ["AZURE_CLIENT_ID": D.clientID], runCommand: FakeAz.missing)
        #expect(chain.map(\.method) == [.clientSecret, .workloadIdentity, .azureCLI])
        #expect(chain[0].missing == ["AZURE_CLIENT_SECRET"])
        #expect(chain[1].missing == ["AZURE_FEDERATED_TOKEN_FILE"])
        #expect(chain[2].missing == ["az on PATH"])
        #expect(!chain.contains { $0.isAvailable })
    }

    @Test func theConfigTenantOverridesAZURE_TENANT_ID() throws {
        let http = FakeHTTP(json: FakeHTTP.entraToken())
        let p = try make(nil, env: D.clientSecretEnv, tenant: "contoso.onmicrosoft.com", http: http)
        _ = try p.token(scope: D.armScope)
        #expect(http.requests.first?.url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
    }

    @Test func aNamedMethodSaysWhichVariablesAreMissing() {
        #expect(throws: AuthError.self) { try make(.clientSecret, env: ["AZURE_CLIENT_ID": D.clientID]) }
        do {
            _ = try make(.clientSecret, env: ["AZURE_CLIENT_ID": D.clientID])
        } catch {
            #expect(error.method == .clientSecret)
            #expect(error.message.hasPrefix("AZURE_TENANT_ID, AZURE_CLIENT_SECRET not set"))
        }
        do {
            _ = try make(.workloadIdentity, env: D.clientSecretEnv)
        } catch {
            #expect(error.message.contains("AZURE_FEDERATED_TOKEN_FILE not set"))
        }
        do {
            _ = try make(.azureCLI, env: [:])
        } catch {
            #expect(error.description == "azure-cli credential: the Azure CLI (az) was not found on PATH; install the Azure CLI and run az login")
        }
        do {
            _ = try make(.tokenEnv, env: [:])
        } catch {
            #expect(error.method == .tokenEnv)
            #expect(error.message.contains("AZURE_ACCESS_TOKEN is not set"))
        }
    }

    @Test func aTenantThatIsNotAnIDOrADomainIsRefused() {
        do {
            _ = try make(.clientSecret, env: D.clientSecretEnv, tenant: "evil/../x?y")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("is not a tenant id or domain"))
        }
    }

    @Test func theSystemRunnerFindsExecutablesOnPATHOnly() throws {
        let dir = TestSupport.makeTempDirectory()
        let path = try TestSupport.write("#!/bin/sh\necho hi\n", to: dir, name: "az")
        chmod(path, 0o755)
        #expect(CommandRunner.system.locate("az", ["PATH": "/nonexistent:" + dir.path]) == path)
        #expect(CommandRunner.system.locate("az", ["PATH": "/nonexistent"]) == nil)
        #expect(CommandRunner.system.locate("az", [:]) == nil)
    }
}
