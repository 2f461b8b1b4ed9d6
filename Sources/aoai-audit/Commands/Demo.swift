import ArgumentParser
import AuditCollect
import AuditCore
import AuditCorrelate
import AuditExport
import AuditStore
import AzureSimulator
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "See the whole tool work in one command, against a local fake Azure (no Azure account needed).",
        discussion: """
            Writes a day of a made-up Azure OpenAI estate ending two hours ago, with one planted \
            incident — an account key regenerated while key-based apps still use the old key — and \
            decoys: key rotations and role changes elsewhere, SDK bumps in other apps, incidents of \
            other regions and services, a trickle of 401s from a forgotten job. It serves that estate \
            with the built-in Azure simulator on 127.0.0.1, writes DIR/aoai-audit.yaml pointing at \
            it, then runs the production pipeline over HTTP: collect (Activity Log, diagnostics \
            blobs, status feeds, RBAC snapshots, git lockfile history) → correlate → export (gzip \
            CSV + manifests). The simulator's fake test identity is handed to the credential chain \
            directly; nothing needs to be exported.

            Progress goes to stderr, one line per step. stdout gets the incident report — cause, \
            evidence, timeline, what to do, what was ruled out — then where the database and the \
            exports are and the commands to try next. About 5 s with a release build, well under a minute with a debug one.

            DIR must be new, empty, or an earlier demo folder (which is replaced). The simulator \
            stops before the command exits, unless --keep-running: then it prints the simulator's \
            address and the config, and serves until Ctrl-C.

            Examples:
              aoai-audit demo
              aoai-audit demo --dir /tmp/aoai-demo --seed 3
              aoai-audit demo --keep-running        # then, in another shell, collect against it yourself
            """
    )

    /// The seed whose scenario tells the story best (a key rotation on an account with key and
    /// Entra callers, an openai bump in another app, an incident in another region).
    static let defaultSeed: UInt64 = 4
    static let marker = ".aoai-audit-demo"
    /// What a demo writes into its folder; an earlier demo's copies are removed first.
    static let entries = ["scenario", "aoai-audit.yaml", "aoai-audit.db", "aoai-audit.db-wal", "aoai-audit.db-shm", "exports"]

    @Option(help: ArgumentHelp("Folder for the scenario, config, database and exports (new, empty, or an earlier demo).", valueName: "dir"))
    var dir = "aoai-audit-demo"

    @Option(help: ArgumentHelp("Seed of the planted scenario (same seed, same estate and incident).", valueName: "n"))
    var seed: UInt64 = Demo.defaultSeed

    @Flag(help: "Keep the simulator running after the report (prints its address and the config); stop with Ctrl-C.")
    var keepRunning = false

    @Option(help: .hidden)
    var requestsPerMinute = 20

    func validate() throws {
        guard (1...2000).contains(requestsPerMinute) else { throw ValidationError("--requests-per-minute must be between 1 and 2000") }
    }

    mutating func run() throws {
        let (azure, server, configPath, failed) = try pipeline()
        if keepRunning {
            Self.serveUntilSignalled(azure: azure, server: server, configPath: configPath)
        }
        if !failed.isEmpty { throw Exit.losses }
    }

    /// Everything but `--keep-running`'s wait, under the run lock of the demo's database (so a
    /// second demo into the same folder meanwhile exits 4); returns the running simulator (already
    /// stopped without --keep-running), the config path and the failed steps.
    func pipeline() throws -> (SimAzure, SimHTTPServer, String, [String]) {
        let started = TimeArgument.nowMicros()
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        try userFacing { try Self.prepare(root) }
        let dbPath = root + "/aoai-audit.db"
        let lock = try RunLock.acquireForCLI(database: dbPath)
        try userFacing { try Self.clean(root) }

        // 1. The planted scenario: a day ending two hours ago, inside collect's 7-day first window.
        let scenario = root + "/scenario"
        var planted = PlantedOptions()
        planted.seed = seed
        planted.demo = true
        planted.hours = 24
        planted.requestsPerMinute = requestsPerMinute
        planted.start = started - 26 * Timestamp.microsPerHour
        let plantedOptions = planted
        let written = try Self.step("scenario") {
            try userFacing { try PlantedScenario.write(to: scenario, options: plantedOptions) }
        }
        let truth = try userFacing { try DemoTruth(path: scenario + "/truth.json") }
        Terminal.err("scenario: ok: \(written.value.requestRecords) request records, \(written.value.activityEvents) Activity Log events, "
            + "\(truth.accounts) accounts, \(truth.apps) apps, \(Timestamp.isoSeconds(truth.start)) – \(Timestamp.isoSeconds(truth.end)), "
            + "into \(scenario) (\(Self.seconds(written.us)))")

        // 2. The simulator on loopback, and a config pointing at it.
        let simStarted = TimeArgument.nowMicros()
        var simOptions = SimAzureOptions()
        simOptions.now = simStarted
        // The demo reads requests from the blobs; Log Analytics rows would only cost load time.
        simOptions.indexDiagnosticsForLogAnalytics = false
        let options = simOptions
        let azure = try userFacing { try SimAzure(scenario: scenario, options: options) }
        let server = try userFacing { try SimHTTPServer(port: 0, handler: azure.handler) }
        defer { if !keepRunning { server.stop() } }
        let configPath = root + "/aoai-audit.yaml"
        let repos = ((try? FileManager.default.contentsOfDirectory(atPath: scenario + "/repos")) ?? []).sorted().map { "./scenario/repos/" + $0 }
        let extras = SimulatorConfig.Extras(writtenBy: "`aoai-audit demo --dir \(root)`", database: "./aoai-audit.db", exportsDir: "./exports", repos: repos)
        try userFacing { try SimulatorConfig.write(SimulatorConfig.yaml(azure: azure, baseURL: server.baseURL, scenario: scenario, extras: extras), to: configPath) }
        Terminal.err("simulator: ok: listening on \(server.baseURL), \(SimulatorConfig.summary(azure)); config \(configPath) (\(Self.seconds(TimeArgument.nowMicros() - simStarted)))")
        Self.bypassProxyForLoopback()

        // 3. collect → correlate → export, the production code over HTTP.
        let config = try userFacing { try Config.load(path: configPath) }
        let db = try userFacing { try Database(path: config.database ?? dbPath) }
        let runID = try? db.beginRun(command: "demo")
        var environment = ProcessInfo.processInfo.environment
        environment["AZURE_TENANT_ID"] = azure.options.tenant
        environment["AZURE_CLIENT_ID"] = azure.options.clientID
        environment["AZURE_CLIENT_SECRET"] = azure.options.clientSecret
        let env = environment
        let collect = Run.timed { Self.collectStep(db: db, config: config, environment: env, runID: runID) }
        Terminal.err(collect.textLine + " (\(Self.seconds(collect.elapsedMs * 1000)))")

        var report: CorrelationReport?
        let correlate = Run.timed {
            do {
                let r = try Correlator(database: db, options: CorrelationOptions(sinceUs: truth.start, untilUs: truth.end)).analyze()
                let run = try db.beginRun(command: "correlate")
                try r.store(in: db, resource: nil, runID: run)
                let line = "\(r.bursts.count) burst\(r.bursts.count == 1 ? "" : "s"), \(Timestamp.isoSeconds(truth.start)) – \(Timestamp.isoSeconds(truth.end))"
                try db.finishRun(id: run, status: "ok", summary: line)
                report = r
                return RunStep(name: "correlate", status: .ok, message: line)
            } catch {
                return RunStep(name: "correlate", status: .failed, message: Run.describe(error))
            }
        }
        Terminal.err(correlate.textLine + " (\(Self.seconds(correlate.elapsedMs * 1000)))")

        let export = Run.timed { () -> RunStep in
            do {
                let exportConfig = try ExportConfig(config: config)
                return try Run.parse(["--force-exports"]).exportStep(db, exportConfig, now: TimeArgument.nowMicros())
            } catch {
                return RunStep(name: "export", status: .failed, message: Run.describe(error))
            }
        }
        Terminal.err(export.textLine + " (\(Self.seconds(export.elapsedMs * 1000)))")
        let failed = [collect, correlate, export].filter { $0.status == .failed }.map(\.name)
        if let runID {
            try? db.finishRun(id: runID, status: failed.isEmpty ? "ok" : "failed",
                              summary: failed.isEmpty ? "demo: 3 steps, none failed" : "demo: failed: \(failed.joined(separator: ", "))")
        }

        // 4. The report.
        guard let report else { throw CLIError(message: "correlate failed, so there is no report; see the lines above") }
        let text = try userFacing {
            try DemoReport(db: db, report: report, truth: truth, root: root, databasePath: config.database ?? dbPath,
                           exportsDir: (try? ExportConfig(config: config).dir) ?? (root + "/exports"), configPath: configPath,
                           program: Self.programName()).render()
        }
        Terminal.out(text)
        Terminal.err("demo: \(failed.isEmpty ? "done" : "done with failed steps (\(failed.joined(separator: ", ")))") in \(Self.seconds(TimeArgument.nowMicros() - started))")
        withExtendedLifetime(lock) {}
        return (azure, server, configPath, failed)
    }

    // MARK: - Folder

    /// Refuses a folder that holds anything and is not an earlier demo (no marker file);
    /// creates it and the marker otherwise.
    static func prepare(_ root: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: root, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CLIError(message: "\(root) is a file, not a folder; pass --dir with a new or empty folder") }
            let contents = (try? fm.contentsOfDirectory(atPath: root)) ?? []
            if !contents.isEmpty && !contents.contains(marker) {
                throw CLIError(message: "\(root) is not empty and is not an earlier demo (it has no \(marker)); pass --dir with a new or empty folder")
            }
        } else {
            do {
                try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw CLIError(message: "cannot create \(root): \(error.localizedDescription)")
            }
        }
        let note = "This folder was written by `aoai-audit demo`; running the demo again with --dir pointing here replaces it.\n"
        do {
            try Data(note.utf8).write(to: URL(fileURLWithPath: root + "/" + marker))
        } catch {
            throw CLIError(message: "cannot write to \(root): \(error.localizedDescription)")
        }
    }

    /// Removes what an earlier demo wrote (never anything else).
    static func clean(_ root: String) throws {
        let fm = FileManager.default
        for name in entries where fm.fileExists(atPath: root + "/" + name) {
            do {
                try fm.removeItem(atPath: root + "/" + name)
            } catch {
                throw CLIError(message: "cannot remove the earlier demo's \(root)/\(name): \(error.localizedDescription)")
            }
        }
    }

    // MARK: - Steps

    /// `collect` with the production HTTP client and credential chain; the environment carries
    /// the simulator's test identity.
    static func collectStep(db: Database, config: Config, environment: [String: String], runID: Int64?) -> RunStep {
        do {
            let runner = CollectCommand.runner(database: db, config: config, since: nil, sinceText: nil, now: TimeArgument.nowMicros(),
                                               sources: [], concurrency: 4, runID: runID, environment: environment)
            let summary = try runner.run()
            return RunStep(name: "collect", status: summary.failed.isEmpty ? .ok : .failed, message: CollectCommand.stepMessage(summary))
        } catch {
            return RunStep(name: "collect", status: .failed, message: Run.describe(error))
        }
    }

    static func step<T>(_ name: String, _ body: () throws -> T) throws -> (value: T, us: Int64) {
        let t0 = TimeArgument.nowMicros()
        let value = try body()
        return (value, TimeArgument.nowMicros() - t0)
    }

    static func seconds(_ us: Int64) -> String { String(format: "%.1f s", Double(us) / 1_000_000) }

    /// libcurl sends even loopback requests through `http_proxy`/`HTTPS_PROXY` unless `NO_PROXY`
    /// names the address: when a proxy is set, add 127.0.0.1 and localhost to it, for this
    /// process only.
    static func bypassProxyForLoopback() {
        let env = ProcessInfo.processInfo.environment
        guard ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"].contains(where: { !(env[$0] ?? "").isEmpty }) else { return }
        for name in ["NO_PROXY", "no_proxy"] {
            let current = env[name] ?? ""
            setenv(name, current.isEmpty ? "127.0.0.1,localhost" : current + ",127.0.0.1,localhost", 1)
        }
    }

    /// How to call this binary again in the suggested commands: its path when run by path.
    static func programName() -> String {
        let argv0 = CommandLine.arguments.first ?? "aoai-audit"
        return argv0.contains("/") ? CrontabEditor.shellQuote(argv0) : "aoai-audit"
    }

    /// `--keep-running`: the simulator's address and config, then serve until SIGINT/SIGTERM.
    static func serveUntilSignalled(azure: SimAzure, server: SimHTTPServer, configPath: String) {
        let stop = TerminationSignals()
        let o = azure.options
        Terminal.out("""

            The simulator keeps running at \(server.baseURL) (fake data, loopback only); stop it with Ctrl-C.
            Collect from it yourself with its test identity:
              export AZURE_TENANT_ID=\(o.tenant) AZURE_CLIENT_ID=\(o.clientID) AZURE_CLIENT_SECRET=\(o.clientSecret) NO_PROXY=127.0.0.1,localhost
              \(programName()) collect --config \(CrontabEditor.shellQuote(configPath))
            The config (\(configPath)):

            """)
        Terminal.out(((try? String(contentsOfFile: configPath, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            .map { "  " + $0 }.joined(separator: "\n") + "\n")
        stop.wait()
        server.stop()
        withExtendedLifetime(stop) {}
        Terminal.err("simulator stopped after \(azure.requestCount) requests")
    }
}

// MARK: - Truth

/// What the demo needs from the scenario's `truth.json`: the window, the planted burst.
struct DemoTruth {
    struct Planted {
        var kind: String
        var resourceID: String
        var startUs: Int64
        var evidence: [String]
    }

    var start: Int64
    var end: Int64
    var accounts: Int
    var apps: Int
    var bursts: [Planted]

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError(message: "cannot read \(path)") }
        let v = try JSONParser.parse([UInt8](data))
        guard let s = v["start"]?.text.flatMap({ Timestamp.parse($0) }), let e = v["end"]?.text.flatMap({ Timestamp.parse($0) }) else {
            throw CLIError(message: "\(path) has no start/end")
        }
        start = s
        end = e
        accounts = v["accounts"]?.arrayValue?.count ?? 0
        apps = v["apps"]?.arrayValue?.count ?? 0
        bursts = (v["bursts"]?.arrayValue ?? []).map { b in
            Planted(kind: b["kind"]?.text ?? "", resourceID: (b["resource_id"]?.text ?? "").lowercased(),
                    startUs: b["start"]?.text.flatMap({ Timestamp.parse($0) }) ?? 0, evidence: (b["evidence"]?.arrayValue ?? []).compactMap(\.text))
        }
    }
}

