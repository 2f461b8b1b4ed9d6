import AuditCore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// `aoai-audit collect` end to end: the built CLI as a subprocess, against the Azure simulator
/// (token endpoint, ARM, Blob service, Log Analytics, status feeds) on a loopback port in this
/// process, over small planted scenarios.
@Suite(.serialized) struct CollectEndToEndTests {
    // MARK: - 1. Secrets never written

    @Test func secretsAndTokensNeverReachTheDatabaseOrTheOutput() throws {
        let scenario = try E2E.past.get()
        let denied = "00000000-e2e0-4000-8000-000000000403"
        let sim = try E2ESim(scenario: scenario.dir) { $0.activityForbidden = [denied] }
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [
            E2E.activity(scenario.subscriptions),
            E2E.blobs(sim, "blobs-sas", account: "e2esas", sasEnv: "AOAI_AUDIT_SAS"),
            E2E.blobs(sim, "blobs-bearer", account: "e2ebearer"),
            E2E.feed(sim),
            E2E.rbac(scenario.subscriptions),
            E2E.logAnalytics(),
            // Error paths: a 403 from ARM and a SAS whose signature the storage account refuses.
            E2E.activity([denied], name: "activity-denied"),
            E2E.blobs(sim, "blobs-badsas", account: "e2ebad", sasEnv: "AOAI_AUDIT_BAD_SAS"),
        ]), "aoai-audit.yaml")
        let badSignature = "wR0ngE2Esig+Q4/zz="
        var env = E2E.env(sim)
        env["AOAI_AUDIT_BAD_SAS"] = E2E.sasValue(signature: badSignature)

        var runs: [(String, TestSupport.ProcessResult)] = []
        let first = try cli.run(["collect", "--config", config, "--since", "3d"], env: env)
        runs.append(("collect", first))
        #expect(first.status == 3, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("2 failed (activity-denied, blobs-badsas)"), "\(first.stdout)")
        let verbose = try cli.run(["collect", "--config", config, "--verbose"], env: env)
        runs.append(("collect --verbose", verbose))
        #expect(verbose.status == 3, "\(verbose.stdout)\n\(verbose.stderr)")
        #expect(verbose.stderr.split(separator: "\n").count > 2, "--verbose printed no diagnostics: \(verbose.stderr)")
        let json = try cli.run(["collect", "--config", config, "--format", "json"], env: env)
        runs.append(("collect --format json", json))
        for args in [
            ["status", "--config", config], ["status", "--config", config, "--format", "json"],
            ["query", "--sql", "SELECT * FROM sources", "--format", "json"],
            ["query", "--sql", "SELECT source, key, value FROM checkpoints", "--format", "csv"],
            ["query", "--sql", "SELECT * FROM runs", "--format", "csv"],
            ["query", "failures_by_caller", "--format", "csv"],
            ["search", "ChatCompletions"],
        ] {
            let r = try cli.run(args, env: env)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            runs.append((args.joined(separator: " "), r))
        }
        #expect(runs.last?.1.stdout.isEmpty == false, "search found nothing")

        // The sources did their work (the grep below must look at real data). Log Analytics
        // counts successes per minute, so they add to what the blobs loaded.
        let counts = try cli.counts()
        #expect((counts["requests"] ?? 0) >= Int64(scenario.records), "\(counts)")
        #expect(counts["activity"] == Int64(scenario.activity), "\(counts)")
        #expect((counts["vendor_incidents"] ?? 0) > 0, "\(counts)")
        let tokens = sim.tokens.all
        #expect(tokens.count >= 3, "expected ARM, storage and Log Analytics tokens, saw \(tokens.count)")
        #expect(tokens.count == sim.azure.issuedTokenCount, "a token was issued that the recorder did not see")

        var haystacks: [(String, String)] = runs.flatMap { [($0.0 + " stdout", $0.1.stdout), ($0.0 + " stderr", $0.1.stderr)] }
        for name in try FileManager.default.contentsOfDirectory(atPath: cli.dir.path) where !name.hasSuffix(".yaml") {
            var isDir: ObjCBool = false
            let path = cli.dir.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            haystacks.append((name, String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)))
        }
        #expect(haystacks.contains { $0.0 == "audit.db" })
        var needles: [(String, String)] = [
            ("client secret", E2E.secret), ("SAS signature", E2E.sasSignature), ("SAS signature (encoded)", E2E.sasSignatureEncoded),
            ("SAS signature (core)", E2E.sasSignatureCore), ("bad SAS signature", badSignature),
            ("bad SAS signature (encoded)", E2E.encode(badSignature)), ("bad SAS signature (core)", "wR0ngE2Esig"),
        ]
        for (i, t) in tokens.enumerated() {
            needles.append(("token \(i)", t))
            if let signature = t.split(separator: ".").last, signature.count >= 16 { needles.append(("token \(i) signature", String(signature))) }
        }
        for (what, needle) in needles {
            for (place, text) in haystacks where text.contains(needle) {
                Issue.record("\(what) found in \(place)")
            }
        }
    }

    // MARK: - 2. Wrong client secret

    @Test func aWrongClientSecretFailsEachTokenSourceWithOneLineNamingAADSTS7000215() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [
            E2E.activity(scenario.subscriptions),
            E2E.blobs(sim, "blobs-bearer", account: "e2ebearer"),
            E2E.blobs(sim, "blobs-sas", account: "e2esas", sasEnv: "AOAI_AUDIT_SAS"),
            E2E.rbac(scenario.subscriptions),
            E2E.logAnalytics(),
            E2E.feed(sim),
        ]), "aoai-audit.yaml")
        let wrong = "e2e-Wr0ng-S3cret-11d0e5"
        let r = try cli.run(["collect", "--config", config, "--since", "3d"], env: E2E.env(sim, secret: wrong))
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let failing = ["activity", "blobs-bearer", "rbac", "la"]
        #expect(lines.count == failing.count, "\(r.stderr)")
        for name in failing {
            let mine = lines.filter { $0.hasPrefix("error: source '\(name)': ") }
            #expect(mine.count == 1, "\(name): \(r.stderr)")
            let line = mine.first ?? ""
            #expect(line.contains("AADSTS7000215") && line.contains("AZURE_CLIENT_SECRET"), "\(line)")
            #expect(line.contains(sim.azure.options.clientID), "the line should name the client: \(line)")
        }
        for line in lines { #expect(line.hasPrefix("error: source '"), "unexpected stderr line: \(line)") }
        #expect(r.stdout.contains("4 failed (activity, blobs-bearer, rbac, la)"), "\(r.stdout)")
        // Sources that need no token still load.
        let counts = try cli.counts()
        #expect(counts["requests"] == Int64(scenario.records) && (counts["vendor_incidents"] ?? 0) > 0, "\(counts)")
        #expect(sim.tokens.all.isEmpty)
        #expect(sim.azure.requestCount(.token) >= 1)
        for text in [r.stdout, r.stderr] {
            #expect(!text.contains(wrong) && !text.contains(E2E.secret) && !text.contains("eyJ"))
            #expect(!text.contains("Stack") && !text.contains("Fatal error") && !text.contains(".swift:"))
        }
    }

    // MARK: - 3. ARM 403

    @Test func anActivityLog403FailsThatSourceOnlyAndNamesThePermission() throws {
        let scenario = try E2E.past.get()
        let (allowed, forbidden) = (scenario.subscriptions[0], scenario.subscriptions[1])
        let sim = try E2ESim(scenario: scenario.dir) { $0.activityForbidden = [forbidden] }
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [
            E2E.activity([allowed, forbidden]), E2E.blobs(sim, "blobs", account: "e2ebearer"), E2E.feed(sim),
        ]), "aoai-audit.yaml")
        let r = try cli.run(["collect", "--config", config], env: E2E.env(sim))
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(r.stderr)")
        let line = lines.first ?? ""
        #expect(line.hasPrefix("error: source 'activity': ") && line.contains("HTTP 403") && line.contains("AuthorizationFailed"), "\(line)")
        #expect(line.contains("Microsoft.Insights/eventtypes/values/read") && line.contains(forbidden), "\(line)")
        #expect(r.stdout.contains("collect: 3 sources, 1 failed (activity)"), "\(r.stdout)")

        // The other sources loaded everything; the allowed subscription's events are kept.
        let counts = try cli.counts()
        #expect(counts["requests"] == Int64(scenario.records), "\(counts)")
        #expect(counts["activity"] == Int64(scenario.activityBySubscription[allowed] ?? -1), "\(counts) vs \(scenario.activityBySubscription)")
        #expect((counts["vendor_incidents"] ?? 0) > 0, "\(counts)")
        let status = try JSONParser.parse(try cli.run(["status", "--config", config, "--format", "json"]).stdout)
        let sources = status["sources"]?.arrayValue ?? []
        for name in ["blobs", "feed"] {
            let s = sources.first { $0["name"]?.text == name }
            #expect(s?["last_error"]?.isNull == true && s?["last_success"]?.text != nil, "\(name): \(String(describing: s))")
        }
        let activity = sources.first { $0["name"]?.text == "activity" }
        #expect(activity?["last_error"]?.text?.contains("Microsoft.Insights/eventtypes/values/read") == true)
    }

    // MARK: - 4. Unreachable host

    @Test func anUnreachableARMHostFailsWithItsAddressInReasonableTime() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let port = E2E.closedPort()
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, arm: "http://127.0.0.1:\(port)", sources: [
            E2E.activity(scenario.subscriptions), E2E.feed(sim),
        ]), "aoai-audit.yaml")
        let started = Date()
        let r = try cli.run(["collect", "--config", config], env: E2E.env(sim))
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(r.stderr)")
        let line = lines.first ?? ""
        #expect(line.hasPrefix("error: source 'activity': ") && line.contains("127.0.0.1:\(port)"), "\(line)")
        #expect(!line.contains(E2E.secret) && !line.contains("eyJ"), "\(line)")
        for t in sim.tokens.all { #expect(!r.stdout.contains(t) && !r.stderr.contains(t)) }
        // Six attempts with full-jitter backoff (0.2 s doubling): a few seconds, not minutes.
        #expect(elapsed < 30, "collect took \(elapsed) s against a closed port")
        #expect(r.stdout.contains("collect: 2 sources, 1 failed (activity)"), "\(r.stdout)")
    }

    // MARK: - 5. kill -9 mid-run

    @Test func killDashNineMidCollectThenRerunEqualsACleanCollect() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir) { $0.slowSeconds = 0.2 }
        let cli = CLI()
        func sources(_ sim: E2ESim) -> [String] {
            [E2E.activity(scenario.subscriptions), E2E.blobs(sim, "blobs", account: "e2ebearer", concurrency: 1), E2E.feed(sim)]
        }
        let config = try cli.write(E2E.config(sim, sources: sources(sim)), "aoai-audit.yaml")
        let env = E2E.env(sim)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.cliPath)
        p.arguments = ["collect", "--db", cli.db, "--config", config]
        var processEnv = ProcessInfo.processInfo.environment
        processEnv["AOAI_AUDIT_DB"] = nil
        processEnv["AOAI_AUDIT_CONFIG"] = nil
        for (k, v) in env { processEnv[k] = v }
        p.environment = processEnv
        p.currentDirectoryURL = cli.dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until both sources have committed part of their work (a few blobs, a few Activity
        // Log slices), then kill without warning.
        let progress = "SELECT (SELECT count(*) FROM checkpoints WHERE source = 'blobs') || ' ' || (SELECT count(*) FROM checkpoints WHERE source = 'activity')"
        var committed = (blobs: 0, activity: 0)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, p.isRunning {
            let r = try? TestSupport.run("/usr/bin/env", ["sqlite3", "-cmd", ".timeout 2000", cli.db, progress])
            let n = (r?.stdout.trimmingSpaces ?? "").split(separator: " ").compactMap { Int($0) }
            if n.count == 2 { committed = (n[0], n[1]) }
            if committed.blobs >= 3 && committed.activity >= 2 { break }
            usleep(20_000)
        }
        let killedMidway = p.isRunning
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(killedMidway && committed.blobs >= 3 && committed.activity >= 2, "the collect finished before it could be killed (\(committed))")
        let partial = try cli.counts()
        #expect((partial["requests"] ?? 0) > 0 && (partial["requests"] ?? 0) < Int64(scenario.records), "\(partial)")

        sim.azure.updateOptions { $0.slowSeconds = nil }
        let again = try cli.run(["collect", "--config", config], env: env)
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        let recovered = try cli.counts()

        // The same scenario collected once, cleanly, from a fresh simulator.
        let referenceSim = try E2ESim(scenario: scenario.dir)
        let reference = CLI()
        let referenceConfig = try reference.write(E2E.config(referenceSim, sources: sources(referenceSim)), "aoai-audit.yaml")
        let clean = try reference.run(["collect", "--config", referenceConfig, "--format", "json"], env: E2E.env(referenceSim))
        #expect(clean.status == 0, "\(clean.stdout)\n\(clean.stderr)")
        // Each source read every record once: the summary's `records` counts them.
        let outcomes = try JSONParser.parse(clean.stdout)["sources"]?.arrayValue ?? []
        let read = Dictionary(uniqueKeysWithValues: outcomes.compactMap { o in o["name"]?.text.map { ($0, o["records"]?.int64 ?? -1) } })
        #expect(read["activity"] == Int64(scenario.activity) && read["blobs"] == Int64(scenario.records), "\(read)")
        let expected = try reference.counts()
        #expect(recovered == expected)
        #expect(expected["requests"] == Int64(scenario.records) && expected["activity"] == Int64(scenario.activity), "\(expected)")

        let third = try cli.run(["collect", "--config", config, "--format", "json"], env: env)
        #expect(third.status == 0, "\(third.stderr)")
        let doc = try JSONParser.parse(third.stdout)
        #expect(doc["new_records"]?.int64 == 0, "\(third.stdout)")
        #expect(try cli.counts() == expected)
    }

    /// kill -9 between a run's last commit and its api-version derivation leaves every request
    /// row and no derived switch; the next run, with nothing new to load, must derive them.
    @Test func apiVersionSwitchesLostToAKillBeforeDerivationAreDerivedByTheNextRun() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [E2E.blobs(sim, "blobs", account: "e2ebearer")]), "aoai-audit.yaml")
        func switches() throws -> Int {
            let r = try cli.run(["query", "--sql", "SELECT count(*) AS n FROM changes WHERE kind = 'api_version_change'", "--format", "csv"])
            return Int(r.stdout.split(whereSeparator: \.isNewline).last.map { $0.trimmingSpaces } ?? "") ?? -1
        }
        let first = try cli.run(["collect", "--config", config], env: E2E.env(sim))
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let derived = try switches()
        #expect(derived > 0, "the scenario should hold an api-version switch")
        let wipe = try TestSupport.run("/usr/bin/env", ["sqlite3", cli.db, """
            CREATE TEMP TABLE gone AS SELECT rowid AS r FROM search_docs
              WHERE kind = 'change' AND ref_id IN (SELECT id FROM changes WHERE kind = 'api_version_change');
            DELETE FROM search_fts WHERE rowid IN (SELECT r FROM gone);
            DELETE FROM search_docs WHERE rowid IN (SELECT r FROM gone);
            DELETE FROM changes WHERE kind = 'api_version_change';
            """])
        #expect(wipe.status == 0, "\(wipe.stderr)")
        #expect(try switches() == 0)
        let again = try cli.run(["collect", "--config", config], env: E2E.env(sim))
        #expect(again.status == 0 && again.stdout.contains(", 0 new records"), "\(again.stdout)\n\(again.stderr)")
        #expect(try switches() == derived, "\(again.stdout)")
    }

    // MARK: - 6. collect --show-query

    @Test func showQueryPrintsTheKQLOfTheNextWindowsWithoutRunning() throws {
        let scenario = try E2E.past.get()
        let sim = try E2ESim(scenario: scenario.dir)
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [E2E.feed(sim), E2E.logAnalytics()]), "aoai-audit.yaml")
        let r = try cli.run(["collect", "--config", config, "--show-query", "--since", "5h"], env: E2E.env(sim))
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("ingestion_time()") && r.stdout.contains("summarize"), "\(r.stdout)")
        #expect(r.stdout.contains("// source 'la' (diagnostics-log-analytics), workspace \(E2E.workspace)"), "\(r.stdout)")
        #expect(!r.stdout.contains("'feed'"), "\(r.stdout)")
        // 5 hours back, hour windows, 10 minutes of lag: 4 or 5 complete windows, two queries each.
        let windows = r.stdout.components(separatedBy: "| summarize").count - 1
        #expect(windows == 4 || windows == 5, "\(windows) windows: \(r.stdout)")
        #expect(r.stdout.components(separatedBy: "AzureDiagnostics\n").count - 1 == 2 * windows)
        #expect(sim.azure.requestCount == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.db), "--show-query created the database")

        // After a run, the next windows start at the committed cursor.
        let run = try cli.run(["collect", "--config", config, "--since", "5h"], env: E2E.env(sim))
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let cursor = try cli.run(["query", "--sql", "SELECT value FROM checkpoints WHERE source = 'la' AND key = 'ingested_to'", "--format", "csv"])
        let ingestedTo = try #require(cursor.stdout.split(whereSeparator: \.isNewline).last.flatMap { Int64($0.trimmingSpaces) }, "\(cursor.stdout)")
        let after = try cli.run(["collect", "--config", config, "--show-query", "--source", "la"], env: E2E.env(sim))
        #expect(after.status == 0, "\(after.stderr)")
        if after.stdout.contains("no complete window") {
            #expect(!after.stdout.contains("ingestion_time()"), "\(after.stdout)")
        } else {
            #expect(after.stdout.contains("ingestion_time() >= datetime(\(Timestamp.iso(ingestedTo)))"), "\(after.stdout)")
        }
        let unknown = try cli.run(["collect", "--config", config, "--show-query", "--source", "nope"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no source named 'nope'"), "\(unknown.stderr)")
    }

    // MARK: - 7. Log Analytics end to end

    @Test func logAnalyticsLoadsExactlyTheRecordsIngestedBeforeTheLastCompleteWindow() throws {
        let scenario = try E2E.live.get()
        let sim = try E2ESim(scenario: scenario.dir) { $0.ingestionLagSeconds = 60...60 }
        let cli = CLI()
        let config = try cli.write(E2E.config(sim, sources: [E2E.logAnalytics()]), "aoai-audit.yaml")
        let before = TimeArgument.nowMicros()
        let r = try cli.run(["collect", "--config", config, "--since", "6h"], env: E2E.env(sim))
        let after = TimeArgument.nowMicros()
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")

        // Hour windows from 6 hours back, each read once it ends 10 minutes (lag) before now.
        let hour = Timestamp.microsPerHour, lag = 10 * Timestamp.microsPerMinute
        let cursor = try cli.run(["query", "--sql", "SELECT value FROM checkpoints WHERE source = 'la' AND key = 'ingested_to'", "--format", "csv"])
        let ingestedTo = try #require(cursor.stdout.split(whereSeparator: \.isNewline).last.flatMap { Int64($0.trimmingSpaces) }, "\(cursor.stdout)")
        #expect(ingestedTo == (before - lag) / hour * hour || ingestedTo == (after - lag) / hour * hour, "\(Timestamp.iso(ingestedTo))")

        // Every record reaches the workspace 60 s after its time; the simulator serves what has
        // arrived by its clock (the real one), the collector what arrived before its last window.
        let rows = try scenario.diagnostics()
        let firstWindow = (before - 6 * hour) / hour * hour
        let read = rows.filter { $0.time + 60 * Timestamp.microsPerSecond < ingestedTo && $0.time + 60 * Timestamp.microsPerSecond >= firstWindow }
        let arrived = rows.filter { $0.time + 60 * Timestamp.microsPerSecond <= before }
        #expect(read.count < arrived.count, "the lag should hold back records that already arrived (\(read.count) vs \(arrived.count))")
        #expect(arrived.count < rows.count, "the scenario should reach past now")
        let counts = try cli.counts()
        #expect(counts["requests"] == Int64(read.count), "\(counts) vs \(read.count) of \(rows.count)")
        #expect(counts["request_failures"] == Int64(read.filter { $0.status >= 400 }.count), "\(counts)")
        #expect(sim.azure.logAnalyticsQueryCount == 2 * Int((ingestedTo - firstWindow) / hour))
    }
}

