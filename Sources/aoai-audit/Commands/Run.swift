import ArgumentParser
import AuditCollect
import AuditCore
import AuditCorrelate
import AuditExport
import AuditStore
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The cron run: collect, correlate, then the exports that are due, under a lock.",
        discussion: """
            Steps, in order, each reported on one line (a failing step is reported and the next \
            ones still run):
              collect    every source of the config's sources: (as `aoai-audit collect`), each from
                         its checkpoints; a failing source is named and the others still load
              correlate  over --since (default 7d) until now; results stored
              export     every dataset into config exports.dir when due: schedule daily (nothing
                         exported since 00:00Z today) or weekly (nothing since the last
                         exports.weekday 00:00Z, default monday); --force-exports exports anyway
              prune      removes published files older than config exports.keep
            Takes an exclusive lock on <database>.lock; a second run at the same time exits 4 \
            at once. The run is recorded in the runs table (command 'run').

            Examples:
              aoai-audit run --config /etc/aoai-audit/aoai-audit.yaml
              aoai-audit run --quiet                       # for cron: silent when all is well
              aoai-audit run --log-format json             # one JSON object per step
              aoai-audit run --force-exports --fail-on-new-bursts

            Exports run even when a source failed; their line says which sources' new records \
            they may lack.

            Exit: 0 done; 3 a step failed or had losses, e.g. a source failed (named); 4 another run holds the lock; \
            10 with --fail-on-new-bursts when correlate found new bursts (and nothing failed); \
            1 nothing could run (config or database unusable).
            """
    )

    enum LogFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Correlate from this time (inclusive): ISO date/time or duration.", valueName: "time"))
    var since: String = "7d"

    @Flag(help: "Export every dataset now, even when the schedule says it is not due.")
    var forceExports = false

    @Flag(help: "Exit 10 when correlate finds bursts not found by an earlier run (and no step failed).")
    var failOnNewBursts = false

    @Option(help: "Step lines as text or json (one JSON object per step).")
    var logFormat: LogFormat = .text

    func validate() throws {
        _ = try parseTime(since, name: "since")
    }

    mutating func run() throws {
        let started = TimeArgument.nowMicros()
        let (config, dbPath): (Config?, String) = try userFacing {
            let c = try global.loadConfig()
            return (c, URL(fileURLWithPath: global.databasePath(c)).standardizedFileURL.path)
        }
        let lock = try RunLock.acquireForCLI(database: dbPath)
        let db = try userFacing { try Database(path: dbPath) }
        let runID = try? db.beginRun(command: "run")

        var steps: [RunStep] = []
        var newBursts = 0
        var collectFailures: [String] = []
        steps.append(Self.timed {
            let (step, failed) = collectStep(config, db, runID: runID, now: started)
            collectFailures = failed
            return step
        })
        steps.append(Self.timed {
            let (step, fresh) = correlateStep(db, now: started)
            newBursts = fresh
            return step
        })
        let exportConfig: ExportConfig?
        do { exportConfig = try ExportConfig(config: config) } catch {
            exportConfig = nil
            steps.append(RunStep(name: "export", status: .failed, message: error.description))
        }
        if let exportConfig {
            steps.append(Self.timed {
                var step = exportStep(db, exportConfig, now: TimeArgument.nowMicros())
                if !collectFailures.isEmpty && step.status != .skipped {
                    step.message += "; collect failed for \(collectFailures.joined(separator: ", ")), so their newest records are not in this export"
                }
                return step
            })
            steps.append(Self.timed { pruneStep(exportConfig, now: TimeArgument.nowMicros()) })
        }

        let failed = steps.filter { $0.status == .failed }
        let elapsed = (TimeArgument.nowMicros() - started) / 1000
        let summary = failed.isEmpty
            ? "\(steps.count) steps, none failed" + (newBursts > 0 ? ", \(newBursts) new burst\(newBursts == 1 ? "" : "s")" : "") + String(format: ", %.1f s", Double(elapsed) / 1000)
            : "\(failed.count) of \(steps.count) steps failed (\(failed.map(\.name).joined(separator: ", ")))" + String(format: ", %.1f s", Double(elapsed) / 1000)
        var total = RunStep(name: "run", status: failed.isEmpty ? .ok : .failed, message: summary,
                            fields: [("new_bursts", .number(String(newBursts))), ("failed_steps", .array(failed.map { .string($0.name) }))])
        total.elapsedMs = elapsed
        steps.append(total)
        if let runID { try? db.finishRun(id: runID, status: failed.isEmpty ? "ok" : "failed", summary: summary) }

        let alert = failOnNewBursts && newBursts > 0 && failed.isEmpty
        for step in steps {
            let bad = step.status == .failed
            let show = !global.quiet || bad || (alert && (step.name == "correlate" || step.name == "run"))
            switch logFormat {
            case .json:
                if show { Terminal.out(step.jsonLine + "\n") }
                if bad && step.name != "run" { Terminal.err(step.textLine) }
            case .text:
                if bad || (global.quiet && show) { Terminal.err(step.textLine) } else if show { Terminal.out(step.textLine + "\n") }
            }
        }
        withExtendedLifetime(lock) {}
        if !failed.isEmpty { throw Exit.losses }
        if alert { throw ExitCode(10) }
    }

    static func timed(_ body: () -> RunStep) -> RunStep {
        let t0 = TimeArgument.nowMicros()
        var s = body()
        s.elapsedMs = (TimeArgument.nowMicros() - t0) / 1000
        return s
    }

    // MARK: - Steps

    /// Runs the config's sources (none: skipped). Returns the step and the failed sources.
    func collectStep(_ config: Config?, _ db: Database, runID: Int64?, now: Int64) -> (RunStep, [String]) {
        guard let config, !config.sources.isEmpty else {
            return (RunStep(name: "collect", status: .skipped, message: "no sources configured", fields: [("reason", .string("no_sources"))]), [])
        }
        do {
            let runner = CollectCommand.runner(database: db, config: config, since: nil, sinceText: nil, now: now, sources: [],
                                               concurrency: 4, runID: runID)
            let summary = try runner.run()
            let failed = summary.failed
            let new = summary.outcomes.reduce(0) { $0 + $1.counts.loaded }
            let message = CollectCommand.stepMessage(summary)
            let fields: [(String, JSONValue)] = [
                ("sources", .array(summary.outcomes.map(CollectCommand.outcomeJSON))),
                ("failed_sources", .array(failed.map { .string($0.name) })),
                ("new_records", .number(String(new))), ("quarantined", .number(String(summary.quarantined))),
            ]
            return (RunStep(name: "collect", status: failed.isEmpty ? .ok : .failed, message: message, fields: fields), failed.map(\.name))
        } catch {
            return (RunStep(name: "collect", status: .failed, message: Self.describe(error)), config.sources.map(\.name))
        }
    }

    func correlateStep(_ db: Database, now: Int64) -> (RunStep, Int) {
        do {
            guard let s = TimeArgument.parse(since, now: now) else { throw ValidationError("--since '\(since)' is not a time") }
            guard s < now else { throw ValidationError("--since must be in the past") }
            let report = try Correlator(database: db, options: CorrelationOptions(sinceUs: s, untilUs: now)).analyze()
            let known = try Set(db.connection.rows("SELECT resource_id, start_us FROM bursts WHERE start_us >= ?1 AND start_us < ?2", [.integer(s), .integer(now)])
                .map { ($0[0].text ?? "") + "|" + String($0[1].integer ?? 0) })
            let fresh = report.bursts.filter { !known.contains($0.resourceID + "|" + String($0.startUs)) }.count
            let run = try db.beginRun(command: "correlate")
            try report.store(in: db, resource: nil, runID: run)
            let steady = report.steadyFailures.count
            var line = "\(report.bursts.count) burst\(report.bursts.count == 1 ? "" : "s"), \(fresh) new, \(Timestamp.isoSeconds(s)) – \(Timestamp.isoSeconds(now))"
            if steady > 0 {
                line += "; \(steady) caller\(steady == 1 ? "" : "s") failing steadily (not bursts; `aoai-audit correlate --since \(since)` lists them)"
            }
            try db.finishRun(id: run, status: "ok", summary: line)
            return (RunStep(name: "correlate", status: .ok, message: line, fields: [
                ("bursts", .number(String(report.bursts.count))), ("new_bursts", .number(String(fresh))),
                ("steady_failures", .number(String(steady))),
                ("since", .string(Timestamp.iso(s))), ("until", .string(Timestamp.iso(now))),
            ]), fresh)
        } catch {
            return (RunStep(name: "correlate", status: .failed, message: Self.describe(error)), 0)
        }
    }

    func exportStep(_ db: Database, _ exportConfig: ExportConfig, now: Int64) -> RunStep {
        do {
            guard let dir = exportConfig.dir else {
                return RunStep(name: "export", status: .skipped, message: "no exports.dir in the config; nothing to export",
                               fields: [("reason", .string("not_configured"))])
            }
            let schedule = try ExportSchedule(exportConfig)
            if !forceExports, let last = try schedule.lastExport(in: db, nowUs: now) {
                return RunStep(name: "export", status: .skipped,
                               message: "not due: exported at \(Timestamp.isoSeconds(last)) (\(schedule.text)); next due from \(Timestamp.isoSeconds(schedule.nextPeriodStart(nowUs: now))) (--force-exports to export now)",
                               fields: [("reason", .string("not_due")), ("last_export", .string(Timestamp.iso(last))), ("directory", .string(dir))])
            }
            var options = ExportOptions(directory: dir)
            options.nowUs = now
            options.toolVersion = AOAIAudit.configuration.version
            options.format = try Export.parse(exportConfig.format, "exports.format", default: .csv)
            options.compression = try Export.parse(exportConfig.compress, "exports.compress", default: .gzip)
            let summary = try Exporter(database: db, options: options).run()
            let fields: [(String, JSONValue)] = [
                ("files", .number(String(summary.files))), ("rows", .number(String(summary.rows))), ("bytes", .number(String(summary.bytes))),
                ("directory", .string(dir)), ("paths", .array(summary.outcomes.compactMap { $0.path.map(JSONValue.string) })),
                ("failed_datasets", .array(summary.failed.map { .string($0.dataset) })),
            ]
            var message = summary.line + " into \(dir)" + (forceExports ? " (forced)" : "")
            for f in summary.failed { message += "; \(f.dataset): \(f.error ?? "failed")" }
            return RunStep(name: "export", status: summary.failed.isEmpty ? .ok : .failed, message: message, fields: fields)
        } catch {
            return RunStep(name: "export", status: .failed, message: Self.describe(error))
        }
    }

    func pruneStep(_ exportConfig: ExportConfig, now: Int64) -> RunStep {
        guard let dir = exportConfig.dir, let keep = exportConfig.keep else {
            return RunStep(name: "prune", status: .skipped, message: "no exports.keep in the config; nothing pruned", fields: [("reason", .string("not_configured"))])
        }
        guard let cutoff = TimeArgument.parse(keep, now: now), keep.last?.isLetter == true, keep.last != "Z" else {
            return RunStep(name: "prune", status: .failed, message: "config exports.keep '\(keep)' is not a duration (90d, 12w, 36h)")
        }
        guard FileManager.default.fileExists(atPath: dir) else {
            return RunStep(name: "prune", status: .ok, message: "0 files removed (\(dir) does not exist yet)", fields: [("removed", .number("0"))])
        }
        do {
            let removed = try ExportPruner.prune(directory: dir, olderThanUs: cutoff)
            return RunStep(name: "prune", status: .ok, message: "\(removed.count) files removed (keep \(keep))", fields: [("removed", .number(String(removed.count)))])
        } catch {
            return RunStep(name: "prune", status: .failed, message: Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? any LocalizedError, let d = e.errorDescription { return Redactor.redact(d) }
        return Redactor.redact(String(describing: error))
    }
}
