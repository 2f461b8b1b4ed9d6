import AuditCore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// `aoai-audit doctor` end to end: the built CLI against the Azure simulator on a loopback port
/// in this process (the `E2E` helpers of CollectEndToEndTests), over the small planted scenarios.
@Suite(.serialized) struct DoctorCLITests {
    /// Every source type, pointed at the simulator.
    static func allSources(_ sim: E2ESim, _ scenario: E2EScenario) throws -> [String] {
        let repos = try FileManager.default.contentsOfDirectory(atPath: scenario.dir + "/repos").sorted().prefix(2).map { scenario.dir + "/repos/" + $0 }
        return [
            E2E.activity(scenario.subscriptions),
            E2E.blobs(sim, "blobs-bearer", account: "e2ebearer"),
            E2E.blobs(sim, "blobs-sas", account: "e2esas", sasEnv: "AOAI_AUDIT_SAS"),
            E2E.feed(sim),
            E2E.rbac(scenario.subscriptions),
            E2E.logAnalytics(),
            "  - name: apps\n    type: sdk-versions\n    repos: [\(repos.joined(separator: ", "))]\n",
        ]
    }

    /// The lines of the table that start with `label` (`ok`, `WARN`, `FAIL`).
    static func lines(_ text: String, _ label: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(label + " ") }
    }

    /// No secret, SAS signature or token in any of `texts`.
    static func expectNoSecrets(_ texts: [String], sim: E2ESim, also: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        var needles = [E2E.secret, E2E.sasSignature, E2E.sasSignatureEncoded, E2E.sasSignatureCore, "eyJ"] + also
        for t in sim.tokens.all {
            needles.append(t)
            if let signature = t.split(separator: ".").last, signature.count >= 16 { needles.append(String(signature)) }
        }
        for text in texts {
            for needle in needles where text.contains(needle) {
                Issue.record("a secret or token (\(needle.prefix(6))…) is in the output", sourceLocation: sourceLocation)
            }
            #expect(!text.contains("Fatal error") && !text.contains(".swift:"), "\(text)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - All ok

    @Test func everyCheckIsOkAgainstTheSimulatorWithTheRightIdentity() throws {
        let scenario = try E2E.live.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: try Self.allSources(sim, scenario)), "aoai-audit.yaml")
        let env = E2E.env(sim)
        let collect = try cli.run(["collect", "--config", config], env: env)
        #expect(collect.status == 0, "\(collect.stdout)\n\(collect.stderr)")

        let r = try cli.run(["doctor", "--config", config], env: env)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(Self.lines(r.stdout, "WARN").isEmpty && Self.lines(r.stdout, "FAIL").isEmpty, "\(r.stdout)")
        #expect(!r.stdout.contains("fix:"), "\(r.stdout)")
        let checks = Set(Self.lines(r.stdout, "ok").compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) })
        #expect(checks == ["config", "credentials", "endpoint", "permissions", "database", "source", "disk"], "\(checks)\n\(r.stdout)")
        // One finding per token scope, per subscription and action set, per blob source, …
        for needle in [
            "ARM token", "storage token", "Log Analytics token", "object id \(sim.azure.options.clientObjectID)",
            "Microsoft.Insights/eventtypes/values/read granted on /subscriptions/\(scenario.subscriptions[0])",
            "Microsoft.Authorization/roleAssignments/read, Microsoft.CognitiveServices/accounts/read granted",
            "source 'blobs-bearer'", "the SAS in AOAI_AUDIT_SAS may list container", "`print 1`", "source 'apps'", "integrity_check ok",
            "search index (FTS5): integrity-check ok", "file mode 0600", "schema version",
        ] {
            #expect(r.stdout.contains(needle), "missing '\(needle)' in:\n\(r.stdout)")
        }
        #expect(r.stdout.hasSuffix("0 warnings, 0 failed\n"), "\(r.stdout)")

        let json = try cli.run(["doctor", "--config", config, "--format", "json"], env: env)
        #expect(json.status == 0, "\(json.stdout)\n\(json.stderr)")
        let doc = try JSONParser.parse(json.stdout)
        #expect(doc["schema_version"]?.int64 == 1 && doc["worst"]?.text == "ok", "\(json.stdout)")
        let findings = doc["findings"]?.arrayValue ?? []
        #expect(findings.count == Self.lines(r.stdout, "ok").count, "\(json.stdout)")
        for f in findings {
            #expect(f["status"]?.text == "ok" && f["fix"]?.isNull == true && f["check"]?.text != nil && f["detail"]?.text != nil, "\(f)")
        }
        Self.expectNoSecrets([collect.stdout, collect.stderr, r.stdout, r.stderr, json.stdout, json.stderr], sim: sim)
        #expect(sim.tokens.all.count >= 3)
    }

    // MARK: - Config

    @Test func aConfigErrorFailsNamingTheFileAndLine() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let cli = CLI()
        // A key of the wrong type's vocabulary (line 9), found by the collector registry.
        let text = E2E.config(sim, sources: [E2E.feed(sim), "  - name: blobs\n    type: diagnostics-blobs\n    acount_url: \(sim.baseURL)/x\n"])
        let config = try cli.write(text, "aoai-audit.yaml")
        let line = (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("acount_url") } ?? -2) + 1
        let r = try cli.run(["doctor", "--config", config], env: E2E.env(sim))
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let fails = Self.lines(r.stdout, "FAIL")
        #expect(fails.contains { $0.contains("config") && $0.contains("aoai-audit.yaml:\(line):") && $0.contains("did you mean 'account_url'") }, "\(r.stdout)")
        #expect(r.stdout.contains("fix: edit \(config) at line \(line)"), "\(r.stdout)")
        // The valid source is still checked.
        #expect(r.stdout.contains("source 'feed'"), "\(r.stdout)")

        // A YAML-level error: the loader's own file:line.
        let broken = try cli.write("sources:\n  - name: a\n    type: status-feed\n  url: [unclosed\n", "broken.yaml")
        let b = try cli.run(["doctor", "--config", broken, "--format", "json"], env: E2E.env(sim))
        #expect(b.status == 1, "\(b.stdout)\n\(b.stderr)")
        let doc = try JSONParser.parse(b.stdout)
        #expect(doc["worst"]?.text == "fail")
        let first = doc["findings"]?.arrayValue?.first
        #expect(first?["check"]?.text == "config" && first?["status"]?.text == "fail", "\(b.stdout)")
        #expect(first?["detail"]?.text?.contains("broken.yaml:") == true && first?["fix"]?.text?.contains("at line") == true, "\(b.stdout)")
    }

    // MARK: - Credentials

    @Test func aWrongSecretFailsTheCredentialNamingAADSTS7000215() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [E2E.activity(scenario.subscriptions), E2E.blobs(sim, "blobs", account: "e2ebearer"), E2E.logAnalytics(), E2E.feed(sim)]),
                                   "aoai-audit.yaml")
        let wrong = "d0ct0r-Wr0ng-S3cret-58a1"
        let r = try cli.run(["doctor", "--config", config], env: E2E.env(sim, secret: wrong))
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let fails = Self.lines(r.stdout, "FAIL")
        // One finding for the one refusal, naming every scope it blocks.
        #expect(fails.count == 1, "\(r.stdout)")
        let line = fails.first ?? ""
        #expect(line.contains("credentials") && line.contains("AADSTS7000215") && line.contains(sim.azure.options.clientID), "\(line)")
        #expect(line.contains("ARM") && line.contains("storage") && line.contains("Log Analytics"), "\(line)")
        #expect(r.stdout.contains("fix: check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"), "\(r.stdout)")
        // Permissions that need the token are not checked; the feed still is.
        #expect(Self.lines(r.stdout, "WARN").filter { $0.contains("not checked: no") }.count == 3, "\(r.stdout)")
        #expect(Self.lines(r.stdout, "ok").contains { $0.contains("source 'feed'") }, "\(r.stdout)")
        #expect(sim.tokens.all.isEmpty)
        Self.expectNoSecrets([r.stdout, r.stderr], sim: sim, also: [wrong])
    }

    // MARK: - Permissions

    @Test func aSubscriptionWithoutReaderFailsNamingTheActivityLogPermission() throws {
        let scenario = try E2E.past.get()
        let (allowed, bare) = (scenario.subscriptions[0], scenario.subscriptions[1])
        let sim = try E2ESim(scenario: scenario.dir)
        let client = sim.azure.options.clientObjectID
        let readers = sim.azure.roleAssignments(scope: "/subscriptions/\(bare)").filter {
            $0.principalID.lowercased() == client.lowercased() && $0.scope.lowercased() == "/subscriptions/\(bare)"
        }
        #expect(!readers.isEmpty, "the simulator should grant the client Reader on \(bare)")
        for a in readers { sim.azure.removeRoleAssignment(id: a.id) }
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [E2E.activity([allowed, bare]), E2E.rbac([allowed, bare])]), "aoai-audit.yaml")
        let r = try cli.run(["doctor", "--config", config], env: E2E.env(sim))
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let fails = Self.lines(r.stdout, "FAIL")
        #expect(fails.contains {
            $0.contains("permissions") && $0.contains("source 'activity'") && $0.contains("Microsoft.Insights/eventtypes/values/read") && $0.contains("/subscriptions/\(bare)")
        }, "\(r.stdout)")
        #expect(fails.contains { $0.contains("source 'rbac'") && $0.contains("Microsoft.Authorization/roleAssignments/read") && $0.contains(bare) }, "\(r.stdout)")
        #expect(!fails.contains { $0.contains(allowed) }, "\(r.stdout)")
        #expect(Self.lines(r.stdout, "ok").contains { $0.contains("Microsoft.Insights/eventtypes/values/read granted on /subscriptions/\(allowed)") }, "\(r.stdout)")
        #expect(r.stdout.contains("--role \"Monitoring Reader\" --scope /subscriptions/\(bare)"), "\(r.stdout)")
        Self.expectNoSecrets([r.stdout, r.stderr], sim: sim)

        // The simulator's Activity Log 403 knob agrees: notActions take the action away.
        let denied = try E2ESim(scenario: scenario.dir) { $0.activityForbidden = [allowed] }
        let config2 = try cli.write(E2E.config(denied, sources: [E2E.activity([allowed])]), "denied.yaml")
        let d = try cli.run(["doctor", "--config", config2], env: E2E.env(denied))
        #expect(d.status == 1 && Self.lines(d.stdout, "FAIL").contains { $0.contains("lacks Microsoft.Insights/eventtypes/values/read on /subscriptions/\(allowed)") },
                "\(d.stdout)\n\(d.stderr)")
    }

    // MARK: - Endpoints

    @Test func anUnreachableHostFailsNamingTheHost() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let port = E2E.closedPort()
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, arm: "http://127.0.0.1:\(port)", sources: [E2E.activity(scenario.subscriptions), E2E.feed(sim)]),
                                   "aoai-audit.yaml")
        let started = Date()
        let r = try cli.run(["doctor", "--config", config], env: E2E.env(sim))
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let fails = Self.lines(r.stdout, "FAIL")
        #expect(fails.count == 1 && fails[0].contains("endpoint") && fails[0].contains("127.0.0.1:\(port)") && fails[0].contains("ARM: activity"), "\(r.stdout)")
        #expect(Self.lines(r.stdout, "WARN").contains { $0.contains("source 'activity'") && $0.contains("not checked") }, "\(r.stdout)")
        #expect(Self.lines(r.stdout, "ok").contains { $0.contains("endpoint") && $0.contains(sim.baseURL) }, "\(r.stdout)")
        #expect(elapsed < 60, "doctor took \(elapsed) s against a closed port")
        Self.expectNoSecrets([r.stdout, r.stderr], sim: sim)
    }

    // MARK: - Database

    @Test func aDamagedDatabaseFailsTheDatabaseCheck() throws {
        let cli = CLI()
        // Enough failing requests that SQLite checkpoints its WAL into the database file during
        // the import: the file alone then holds the tables (the CLI leaves the last WAL frames
        // in place, and a damaged copy must be damaged where the data is).
        let lines = (0..<12_000).map { Samples.request($0, status: 401, minute: $0 % 10) }
        let input = try cli.write(lines.joined(separator: "\n") + "\n", "requests.json")
        let load = try cli.run(["import", input])
        #expect(load.status == 0, "\(load.stdout)\n\(load.stderr)")
        let healthy = try cli.run(["doctor"])
        // No config: a warning for it, the database itself is fine.
        #expect(healthy.status == 3, "\(healthy.stdout)\n\(healthy.stderr)")
        #expect(Self.lines(healthy.stdout, "WARN").count == 1 && Self.lines(healthy.stdout, "WARN")[0].contains("config"), "\(healthy.stdout)")
        #expect(healthy.stdout.contains("integrity_check ok") && healthy.stdout.contains("integrity-check ok"), "\(healthy.stdout)")

        let bytes = try Data(contentsOf: URL(fileURLWithPath: cli.db))
        #expect(bytes.count >= 256 * 4096, "the database file is smaller than expected (no checkpoint?): \(bytes.count)")
        // Truncated to half.
        let truncated = cli.dir.appendingPathComponent("truncated.db")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        // Pages overwritten past the header page.
        var garbled = bytes
        for i in stride(from: 4096, to: garbled.count, by: 4096) {
            for j in i..<min(i + 64, garbled.count) { garbled[j] = 0xA5 }
        }
        let corrupt = cli.dir.appendingPathComponent("garbled.db")
        try garbled.write(to: corrupt)
        // Not a database at all.
        let junk = cli.dir.appendingPathComponent("junk.db")
        try Data("this is not sqlite, just text that is long enough".utf8).write(to: junk)
        for damaged in [truncated, corrupt, junk] {
            let r = try TestSupport.cli(["doctor", "--db", damaged.path], cwd: cli.dir.path)
            #expect(r.status == 1, "\(damaged.lastPathComponent): \(r.stdout)\n\(r.stderr)")
            #expect(Self.lines(r.stdout, "FAIL").contains { $0.contains("database") && $0.contains(damaged.path) }, "\(damaged.lastPathComponent): \(r.stdout)")
            #expect(r.stdout.contains("fix: restore"), "\(damaged.lastPathComponent): \(r.stdout)")
            // Doctor never writes: the damaged file is as it was.
            #expect(try Data(contentsOf: damaged) == (damaged == truncated ? bytes.prefix(bytes.count / 2) : damaged == corrupt ? garbled : Data("this is not sqlite, just text that is long enough".utf8)))
        }

        // A world-readable database is a warning naming chmod.
        chmod(cli.db, 0o644)
        let open = try cli.run(["doctor"])
        #expect(Self.lines(open.stdout, "WARN").contains { $0.contains("mode 0644") }, "\(open.stdout)")
        #expect(open.stdout.contains("fix: chmod 600 \(cli.db)"), "\(open.stdout)")
    }
}