// MARK: - Support

/// Every bearer token the simulator issued (token answers) or was shown (Authorization).
final class TokenRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String] = []

    func add(_ token: String) {
        lock.lock(); defer { lock.unlock() }
        if !token.isEmpty && !seen.contains(token) { seen.append(token) }
    }

    var all: [String] {
        lock.lock(); defer { lock.unlock() }
        return seen
    }

    /// A loopback server for `azure` that records every bearer token it is sent and every
    /// token its Entra endpoint issues.
    func serving(_ azure: SimAzure) throws -> SimHTTPServer {
        try SimHTTPServer { [self] request in
            if let auth = request[header: "authorization"], auth.lowercased().hasPrefix("bearer ") { add(String(auth.dropFirst(7))) }
            let response = azure.handle(request)
            if request.path.hasSuffix("/oauth2/v2.0/token"), let t = (try? JSONParser.parse(response.body))?["access_token"]?.text { add(t) }
            return response
        }
    }
}

/// A simulator over a scenario folder on a loopback port, its clock at the real now, the test
/// identity and SAS, and every token recorded.
final class E2ESim {
    let azure: SimAzure
    let server: SimHTTPServer
    let tokens = TokenRecorder()
    var baseURL: String { server.baseURL }

    init(scenario: String, _ change: (inout SimAzureOptions) -> Void = { _ in }) throws {
        var o = SimAzureOptions()
        o.now = TimeArgument.nowMicros()
        o.clientSecret = E2E.secret
        o.sasSignature = E2E.sasSignature
        o.workspaceIDs = [E2E.workspace]
        change(&o)
        let azure = try SimAzure(scenario: scenario, options: o)
        self.azure = azure
        server = try tokens.serving(azure)
    }