// MARK: - Report

/// The text `demo` prints: the planted incident's report, what was ruled out, where things
/// are, what to try next.
struct DemoReport {
    let db: Database
    let report: CorrelationReport
    let truth: DemoTruth
    let root: String
    let databasePath: String
    let exportsDir: String
    let configPath: String
    let program: String

    func render() throws -> String {
        var out = ""
        guard let planted = truth.bursts.first(where: { $0.kind == "key_rotation" }) ?? truth.bursts.first else {
            throw CLIError(message: "the scenario's truth.json plants no burst")
        }
        // The burst correlate found for the planted one: same resource, closest start.
        let match = report.bursts.filter { $0.resourceID == planted.resourceID && abs($0.startUs - planted.startUs) <= 30 * Timestamp.microsPerMinute }
            .min { abs($0.startUs - planted.startUs) < abs($1.startUs - planted.startUs) }
        let name = ResourceID(planted.resourceID).shortName
        out += "aoai-audit demo: why did \(name) start failing at \(Timestamp.isoSeconds(planted.startUs))?\n"
        out += "(a local fake Azure with a planted incident, collected over HTTP and correlated by the production code)\n\n"
        guard let burst = match else {
            out += "correlate found no burst on \(name) near \(Timestamp.isoSeconds(planted.startUs)), where one was planted; what it found:\n\n"
            out += ReportText.table(report)
            throw CLIError(message: "the planted \(planted.kind) burst on \(name) was not found; report:\n" + out)
        }
        var single = report
        single.bursts = [burst]

        out += "== Incident ==\n"
        out += "\(burst.failures) failed requests (\(codes(burst))) on \(burst.resourceID)\(burst.region.map { " (\($0))" } ?? "")\n"
        out += "from \(Timestamp.isoSeconds(burst.startUs)) to \(Timestamp.isoSeconds(burst.endUs)), peak \(burst.peakPerMinute)/min, "
            + "signature \(burst.signature), api-version \(burst.apiVersions.isEmpty ? "unknown" : burst.apiVersions.joined(separator: ", "))\n\n"
        out += "== Cause and evidence (aoai-audit correlate) ==\n"
        out += ReportText.table(single) + "\n"

        out += "== Timeline ==\n"
        var lines: [(Int64, String)] = (burst.topCause?.evidence ?? []).map { e in
            (e.timeUs, e.summary + (e.actor.map { e.summary.contains($0) ? "" : " (by \($0))" } ?? "") + " — evidence \(e.sourceID)")
        }
        lines.append((burst.startUs, "first failure" + (burst.callers.isEmpty ? "" : " (\(burst.callers.joined(separator: ", ")))")))
        lines.append((burst.endUs, "last failure"))
        for (t, s) in lines.sorted(by: { $0.0 < $1.0 }) { out += "  \(Timestamp.isoSeconds(t))  \(s)\n" }
        out += "\n"

        if let fix = Self.whatToDo(ReportText.markdown(single)) {
            out += "== What to do ==\n" + wrap(fix, indent: "  ") + "\n"
        }

        let ruled = try ruledOut(burst)
        if !ruled.isEmpty {
            out += "== Ruled out ==\n"
            for r in ruled { out += wrap(r, indent: "  - ", continuation: "    ") }
            out += "\n"
        }

        out += "== Where things are ==\n"
        let counts = try storeCounts()
        out += "  database  \(databasePath)  (\(counts))\n"
        out += "  exports   \(exportsDir)  (\(exportFiles()))\n"
        out += "  config    \(configPath)  (points at the simulator; --keep-running keeps it up)\n"
        out += "  scenario  \(root)/scenario  (truth.json names the planted cause)\n\n"

        let q = CrontabEditor.shellQuote
        let dbArg = q(databasePath)
        let since = Timestamp.isoSeconds(truth.start), until = Timestamp.isoSeconds(truth.end)
        out += "== Try next ==\n"
        out += "  \(program) query auth_failures_by_hour --db \(dbArg) --param since=\(since) --param until=\(until)\n"
        out += "  \(program) search regenerateKey --db \(dbArg)\n"
        out += "  \(program) correlate --db \(dbArg) --since \(since) --until \(until) --format markdown\n"
        out += "  \(program) status --db \(dbArg)\n"
        return out
    }

