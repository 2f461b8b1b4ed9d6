import AuditCore
import AuditNet
import AuditTestSupport
import Foundation
import Testing

@Suite struct AzureCLICredentialTests {
    typealias D = AuthTestData

    func credential(_ az: FakeAz, tenant: String? = nil, clock: TestClock = TestClock()) throws(AuthError) -> any TokenProvider {
        try Credentials.make(method: .azureCLI, tenant: tenant, login: D.login, environment: ["PATH": "/usr/bin"], http: FakeHTTP(json: "{}"), runCommand: az.runner, now: clock.function)
    }

    @Test func runsAzAndReadsExpiresOn() throws {
        let az = FakeAz(stdout: """
            {
              "accessToken": "eyJ0eXAiOiJKV1Qi.payload.sig",
              "expiresOn": "2024-05-29 15:32:10.000000",
              "expires_on": 1716996730,
              "subscription": "11111111-2222-3333-4444-555555555555",
              "tenant": "\(D.tenant)",
              "tokenType": "Bearer"
            }
            """)
        let c = try credential(az, tenant: D.tenant)
        let token = try c.token(scope: D.armScope)
        #expect(token.value == "eyJ0eXAiOiJKV1Qi.payload.sig")
        #expect(token.expiresOnMicros == 1_716_996_730 * 1_000_000)
        #expect(az.arguments == [["account", "get-access-token", "--output", "json", "--scope", D.armScope, "--tenant", D.tenant]])
        // Cached: az is not run again.
        _ = try c.token(scope: D.armScope)
        #expect(az.arguments.count == 1)
    }

    @Test func withoutATenantNoTenantArgument() throws {
        let az = FakeAz(stdout: #"{"accessToken":"t","expires_on":"1716996730"}"#)
        let token = try credential(az, clock: TestClock(1_716_990_000 * 1_000_000)).token(scope: "https://cognitiveservices.azure.com/.default")
        #expect(token.expiresOnMicros == 1_716_996_730 * 1_000_000)
        #expect(az.arguments == [["account", "get-access-token", "--output", "json", "--scope", "https://cognitiveservices.azure.com/.default"]])
    }

    @Test func olderCLIsGiveOnlyExpiresOnInLocalTime() throws {
        let az = FakeAz(stdout: #"{"accessToken":"t","expiresOn":"2024-05-29 15:32:10.250000","tokenType":"Bearer"}"#)
        let token = try credential(az).token(scope: D.armScope)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        let local = try #require(calendar.date(from: DateComponents(year: 2024, month: 5, day: 29, hour: 15, minute: 32, second: 10)))
        #expect(token.expiresOnMicros == Int64(local.timeIntervalSince1970) * 1_000_000 + 250_000)
    }

    @Test func localTimeIsReadInTheGivenZone() throws {
        let paris = try #require(TimeZone(identifier: "Europe/Paris"))
        // 15:32:10 in Paris in May (UTC+2) is 13:32:10Z.
        #expect(AzureCLICredential.parseLocalTime("2024-05-29 15:32:10.921462", timeZone: paris) == Timestamp.make(year: 2024, month: 5, day: 29, hour: 13, minute: 32, second: 10, micros: 921_462))
        #expect(AzureCLICredential.parseLocalTime("2024-01-02 03:04:05", timeZone: try #require(TimeZone(identifier: "UTC"))) == Timestamp.make(year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5))
        #expect(AzureCLICredential.parseLocalTime("N/A", timeZone: paris) == nil)
    }

    @Test func aFailingAzGivesItsFirstStderrLineRedactedAndSaysRunAzLogin() throws {
        let az = FakeAz(status: 1, stderr: """

            ERROR: AADSTS70043: The refresh token has expired due to inactivity. access_token=abc123supersecret Bearer eyJhbGciOiJub25lIn0.eyJleHAiOjF9.sig
            Traceback (most recent call last):
            """)
        do {
            _ = try credential(az, tenant: D.tenant).token(scope: D.armScope)
            Issue.record("expected an error")
        } catch {
            let text = error.description
            #expect(text.hasPrefix("azure-cli credential: `az account get-access-token` exited with status 1: ERROR: AADSTS70043: The refresh token has expired due to inactivity."))
            #expect(text.hasSuffix("; run az login --tenant \(D.tenant)"))
            #expect(!text.contains("abc123supersecret") && !text.contains("eyJhbGciOiJub25lIn0"))
            #expect(!text.contains("Traceback") && !text.contains("\n"))
        }
    }

    @Test func garbageOnStdoutIsNotShown() throws {
        let az = FakeAz(stdout: "accessToken secret-looking-text-xyz")
        do {
            _ = try credential(az).token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("printed no accessToken"))
            #expect(!error.message.contains("secret-looking-text-xyz"))
        }
    }

    @Test func azMissingOrHangingSaysWhatToDo() throws {
        let vanished = FakeAz { () throws(CommandRunError) -> CommandOutput in throw .notFound(executable: "/opt/az/bin/az") }
        do {
            _ = try credential(vanished).token(scope: D.armScope)
        } catch {
            #expect(error.message.hasSuffix("install the Azure CLI and run az login"))
        }
        let hanging = FakeAz { () throws(CommandRunError) -> CommandOutput in throw .timedOut(executable: "/opt/az/bin/az", seconds: 30) }
        do {
            _ = try credential(hanging).token(scope: D.armScope)
        } catch {
            #expect(error.message.contains("did not finish within 30 s"))
        }
    }

    @Test func theSystemRunnerRunsAScriptDrainsBothPipesAndTimesOut() throws {
        let dir = TestSupport.makeTempDirectory()
        let script = try TestSupport.write("""
            #!/bin/sh
            echo "args: $*"
            i=0; while [ $i -lt 2000 ]; do echo "stderr line $i, long enough to fill a pipe buffer quickly" >&2; i=$((i+1)); done
            exit 3
            """, to: dir, name: "az")
        chmod(script, 0o755)
        let out = try CommandRunner.system.run(script, ["account", "get-access-token"], ["PATH": "/usr/bin:/bin"], 30)
        #expect(out.status == 3)
        #expect(String(decoding: out.stdout, as: UTF8.self) == "args: account get-access-token\n")
        #expect(out.stderr.count > 100_000)

        let sleeper = try TestSupport.write("#!/bin/sh\nexec sleep 10\n", to: dir, name: "slow")
        chmod(sleeper, 0o755)
        let started = Date()
        #expect(throws: CommandRunError.self) { try CommandRunner.system.run(sleeper, [], [:], 0.5) }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(throws: CommandRunError.self) { try CommandRunner.system.run(dir.appendingPathComponent("absent").path, [], [:], 1) }
    }
}