    deinit { server.stop() }
}

/// A planted scenario written once per test process.
struct E2EScenario: Sendable {
    var dir: String
    var subscriptions: [String]
    var records: Int
    var activity: Int
    var activityBySubscription: [String: Int]

    struct Row: Sendable {
        var time: Int64
        var status: Int
    }

    /// The `RequestResponse` records with an integer status (what Log Analytics answers).
    func diagnostics() throws -> [Row] {
        var out: [Row] = []
        let root = dir + "/diagnostics"
        for account in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + account).sorted() {
                let reader = try ChunkReader(path: root + "/" + account + "/" + name)
                var bytes: [UInt8] = []
                while let chunk = try reader.next() { bytes += chunk }
                for line in bytes.split(separator: 0x0A) where !line.isEmpty {
                    let v = try JSONParser.parse(Array(line))
                    guard v["category"]?.text == "RequestResponse", let time = v["time"]?.text.flatMap(Timestamp.parse),
                          let status = Int(v["resultSignature"]?.text ?? "") else { continue }
                    out.append(Row(time: time, status: status))
                }
            }
        }
        return out
    }
}

enum E2E {
    static let secret = "e2e-Cl13nt-S3cret-7f3a9c"
    static let sasSignatureCore = "zQ9sasE2Esig"
    /// As the storage account knows it; in the URL it is percent-encoded.
    static let sasSignature = sasSignatureCore + "+K7/vW3="
    static var sasSignatureEncoded: String { encode(sasSignature) }
    static let workspace = "0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0"