    func codes(_ b: Burst) -> String {
        b.statusCodes.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")
    }

    /// The runbook's "What to do" sentence for the burst.
    static func whatToDo(_ markdown: String) -> String? {
        let prefix = "**What to do:** "
        return markdown.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// One line per decoy that correlate looked past: the burst's lower-ranked candidates, other
    /// bursts, and the store's other changes and incidents of the window, each with why not.
    func ruledOut(_ burst: Burst) throws -> [String] {
        var out: [String] = []
        let evidence = Set((burst.topCause?.evidence ?? []).map(\.sourceID))
        for c in burst.candidates.dropFirst() {
            out.append("\(c.kind.rawValue) (score \(String(format: "%.2f", c.score))): \(c.explanation)")
        }
        for b in report.bursts where b != burst {
            out.append("another burst: \(ResourceID(b.resourceID).shortName) \(Timestamp.isoSeconds(b.startUs)) → \(Timestamp.isoSeconds(b.endUs)), "
                + "\(b.failures) failures, cause \(b.topCause?.kind.rawValue ?? "unexplained") — not the planted incident")
        }
        let from = truth.start, to = truth.end
        let c = db.connection

        // Key rotations elsewhere, with no failures after them.
        for r in try c.rows("""
            SELECT time_us, resource_id, actor, source_id FROM changes
            WHERE kind = ?1 AND time_us >= ?2 AND time_us < ?3 ORDER BY time_us
            """, [.text(ChangeKind.keyRegenerated), .integer(from), .integer(to)]) {
            let t = r[0].integer ?? 0, resource = r[1].text ?? "", id = r[3].text ?? ""
            if evidence.contains(id) { continue }
            let followed = report.bursts.contains { $0.resourceID == resource && $0.startUs >= t && $0.startUs - t <= 4 * Timestamp.microsPerHour }
            if followed { continue }
            out.append("key_rotation on \(ResourceID(resource).shortName) at \(Timestamp.isoSeconds(t))\(r[2].text.map { " by \($0)" } ?? ""): "
                + "no burst of 401s followed on that account")
            if out.count > 12 { break }
        }

        // SDK bumps in other apps: a bump that breaks auth shows as a failing caller switching api-version.
        for r in try c.rows("""
            SELECT time_us, summary, app FROM changes
            WHERE kind = ?1 AND time_us >= ?2 AND time_us < ?3 ORDER BY time_us DESC LIMIT 3
            """, [.text(ChangeKind.sdkBump), .integer(from - 14 * Timestamp.microsPerDay), .integer(to)]) {
            let t = r[0].integer ?? 0
            let app = r[2].text.map { " in \($0)" } ?? ""
            out.append("sdk_bump\(app) at \(Timestamp.isoSeconds(t)) (\(r[1].text ?? "")): no failing caller switched api-version after it")
        }

        // Incidents: other regions, other services.
        let regions = Set(try c.rows("SELECT DISTINCT region FROM request_failures WHERE region IS NOT NULL AND region != ''").compactMap { $0[0].text.map(Self.region) })
        var seen = Set<String>()
        for r in try c.rows("""
            SELECT incident_key, title, service, region, min(start_us) FROM vendor_incidents
            GROUP BY incident_key HAVING min(start_us) >= ?1 AND min(start_us) < ?2 ORDER BY min(start_us)
            """, [.integer(from - Timestamp.microsPerHour), .integer(to)]) {
            let title = r[1].text ?? "", service = (r[2].text ?? "") + " " + title
            // "Service - Region - What": the feeds and ServiceHealth word one incident differently.
            let parts = title.components(separatedBy: " - ")
            guard seen.insert(parts.count >= 3 ? parts.prefix(2).joined(separator: " - ") : title).inserted else { continue }
            let region = r[3].text ?? ""
            let why: String
            if !service.lowercased().contains("openai") && !service.lowercased().contains("cognitive") {
                why = "another service"
            } else if !region.isEmpty && !regions.isEmpty && !regions.contains(Self.region(region)) {
                why = "a region none of the accounts is in"
            } else if let s = r[4].integer, abs(s - burst.startUs) > 2 * Timestamp.microsPerHour {
                why = "not at the time of the failures"
            } else {
                continue
            }
            out.append("vendor_incident \"\(title)\" at \(Timestamp.isoSeconds(r[4].integer ?? 0)): \(why)")
        }

        // The background trickle: 401/403s outside every burst.
        let rows = try c.rows("""
            SELECT f.time_us, f.caller, f.resource_id FROM request_failures_v f
            WHERE f.status IN (401, 403) AND f.time_us >= ?1 AND f.time_us < ?2
            """, [.integer(from), .integer(to)])
        var perCaller: [String: Int] = [:]
        var total = 0
        for r in rows {
            let t = r[0].integer ?? 0, resource = r[2].text ?? ""
            if report.bursts.contains(where: { $0.resourceID == resource && t >= $0.startUs && t <= $0.endUs }) { continue }
            total += 1
            perCaller[r[1].text ?? "?", default: 0] += 1
        }
        if total > 0, let top = perCaller.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) {
            out.append("the 401 trickle: \(total) failures outside the burst from \(perCaller.count) caller\(perCaller.count == 1 ? "" : "s") over the day "
                + "(most from \(top.key): \(top.value)), steady at each caller's own baseline, so not a burst")
        }
        return out
    }

