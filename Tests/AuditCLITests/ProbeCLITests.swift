import AuditCore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// `aoai-audit probe` end to end: the built CLI as a subprocess against the simulator's Azure
/// OpenAI data plane (formats.md §5) on a loopback port in this process, one answer class per
/// test, the key never printed or stored, a small soak, and the stored probe.
@Suite(.serialized) struct ProbeCLITests {
    // MARK: - Classes with a key

    @Test func aCurrentKeyIsOkAndStored() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        let r = try cli.run(sim.args(["--format", "json"]), env: sim.keyEnv())
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let doc = try ProbeSim.json(r)
        #expect(doc["class"]?.text == "ok")
        #expect(doc["fix"]?.text?.contains("nothing to fix") == true, "\(r.stdout)")
        #expect(doc["auth"]?.text == "key")
        #expect(doc["endpoint_host"]?.text == "127.0.0.1")
        #expect(doc["resource_id"]?.text == ProbeSim.accountID.lowercased())
        #expect(doc["stored"]?.bool == true)
        let p = try #require(doc["probes"]?.arrayValue?.first)
        #expect(p["status"]?.int64 == 200)
        #expect(p["region"]?.text == "East US", "x-ms-region: \(r.stdout)")
        #expect(p["apim_request_id"]?.nonEmptyText != nil)
        #expect(p["ratelimit_remaining_requests"]?.int64 != nil && p["ratelimit_remaining_tokens"]?.int64 != nil)
        #expect((p["latency_ms"].flatMap { Double($0.text ?? "") } ?? -1) >= 0)
        #expect(sim.azure.requestCount(.dataPlane) == 1)

        // Stored: the probes table and the named query.
        let q = try cli.run(["query", "--sql", "SELECT class, status, auth, endpoint_host, deployment, api_version, resource_id, region, latency_ms >= 0 FROM probes", "--format", "csv"])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(q.stdout.contains("ok,200,key,127.0.0.1,gpt-4o,2024-10-21,\(ProbeSim.accountID.lowercased()),East US,1"), "\(q.stdout)")
        let named = try cli.run(["query", "probes", "--format", "json"])
        #expect(named.status == 0, "\(named.stderr)")
        let rows = try JSONParser.parse(named.stdout)["rows"]?.arrayValue ?? []
        #expect(rows.count == 1, "\(named.stdout)")