    static let root: URL = {
        let dir = TestSupport.makeTempDirectory("aoai-audit-e2e")
        atexit { try? FileManager.default.removeItem(at: E2E.root) }
        return dir
    }()

    /// Six hours that ended well before now (the first collect reads 7 days back).
    static let past: Result<E2EScenario, any Error> = Result {
        try write("past", start: (TimeArgument.nowMicros() - 2 * Timestamp.microsPerDay) / Timestamp.microsPerHour * Timestamp.microsPerHour)
    }

    /// Six hours from 4 hours ago: the last two are still to come.
    static let live: Result<E2EScenario, any Error> = Result {
        try write("live", start: (TimeArgument.nowMicros() / Timestamp.microsPerHour - 4) * Timestamp.microsPerHour)
    }

    static func write(_ name: String, start: Int64) throws -> E2EScenario {
        var options = PlantedOptions()
        options.seed = 5
        options.hours = 6
        options.requestsPerMinute = 2
        options.start = start
        let dir = root.appendingPathComponent(name).path
        let summary = try PlantedScenario.write(to: dir, options: options)
        let truth = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json"))))
        var subscriptions: [String] = []
        for id in truth["accounts"]?.arrayValue?.compactMap(\.text) ?? [] {
            if let s = ResourceID(id).subscription?.lowercased(), !subscriptions.contains(s) { subscriptions.append(s) }
        }
        var bySubscription: [String: Int] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: dir + "/activity") where file.hasPrefix("rest-page-") {
            let page = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/activity/" + file))))
            for e in page["value"]?.arrayValue ?? [] {
                let sub = (e["subscriptionId"]?.text ?? ResourceID(e["resourceId"]?.text ?? "").subscription ?? "").lowercased()
                bySubscription[sub, default: 0] += 1
            }
        }
        return E2EScenario(dir: dir, subscriptions: subscriptions.sorted(), records: summary.requestRecords, activity: summary.activityEvents,
                           activityBySubscription: bySubscription)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    static func sasValue(signature: String) -> String {
        "sv=2023-11-03&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=" + encode(signature)
    }