    static func region(_ s: String) -> String { s.lowercased().filter { $0.isLetter || $0.isNumber } }

    func storeCounts() throws -> String {
        let c = db.connection
        let requests = try c.rows("SELECT coalesce(sum(count), 0) FROM request_rollup").first?[0].integer ?? 0
        let failures = try c.rows("SELECT count(*) FROM request_failures").first?[0].integer ?? 0
        let activity = try c.rows("SELECT count(*) FROM activity_events").first?[0].integer ?? 0
        let changes = try c.rows("SELECT count(*) FROM changes").first?[0].integer ?? 0
        let incidents = try c.rows("SELECT count(DISTINCT incident_key) FROM vendor_incidents").first?[0].integer ?? 0
        return "\(requests) requests, \(failures) failures kept whole, \(activity) Activity Log events, \(changes) changes, \(incidents) vendor incidents"
    }

    func exportFiles() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: exportsDir)) ?? []
        let data = names.filter { $0.hasSuffix(".csv.gz") && !$0.hasPrefix(".") }
        let manifests = names.filter { $0.hasSuffix(".manifest.json") }
        return "\(data.count) gzip CSV file\(data.count == 1 ? "" : "s"), \(manifests.count) manifest\(manifests.count == 1 ? "" : "s")"
            + (names.contains(ExportNaming.successMarker) ? ", \(ExportNaming.successMarker)" : "")
    }

    /// `text` wrapped at 100 columns, the first line after `indent`, the rest after `continuation`.
    func wrap(_ text: String, indent: String, continuation: String? = nil) -> String {
        let next = continuation ?? String(repeating: " ", count: indent.count)
        var out = "", line = indent
        for word in text.split(separator: " ") {
            if line.count + word.count + 1 > 100 && line.trimmingCharacters(in: .whitespaces).count > 0 && line != indent && line != next {
                out += line + "\n"
                line = next
            }
            line += (line == indent || line == next ? "" : " ") + word
        }
        return out + line + "\n"
    }
}