        // The table form says the same in words.
        let t = try cli.run(sim.args([]), env: sim.keyEnv())
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("HTTP 200  ok") && t.stdout.contains("fix: nothing to fix") && t.stdout.contains("stored: probe 2"), "\(t.stdout)")
    }

    @Test func aRegeneratedKeyIsAnInvalidKeyWithTheFix() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        let old = ProbeSim.key1
        #expect(sim.azure.regenerateKey(account: ProbeSim.account) != nil)
        let r = try cli.run(sim.args(["--format", "json"]), env: sim.keyEnv(old))
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let doc = try ProbeSim.json(r)
        #expect(doc["class"]?.text == "invalid_key_or_endpoint", "\(r.stdout)")
        let p = try #require(doc["probes"]?.arrayValue?.first)
        #expect(p["status"]?.int64 == 401 && p["error_code"]?.text == "401")
        #expect(doc["detail"]?.text?.contains("not a current key of aoai-probe") == true, "\(r.stdout)")
        #expect(doc["fix"]?.text?.contains("az cognitiveservices account keys list --name aoai-probe") == true, "\(r.stdout)")
        #expect(doc["fix"]?.text?.contains("Key Vault") == true)
        ProbeSim.expectNoSecret([old], in: [r.stdout, r.stderr], cli: cli)
    }

    @Test func disabledLocalAuthIsKeyAuthDisabled() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        #expect(sim.azure.setAccountProperty(resourceID: ProbeSim.accountID, disableLocalAuth: true))
        let r = try cli.run(sim.args([]), env: sim.keyEnv())
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("HTTP 403  key_auth_disabled (code AuthenticationTypeDisabled)"), "\(r.stdout)")
        #expect(r.stdout.contains("disableLocalAuth: true"), "\(r.stdout)")
        #expect(r.stdout.contains("fix: move the caller to Entra ID") && r.stdout.contains("properties.disableLocalAuth=false"), "\(r.stdout)")
    }

    @Test func aWrongDeploymentIsDeploymentNotFound() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        let r = try cli.run(sim.args(["--format", "json"], deployment: "gpt-4o-typo"), env: sim.keyEnv())
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let doc = try ProbeSim.json(r)
        #expect(doc["class"]?.text == "deployment_not_found")
        #expect(doc["probes"]?.arrayValue?.first?["error_code"]?.text == "DeploymentNotFound")
        #expect(doc["detail"]?.text?.contains("no deployment named 'gpt-4o-typo'") == true, "\(r.stdout)")
        #expect(doc["fix"]?.text?.contains("deployment list --name aoai-probe") == true, "\(r.stdout)")
    }

    @Test func aThrottledAnswerIsReportedOnceWithRetryAfterAndNotRetried() throws {
        let sim = try ProbeSim { $0.dataPlaneThrottleEvery = 1 }
        let cli = CLI()
        let r = try cli.run(sim.args(["--format", "json"]), env: sim.keyEnv())
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let doc = try ProbeSim.json(r)
        #expect(doc["class"]?.text == "throttled")
        let p = try #require(doc["probes"]?.arrayValue?.first)
        #expect(p["status"]?.int64 == 429 && p["retry_after_s"]?.text == "1", "\(r.stdout)")
        #expect(p["ratelimit_remaining_requests"]?.int64 == 0)
        #expect(doc["detail"]?.text?.contains("Retry-After 1 s") == true, "\(r.stdout)")
        #expect(doc["fix"]?.text?.contains("retry after the Retry-After delay") == true)
        #expect(sim.azure.requestCount(.dataPlane) == 1, "a probe must not retry")
        let q = try cli.run(["query", "--sql", "SELECT class, status, retry_after_s FROM probes", "--format", "csv"])
        #expect(q.stdout.contains("throttled,429,1"), "\(q.stdout)")
    }

    // MARK: - Classes with a token

    @Test func anExpiredTokenIsTokenRejectedAndSaysExpired() throws {
        // The simulator's clock runs an hour behind and issues tokens that expire at once: the
        // token's exp is an hour in the past by this host's clock, and the service refuses it.
        let sim = try ProbeSim {
            $0.now = TimeArgument.nowMicros() - Timestamp.microsPerHour
            $0.expireTokensAfter = 0
        }
        sim.grantDataPlaneRole()
        let cli = CLI()
        let config = try cli.write(sim.config(), "aoai-audit.yaml")
        let r = try cli.run(sim.args(["--entra", "--config", config, "--format", "json"]), env: sim.entraEnv())
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let doc = try ProbeSim.json(r)
        #expect(doc["class"]?.text == "token_rejected", "\(r.stdout)")
        #expect(doc["auth"]?.text == "entra")
        #expect(doc["probes"]?.arrayValue?.first?["error_code"]?.text == "401")
        #expect(doc["detail"]?.text?.contains("the token expired at") == true && doc["detail"]?.text?.contains("min ago") == true, "\(r.stdout)")
        #expect(doc["fix"]?.text?.contains("https://cognitiveservices.azure.com/.default") == true)
        ProbeSim.expectNoSecret(sim.tokens.all + [ProbeSim.clientSecret], in: [r.stdout, r.stderr], cli: cli)
        #expect(!sim.tokens.all.isEmpty)
    }

    @Test func aTokenForAnotherAudienceIsTokenRejectedAndNamesTheAudience() throws {
        let sim = try ProbeSim()
        sim.grantDataPlaneRole()
        let cli = CLI()
        let token = sim.azure.issueToken(audience: "https://management.azure.com")
        let config = try cli.write(sim.config(auth: "token-env"), "aoai-audit.yaml")
        let r = try cli.run(sim.args(["--entra", "--config", config]), env: ["AZURE_ACCESS_TOKEN": token])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("HTTP 401  token_rejected (code 401)"), "\(r.stdout)")
        #expect(r.stdout.contains("the token has audience https://management.azure.com, not https://cognitiveservices.azure.com"), "\(r.stdout)")
        #expect(r.stdout.contains("fix: request the token for scope https://cognitiveservices.azure.com/.default"), "\(r.stdout)")
        ProbeSim.expectNoSecret([token], in: [r.stdout, r.stderr], cli: cli)
    }

    @Test func aPrincipalWithoutTheDataPlaneRoleIsNamedWithTheRoleThenOkOnceGrantedThenDeniedWhenRemoved() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        let config = try cli.write(sim.config(), "aoai-audit.yaml")
        let oid = sim.azure.options.clientObjectID
        // The client has Reader on the subscription only: no data-plane role.
        let denied = try cli.run(sim.args(["--entra", "--config", config, "--format", "json"]), env: sim.entraEnv())
        #expect(denied.status == 3, "\(denied.stdout)\n\(denied.stderr)")
        var doc = try ProbeSim.json(denied)
        #expect(doc["class"]?.text == "no_data_plane_role", "\(denied.stdout)")
        #expect(doc["probes"]?.arrayValue?.first?["error_code"]?.text == "PermissionDenied")
        #expect(doc["probes"]?.arrayValue?.first?["principal_id"]?.text == oid)
        #expect(doc["detail"]?.text?.contains("principal \(oid)") == true && doc["detail"]?.text?.contains("Cognitive Services OpenAI User") == true, "\(denied.stdout)")
        #expect(doc["fix"]?.text?.contains("az role assignment create --assignee-object-id \(oid)") == true, "\(denied.stdout)")
        #expect(doc["fix"]?.text?.contains("--scope \(ProbeSim.accountID.lowercased())") == true, "\(denied.stdout)")

        let assignment = try #require(sim.grantDataPlaneRole())
        let ok = try cli.run(sim.args(["--entra", "--config", config, "--format", "json"]), env: sim.entraEnv())
        #expect(ok.status == 0, "\(ok.stdout)\n\(ok.stderr)")
        doc = try ProbeSim.json(ok)
        #expect(doc["class"]?.text == "ok" && doc["probes"]?.arrayValue?.first?["principal_id"]?.text == oid, "\(ok.stdout)")

        #expect(sim.azure.removeRoleAssignment(id: assignment))
        let again = try cli.run(sim.args(["--entra", "--config", config]), env: sim.entraEnv())
        #expect(again.status == 3, "\(again.stdout)\n\(again.stderr)")
        #expect(again.stdout.contains("HTTP 401  no_data_plane_role (code PermissionDenied)"), "\(again.stdout)")
        let q = try cli.run(["query", "--sql", "SELECT class, auth, principal_id FROM probes ORDER BY id", "--format", "csv"])
        #expect(q.stdout.contains("no_data_plane_role,entra,\(oid)\r\nok,entra,\(oid)\r\nno_data_plane_role,entra,\(oid)"), "\(q.stdout)")
        ProbeSim.expectNoSecret(sim.tokens.all + [ProbeSim.clientSecret], in: [denied.stdout, denied.stderr, ok.stdout, ok.stderr, again.stdout, again.stderr], cli: cli)
    }

    // MARK: - Soak

    @Test func aSoakOf20GivesPercentilesAndThe429RateOfTheSimulator() throws {
        let every = 4
        let sim = try ProbeSim { $0.dataPlaneThrottleEvery = every }
        let cli = CLI()
        let r = try cli.run(sim.args(["--repeat", "20", "--interval", "10ms", "--format", "json"]), env: sim.keyEnv())
        #expect(r.status == 3, "throttled requests are failures: \(r.stdout)\n\(r.stderr)")
        let doc = try ProbeSim.json(r)
        let summary = try #require(doc["summary"]?.objectValue)
        #expect(summary["count"]?.int64 == 20 && summary["unanswered"]?.int64 == 0)
        #expect(summary["statuses"]?["200"]?.int64 == 15 && summary["statuses"]?["429"]?.int64 == 5, "\(r.stdout)")
        #expect(summary["throttled"]?.int64 == 5)
        #expect(Double(summary["rate_429"]?.text ?? "") == 1 / Double(every), "\(r.stdout)")
        let latency = try #require(summary["latency_ms"]?.objectValue)
        let p = ["min", "p50", "p95", "p99", "max"].map { Double(latency[$0]?.text ?? "") ?? -1 }
        #expect(p.allSatisfy { $0 >= 0 } && p == p.sorted(), "percentiles out of order: \(p)")
        let probes = doc["probes"]?.arrayValue ?? []
        #expect(probes.count == 20)
        #expect(probes.map { $0["status"]?.int64 ?? 0 } == (1...20).map { $0 % every == 0 ? 429 : 200 })
        #expect(sim.azure.requestCount(.dataPlane) == 20, "a soak must not retry")
        // All 20 stored in one series; one search document per failing class.
        let q = try cli.run(["query", "--sql", "SELECT count(*), count(DISTINCT series_id), sum(status = 429), max(seq) FROM probes", "--format", "csv"])
        #expect(q.stdout.contains("20,1,5,20"), "\(q.stdout)")
        let docs = try cli.run(["query", "--sql", "SELECT count(*) FROM search_docs WHERE kind = 'probe'", "--format", "csv"])
        #expect(docs.stdout.hasSuffix("\r\n1\r\n"), "\(docs.stdout)")

        // The table form: every request with --verbose, then the summary line and the class.
        let t = try cli.run(sim.args(["--repeat", "8", "--interval", "10ms", "--verbose"]), env: sim.keyEnv())
        #expect(t.status == 3, "\(t.stderr)")
        let lines = t.stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("  #") }.count == 8, "\(t.stdout)")
        #expect(lines.contains { $0.hasPrefix("requests 8 (6 × 200, 2 × 429); latency p50 ") && $0.contains(" p95 ") && $0.contains(" p99 ") && $0.hasSuffix("; 429 rate 25.0 % (2/8)") }, "\(t.stdout)")
        #expect(lines.contains { $0.hasPrefix("throttled (2): HTTP 429") }, "\(t.stdout)")
        #expect(lines.last?.hasPrefix("stored: 8 probes, series ") == true, "\(t.stdout)")
    }

    // MARK: - Secrets, storage, correlation

    @Test func theKeyNeverReachesOutputOrDatabase() throws {
        let sim = try ProbeSim { $0.dataPlaneThrottleEvery = 3 }
        let cli = CLI()
        var outputs: [String] = []
        for args in [
            sim.args([]), sim.args(["--format", "json"]), sim.args(["--repeat", "5", "--interval", "10ms", "--verbose"]),
            sim.args(["--format", "json"], deployment: "missing"),
        ] {
            let r = try cli.run(args, env: sim.keyEnv())
            #expect(r.status == 0 || r.status == 3, "\(args): \(r.stderr)")
            outputs += [r.stdout, r.stderr]
        }
        #expect(sim.azure.setAccountProperty(resourceID: ProbeSim.account, disableLocalAuth: true))
        let disabled = try cli.run(sim.args([]), env: sim.keyEnv())
        outputs += [disabled.stdout, disabled.stderr]
        let rotated = sim.azure.regenerateKey(account: ProbeSim.account) ?? ""
        #expect(sim.azure.setAccountProperty(resourceID: ProbeSim.account, disableLocalAuth: false))
        let invalid = try cli.run(sim.args(["--format", "json"]), env: sim.keyEnv())
        #expect(invalid.status == 3 && invalid.stdout.contains("invalid_key_or_endpoint"), "\(invalid.stdout)")
        outputs += [invalid.stdout, invalid.stderr]
        for args in [["query", "probes", "--format", "json"], ["search", "probe"], ["query", "--sql", "SELECT * FROM probes", "--format", "csv"]] {
            let r = try cli.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            outputs += [r.stdout, r.stderr]
        }
        // The probes dataset: one row per probe with its class and fix, and no key.
        let out = TestSupport.makeTempDirectory("probe-export").path
        let tomorrow = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400)).prefix(10))
        let export = try cli.run(["export", "--dataset", "probes", "--since", "1d", "--until", tomorrow, "--out", out])
        #expect(export.status == 0, "\(export.stdout)\n\(export.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".csv.gz") }
        #expect(files.count == 1 && files.first?.hasPrefix("probes_") == true, "\(files)")
        let csv = try TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(out)/\(files.first ?? "-")'"]).stdout
        let lines = csv.split(separator: "\r\n")
        #expect(lines.first == "time,resource_id,endpoint_host,deployment,api_version,auth,principal_id,status,class,error_code,detail,fix,latency_ms,region,apim_request_id,client_request_id,ratelimit_remaining_requests,ratelimit_remaining_tokens,retry_after_s,series_id,seq", "\(csv)")
        #expect(lines.count >= 4 && csv.contains(",key_auth_disabled,") && csv.contains(",invalid_key_or_endpoint,"), "\(csv)")
        outputs += [export.stdout, export.stderr, csv]
        #expect(outputs.contains { $0.contains("AuthenticationTypeDisabled") }, "the outputs should hold real content")
        ProbeSim.expectNoSecret([ProbeSim.key1, rotated], in: outputs, cli: cli)
    }

    @Test func aFailingProbeIsSearchableAndConfirmsTheBurstOfItsResource() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        // 50 key callers' 403s over the last 20 minutes: correlate finds an auth_type_disabled burst.
        let file = try cli.write(ProbeSim.failures(count: 50, status: 403, endingMinutesAgo: 10), "failures.json")
        let imp = try cli.run(["import", file])
        #expect(imp.status == 0, "\(imp.stdout)\n\(imp.stderr)")
        let cor = try cli.run(["correlate", "--since", "2h", "--format", "json"])
        #expect(cor.status == 0, "\(cor.stdout)\n\(cor.stderr)")
        let burst = try #require(try JSONParser.parse(cor.stdout)["bursts"]?.arrayValue?.first, "no burst: \(cor.stdout)")
        #expect(burst["signature"]?.text == "auth_type_disabled", "\(cor.stdout)")

        #expect(sim.azure.setAccountProperty(resourceID: ProbeSim.accountID, disableLocalAuth: true))
        // The account name is resolved to the id the store knows.
        let r = try cli.run(sim.args(["--format", "json"], resource: ProbeSim.account), env: sim.keyEnv())
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(try ProbeSim.json(r)["resource_id"]?.text == ProbeSim.accountID.lowercased(), "\(r.stdout)")

        let s = try cli.run(["search", "AuthenticationTypeDisabled", "--format", "json"])
        #expect(s.status == 0, "\(s.stderr)")
        let hits = try JSONParser.parse(s.stdout)["rows"]?.arrayValue ?? []
        #expect(hits.contains { $0["kind"]?.text == "probe" && $0["resource"]?.text == ProbeSim.account }, "\(s.stdout)")
        let scoped = try cli.run(["search", "probe", "--resource", ProbeSim.account, "--format", "csv"])
        #expect(scoped.stdout.contains(",probe,"), "\(scoped.stdout)")
        // The account name finds its failed requests and the probe; --kind probe keeps the probe.
        func kinds(_ args: [String]) throws -> Set<String> {
            let r = try cli.run(["search", ProbeSim.account, "--format", "json"] + args)
            #expect(r.status == 0, "\(r.stderr)")
            return Set((try JSONParser.parse(r.stdout)["rows"]?.arrayValue ?? []).compactMap { $0["kind"]?.text })
        }
        #expect(try kinds(["--limit", "100"]).isSuperset(of: ["probe", "request"]))
        #expect(try kinds(["--kind", "probe"]) == ["probe"])

        let q = try cli.run(["query", "probes", "--param", "resource=\(ProbeSim.account)", "--format", "json"])
        #expect(q.status == 0, "\(q.stderr)")
        let row = try #require(try JSONParser.parse(q.stdout)["rows"]?.arrayValue?.first, "\(q.stdout)")
        #expect(row["class"]?.text == "key_auth_disabled")
        #expect(row["burst_id"]?.int64 != nil && row["burst_signature"]?.text == "auth_type_disabled", "\(q.stdout)")
        #expect(row["verdict"]?.text == "confirms", "\(q.stdout)")
        #expect(row["burst_start"]?.text?.prefix(19) == burst["start"]?.text?.prefix(19), "\(q.stdout)")
        // correlate itself cites the probe as confirming the burst (without changing its cause).
        let cited = try cli.run(["correlate", "--since", "2h", "--format", "json"])
        let citedBurst = try #require(try JSONParser.parse(cited.stdout)["bursts"]?.arrayValue?.first, "\(cited.stdout)")
        #expect(citedBurst["probe"]?["class"]?.text == "key_auth_disabled" && citedBurst["probe"]?["verdict"]?.text == "confirms", "\(cited.stdout)")
        #expect(citedBurst["top_cause"]?["kind"]?.text == burst["top_cause"]?["kind"]?.text)
        let text = try cli.run(["correlate", "--since", "2h"])
        #expect(text.stdout.contains("probe: ") && text.stdout.contains("key_auth_disabled (HTTP 403) — confirms"), "\(text.stdout)")

        // A probe that works during the burst says the failure is not reproduced with its credential.
        #expect(sim.azure.setAccountProperty(resourceID: ProbeSim.accountID, disableLocalAuth: false))
        let ok = try cli.run(sim.args([], resource: ProbeSim.account), env: sim.keyEnv())
        #expect(ok.status == 0, "\(ok.stdout)\n\(ok.stderr)")
        let verdicts = try cli.run(["query", "probes", "--format", "csv"])
        #expect(verdicts.stdout.contains("not_reproduced") && verdicts.stdout.contains("confirms"), "\(verdicts.stdout)")
    }

    // MARK: - Could not run

    @Test func withoutAKeyOrAReachableEndpointItExits1AndBadOptionsExit64() throws {
        let sim = try ProbeSim()
        let cli = CLI()
        let noKey = try cli.run(sim.args([]), env: ["AZURE_OPENAI_API_KEY": ""])
        #expect(noKey.status == 1, "\(noKey.stdout)\n\(noKey.stderr)")
        #expect(noKey.stderr.contains("AZURE_OPENAI_API_KEY is not set"), "\(noKey.stderr)")
        let otherVar = try cli.run(sim.args(["--key-env", "MY_AOAI_KEY"]), env: ["MY_AOAI_KEY": ProbeSim.key1, "AZURE_OPENAI_API_KEY": ""])
        #expect(otherVar.status == 0, "\(otherVar.stdout)\n\(otherVar.stderr)")

        let closed = "http://127.0.0.1:\(E2E.closedPort())"
        let down = try cli.run(["probe", "--endpoint", closed, "--deployment", "gpt-4o"], env: sim.keyEnv())
        #expect(down.status == 1, "\(down.stdout)\n\(down.stderr)")
        #expect(down.stderr.contains("127.0.0.1") && !down.stderr.contains(ProbeSim.key1), "\(down.stderr)")

        let noCredentials = try cli.run(sim.args(["--entra"]), env: ["AZURE_TENANT_ID": "", "AZURE_CLIENT_ID": "", "AZURE_CLIENT_SECRET": "",
                                                                     "AZURE_FEDERATED_TOKEN_FILE": "", "PATH": "/nonexistent"])
        #expect(noCredentials.status == 1, "\(noCredentials.stdout)\n\(noCredentials.stderr)")
        #expect(noCredentials.stderr.contains("no credentials found"), "\(noCredentials.stderr)")
        #expect(sim.azure.requestCount(.dataPlane) == 1, "only the --key-env probe reached the data plane")

        for bad in [["--entra", "--key-env", "X"], ["--repeat", "0"], ["--repeat", "1001"], ["--interval", "2h"], ["--repeat", "1000", "--interval", "10s"]] {
            let r = try cli.run(sim.args(bad), env: sim.keyEnv())
            #expect(r.status == 64, "\(bad): \(r.status) \(r.stderr)")
        }
        let plain = try cli.run(["probe", "--endpoint", "http://aoai.openai.azure.com", "--deployment", "gpt-4o"], env: sim.keyEnv())
        #expect(plain.status == 64 && plain.stderr.contains("plain http is only allowed to loopback"), "\(plain.stderr)")
        let none = try cli.run(["query", "--sql", "SELECT count(*) FROM probes", "--format", "csv"])
        #expect(none.stdout.hasSuffix("\r\n1\r\n"), "only the answered probe is stored: \(none.stdout)")
    }
}