    /// The identity the simulator knows, the SAS, and no proxy for loopback.
    static func env(_ sim: E2ESim, secret: String = E2E.secret) -> [String: String] {
        let o = sim.azure.options
        return ["AZURE_TENANT_ID": o.tenant, "AZURE_CLIENT_ID": o.clientID, "AZURE_CLIENT_SECRET": secret,
                "AOAI_AUDIT_SAS": sasValue(signature: o.sasSignature), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"]
    }

    static func config(_ sim: E2ESim, arm: String? = nil, sources: [String]) -> String {
        """
        cloud:
          arm: \(arm ?? sim.baseURL)
          login: \(sim.baseURL)
          log_analytics: \(sim.baseURL)
        sources:

        """ + sources.joined()
    }

    static func activity(_ subscriptions: [String], name: String = "activity") -> String {
        "  - name: \(name)\n    type: activity-log\n    subscriptions: [\(subscriptions.joined(separator: ", "))]\n"
    }

    /// Any storage account name reaches the simulator's containers (path-style addressing).
    static func blobs(_ sim: E2ESim, _ name: String, account: String, sasEnv: String? = nil, concurrency: Int? = nil) -> String {
        "  - name: \(name)\n    type: diagnostics-blobs\n    account_url: \(sim.baseURL)/\(account)\n" + (sasEnv.map { "    sas_env: \($0)\n" } ?? "")
            + (concurrency.map { "    concurrency: \($0)\n" } ?? "")
    }

    static func feed(_ sim: E2ESim) -> String { "  - name: feed\n    type: status-feed\n    url: \(sim.baseURL)/status/azure.rss\n" }

    static func rbac(_ subscriptions: [String]) -> String {
        "  - name: rbac\n    type: rbac-snapshot\n    subscriptions: [\(subscriptions.joined(separator: ", "))]\n"
    }

    static func logAnalytics() -> String { "  - name: la\n    type: diagnostics-log-analytics\n    workspace: \(workspace)\n" }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
