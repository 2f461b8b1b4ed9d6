import ArgumentParser
import AuditCollect
import AuditCore
import AuditNet
import AuditStore
import Foundation

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pull what is new from the sources in the config file.",
        discussion: """
            Runs every source of the config's `sources:` (or those named with --source), several at \
            a time. Each source continues from its checkpoints; the first run of a source starts 7 \
            days back unless --since says otherwise. A failing source does not stop the others. One \
            line per source: pages (or blobs, feed fetches, repositories) read, records read, new \
            records, duplicates skipped, HTTP retries, the lag of its newest record, and ok or the \
            error. Progress goes to stderr when it is a terminal.

            Source types: \(Config.sourceTypes.joined(separator: ", ")).

            Examples:
              aoai-audit collect --config /etc/aoai-audit/aoai-audit.yaml
              aoai-audit collect --source azure-status --source app-sdks
              aoai-audit collect --since 30d --format json
              aoai-audit collect --show-query --source la-workspace

            Exit: 0 every source succeeded; 3 a source failed or records were quarantined (named); \
            1 nothing could run (config invalid, unknown --source, --since more than 90 days back).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("source"), help: ArgumentHelp("Only this source (repeat for several).", valueName: "name"))
    var sources: [String] = []

    @Option(help: ArgumentHelp("Fetch from this time (inclusive), at most 90 days back: ISO date/time or duration.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Sources run at the same time.", valueName: "n"))
    var concurrency: Int = 4

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    @Flag(help: "Print each source's diagnostics (requests, windows) to stderr.")
    var verbose = false

    @Flag(help: "Print the KQL the next run would send for each diagnostics-log-analytics source, window by window, and exit without fetching or writing anything.")
    var showQuery = false

    func validate() throws {
        guard (1...32).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 32") }
    }

    mutating func run() throws {
        if showQuery {
            let text = try userFacing { () throws -> String in
                guard let config = try global.loadConfig() else {
                    throw CLIError(message: "no config file: pass --config, set AOAI_AUDIT_CONFIG, or put aoai-audit.yaml in the current folder")
                }
                let now = TimeArgument.nowMicros()
                let sinceUs = try since.map { text throws in try CollectRunner.parseSince(text, now: now) }
                return try CollectCommand.showQueries(config: config, databasePath: global.databasePath(config), since: sinceUs, now: now, sources: sources)
            }
            Terminal.out(text)
            return
        }
        let quiet = global.quiet
        let progress = CollectProgressPrinter(enabled: Terminal.stderrIsTTY && !quiet && format == .table)
        let summary: CollectSummary = try userFacing {
            guard let config = try global.loadConfig() else {
                throw CLIError(message: "no config file: pass --config, set AOAI_AUDIT_CONFIG, or put aoai-audit.yaml in the current folder")
            }
            let now = TimeArgument.nowMicros()
            let sinceUs = try since.map { text throws in try CollectRunner.parseSince(text, now: now) }
            let db = try Database(path: global.databasePath(config))
            let runID = try db.beginRun(command: "collect")
            let runner = CollectCommand.runner(database: db, config: config, since: sinceUs, sinceText: since, now: now,
                                               sources: sources, concurrency: concurrency, runID: runID)
            let verbose = self.verbose
            if verbose { runner.log = { Terminal.err($0) } }
            runner.progress = { progress.update($0) }
            progress.total = (try? runner.selectedSources().count) ?? 0
            do {
                let summary = try runner.run()
                try db.finishRun(id: runID, status: summary.hasLosses ? "losses" : "ok", summary: CollectCommand.totalLine(summary))
                return summary
            } catch {
                try? db.finishRun(id: runID, status: "failed", summary: Redactor.redact(String(describing: error)))
                throw error
            }
        }
        progress.clear()
        switch format {
        case .json:
            Terminal.out(CollectCommand.json(summary) + "\n")
        case .table:
            if !quiet { Terminal.out(CollectCommand.table(summary)) }
            Terminal.out(CollectCommand.totalLine(summary) + "\n")
        }
        for o in summary.failed { Terminal.err("error: source '\(o.name)': \(o.error ?? "failed")") }
        if summary.hasLosses { throw Exit.losses }
    }
}

/// The collect step as `collect` and `run` share it: building the runner, and the summary text.
enum CollectCommand {
    /// The runner with the production HTTP client and credentials.
    /// - Parameter environment: where the credential chain looks (the demo hands it the
    ///   simulator's test identity).
    static func runner(database: Database, config: Config, since: Int64?, sinceText: String?, now: Int64,
                       sources: [String], concurrency: Int, runID: Int64?,
                       environment: [String: String] = ProcessInfo.processInfo.environment) -> CollectRunner {
        let http = makeHTTPTransport()
        let credentials = makeCredentials(config: config, environment: environment, http: http)
        return CollectRunner(database: database, config: config, http: http, credentials: credentials, since: since, sinceText: sinceText,
                             now: now, sources: sources, maxConcurrency: concurrency, runID: runID)
    }

    /// `7 sources, none failed, 144456 new records[, 3 quarantined][, 2 api-version changes derived]`:
    /// the collect step's line in `run` and `demo`.
    static func stepMessage(_ summary: CollectSummary) -> String {
        let failed = summary.failed
        let n = summary.outcomes.count
        let new = summary.outcomes.reduce(0) { $0 + $1.counts.loaded }
        var message = "\(n) source\(n == 1 ? "" : "s"), "
        message += failed.isEmpty ? "none failed" : "\(failed.count) failed: " + failed.map { "\($0.name) (\($0.error ?? "failed"))" }.joined(separator: "; ")
        message += ", \(new) new records"
        if summary.quarantined > 0 { message += ", \(summary.quarantined) quarantined" }
        if summary.derivedChanges > 0 { message += ", \(summary.derivedChanges) api-version changes derived" }
        return message
    }

    /// The libcurl client every collector shares (timeouts, retries with full jitter, proxies).
    static func makeHTTPTransport() -> any HTTPTransport {
        var options = HTTPClientOptions()
        options.userAgent = "aoai-audit/\(AOAIAudit.configuration.version)"
        // A private CA (TLS-inspecting proxy): the first of these that is set; else the system store.
        let env = ProcessInfo.processInfo.environment
        options.caBundle = ["AOAI_AUDIT_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"].lazy.compactMap { env[$0] }.first { !$0.isEmpty }
        return CurlHTTPClient(options: options)
    }

    /// Token providers by `auth:` method and tenant, as the Azure Identity conventions find them.
    static func makeCredentials(config: Config, environment: [String: String], http: any HTTPTransport) -> CredentialsFactory {
        let login = config.cloud.login
        return { method, tenant throws(AuthError) in
            try Credentials.make(method: method, tenant: tenant, login: login, environment: environment, http: http)
        }
    }

    /// `collect --show-query`: for each selected diagnostics-log-analytics source, the two KQL
    /// queries of every window the next run would read (from its committed cursor, else
    /// `--since`, else 7 days back), as `//`-commented blocks that paste into Log Analytics.
    /// Reads the cursors only (read-only, and not at all when the database does not exist yet).
    static func showQueries(config: Config, databasePath: String, since: Int64?, now: Int64, sources: [String]) throws -> String {
        let all = config.sources
        for name in sources where !all.contains(where: { $0.name == name }) {
            throw CollectError.unknownSource(name, valid: all.map(\.name))
        }
        let selected = sources.isEmpty ? all : all.filter { sources.contains($0.name) }
        let db = FileManager.default.fileExists(atPath: databasePath) ? try Database(path: databasePath, readOnly: true) : nil
        var out = ""
        for source in selected where source.type == LogAnalyticsCollector.type {
            guard let collector = try CollectorRegistry.make(source) as? LogAnalyticsCollector else { continue }
            let checkpoints = try db?.connection.checkpoints(source: source.name) ?? [:]
            let windows = collector.windows(now: now, since: since, checkpoints: checkpoints)
            let head = "// source '\(source.name)' (\(LogAnalyticsCollector.type)), workspace \(collector.workspace)"
            let shape = "window \(duration(collector.window / Timestamp.microsPerSecond)), lag \(duration(collector.lag / Timestamp.microsPerSecond))"
            guard let first = windows.first, let last = windows.last else {
                out += head + ": no complete window to query yet (\(shape))\n\n"
                continue
            }
            out += head + ": \(windows.count) window\(windows.count == 1 ? "" : "s") of ingestion_time(), "
                + "\(Timestamp.isoSeconds(first.from)) … \(Timestamp.isoSeconds(last.to)) (\(shape))\n\n"
            for w in windows {
                let label = "\(Timestamp.isoSeconds(w.from)) … \(Timestamp.isoSeconds(w.to))"
                out += "// window \(label): failures (status >= 400), whole\n" + LogAnalyticsCollector.kql(failuresFrom: w.from, to: w.to) + "\n\n"
                out += "// window \(label): successes, counted per minute\n" + LogAnalyticsCollector.kql(summaryFrom: w.from, to: w.to) + "\n\n"
            }
        }
        return out
    }

    // MARK: - Text

    /// `name  type  pages N  records N  new N  duplicates N  retries N  lag 12m  ok|FAILED: <error>`.
    static func table(_ s: CollectSummary) -> String {
        let nameWidth = s.outcomes.map(\.name.count).max() ?? 0
        let typeWidth = s.outcomes.map(\.type.count).max() ?? 0
        var out = ""
        for o in s.outcomes {
            var parts = [pad(o.name, nameWidth), pad(o.type, typeWidth), "pages \(o.pages)", "records \(o.records)", "new \(o.counts.loaded)",
                         "duplicates \(o.counts.duplicates)", "retries \(o.http.retries)", "lag \(o.lagSeconds.map(duration) ?? "-")"]
            if o.counts.quarantined > 0 { parts.append("quarantined \(o.counts.quarantined)") }
            parts.append(o.error.map { "FAILED: \($0)" } ?? "ok")
            out += parts.joined(separator: "  ") + "\n"
            for w in o.warnings { out += "  warning: \(w)\n" }
        }
        return out
    }

    /// `collect: 3 sources, 1 failed (feed), 120 new records, 2 quarantined`.
    static func totalLine(_ s: CollectSummary) -> String {
        let n = s.outcomes.count
        var line = "collect: \(n) source\(n == 1 ? "" : "s")"
        let failed = s.failed.map(\.name)
        line += failed.isEmpty ? ", none failed" : ", \(failed.count) failed (\(failed.joined(separator: ", ")))"
        line += ", \(s.outcomes.reduce(0) { $0 + $1.counts.loaded }) new records"
        if s.quarantined > 0 { line += ", \(s.quarantined) quarantined (see: aoai-audit query quarantine_summary)" }
        if s.derivedChanges > 0 { line += ", \(s.derivedChanges) api-version changes derived" }
        return line
    }

    static func json(_ s: CollectSummary) -> String {
        JSONValue.object(JSONObject([
            ("schema_version", .number("1")),
            ("sources", .array(s.outcomes.map(outcomeJSON))),
            ("failed", .array(s.failed.map { .string($0.name) })),
            ("new_records", .number(String(s.outcomes.reduce(0) { $0 + $1.counts.loaded }))),
            ("quarantined", .number(String(s.quarantined))),
            ("derived_changes", .number(String(s.derivedChanges))),
        ])).serialized
    }

    /// `{"name", "type", "status": "ok"|"failed", "pages", "records", "new", …}`.
    static func outcomeJSON(_ o: SourceOutcome) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("name", .string(o.name)), ("type", .string(o.type)), ("status", .string(o.failed ? "failed" : "ok"))]
        members += CollectRunner.summaryJSON(o).objectValue?.members ?? []
        return .object(JSONObject(members))
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// `45s`, `12m`, `3h`, `2d`.
    static func duration(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}

/// `[2/5] name: ok, 12 new` on stderr as sources finish, only on a terminal.
final class CollectProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled: Bool
    private var done = 0
    private var running: [String] = []
    var total = 0

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ event: CollectProgress) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .started(let name, _):
            running.append(name)
        case .finished(let o):
            done += 1
            running.removeAll { $0 == o.name }
            let state = o.error == nil ? "ok, \(o.counts.loaded) new" : "FAILED"
            Terminal.err("\r\u{1B}[K[\(done)/\(max(total, done))] \(o.name): \(state)", newline: true)
        }
        if !running.isEmpty { Terminal.err("\r\u{1B}[Kcollecting: \(running.joined(separator: ", "))…", newline: false) }
    }

    func clear() {
        guard enabled else { return }
        Terminal.err("\r\u{1B}[K", newline: false)
    }
}