/// The simulator with one Azure OpenAI account (`aoai-probe`, deployment `gpt-4o`, East US,
/// known keys) on a loopback port; tokens it hands out are recorded.
final class ProbeSim {
    static let account = "aoai-probe"
    static let accountID = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-probe"
    static let key1 = "pr0beK3yS3cret0a1b2c3d4e5f6a7b8c"
    static let key2 = "pr0beK3yS3cret1f0e9d8c7b6a5f4e3d"
    static let clientSecret = "probe-Cl13nt-S3cret-4c2d"

    let azure: SimAzure
    let server: SimHTTPServer
    let tokens = TokenRecorder()

    init(_ change: (inout SimAzureOptions) -> Void = { _ in }) throws {
        var o = SimAzureOptions()
        o.clientSecret = Self.clientSecret
        o.accountKeys = [Self.account: [Self.key1, Self.key2]]
        change(&o)
        let azure = SimAzure(options: o)
        azure.addAccount(resourceID: Self.accountID, location: "eastus", deployments: ["gpt-4o": "gpt-4o"])
        self.azure = azure
        server = try tokens.serving(azure)
    }

    deinit { server.stop() }

    func args(_ extra: [String], deployment: String = "gpt-4o", resource: String = ProbeSim.accountID) -> [String] {
        ["probe", "--endpoint", server.baseURL, "--deployment", deployment, "--resource", resource] + extra
    }

    func keyEnv(_ key: String = ProbeSim.key1) -> [String: String] {
        ["AZURE_OPENAI_API_KEY": key, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"]
    }

    func entraEnv() -> [String: String] {
        let o = azure.options
        return ["AZURE_TENANT_ID": o.tenant, "AZURE_CLIENT_ID": o.clientID, "AZURE_CLIENT_SECRET": Self.clientSecret,
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"]
    }

    func config(auth: String? = nil) -> String {
        "cloud:\n  login: \(server.baseURL)\n" + (auth.map { "auth: \($0)\n" } ?? "")
    }

    /// Cognitive Services OpenAI User for the configured client on the account; its id.
    @discardableResult
    func grantDataPlaneRole() -> String? {
        azure.addRoleAssignment(scope: Self.accountID, role: "Cognitive Services OpenAI User", principalID: azure.options.clientObjectID)
    }

    static func json(_ r: TestSupport.ProcessResult) throws -> JSONValue {
        let v = try JSONParser.parse(r.stdout)
        #expect(v["schema_version"]?.int64 == 1)
        return v
    }

    /// RequestResponse records of one key caller failing with `status`, 5 a minute, the last
    /// one `endingMinutesAgo` minutes ago.
    static func failures(count: Int, status: Int, endingMinutesAgo: Int) -> String {
        let end = Timestamp.minuteFloor(TimeArgument.nowMicros()) - Int64(endingMinutesAgo) * Timestamp.microsPerMinute
        let start = end - Int64((count - 1) / 5) * Timestamp.microsPerMinute
        let resource = accountID.uppercased()
        return (0..<count).map { i in
            let t = start + Int64(i / 5) * Timestamp.microsPerMinute + Int64(i % 5) * 7 * Timestamp.microsPerSecond
            let props = #"{"apiName":"Azure OpenAI API version 2024-10-21","requestLength":412,"responseLength":224,"objectId":"","streamType":"Non-Streaming","modelDeploymentName":"gpt-4o","modelName":"gpt-4o","modelVersion":"2024-08-06"}"#
            return #"{"Tenant":"eastus","callerIpAddress":"198.51.100.***","category":"RequestResponse","correlationId":"7e1d2c3b-5a69-4788-9a0b-\#(String(format: "%012d", i))","durationMs":3,"event":"ShoeboxCallResult","location":"eastus","operationName":"ChatCompletions_Create","properties":\#(props),"resourceId":"\#(resource)","resultSignature":"\#(status)","time":"\#(Timestamp.iso(t))"}"#
        }.joined(separator: "\n") + "\n"
    }

    /// None of `secrets` in the texts, nor in any file of the CLI's folder (database, WAL).
    static func expectNoSecret(_ secrets: [String], in texts: [String], cli: CLI, sourceLocation: SourceLocation = #_sourceLocation) {
        var haystacks = texts.enumerated().map { ("output \($0.offset)", $0.element) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: cli.dir.path)) ?? [] {
            let path = cli.dir.appendingPathComponent(name).path
            if let data = FileManager.default.contents(atPath: path) { haystacks.append((name, String(decoding: data, as: UTF8.self))) }
        }
        #expect(haystacks.contains { $0.0 == "audit.db" }, sourceLocation: sourceLocation)
        for secret in secrets where !secret.isEmpty {
            for (place, text) in haystacks where text.contains(secret) {
                Issue.record("a secret (\(secret.prefix(4))…) found in \(place)", sourceLocation: sourceLocation)
            }
            if let signature = secret.split(separator: ".").last, secret.split(separator: ".").count == 3, signature.count >= 16 {
                for (place, text) in haystacks where text.contains(signature) {
                    Issue.record("a token signature found in \(place)", sourceLocation: sourceLocation)
                }
            }
        }
    }
}
