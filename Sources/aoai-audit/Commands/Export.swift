import ArgumentParser
import AuditCore
import AuditExport
import AuditStore
import Foundation

extension ExportFormat: ExpressibleByArgument {}
extension ExportCompression: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write datasets to files a SIEM picks up: gzip CSV (or NDJSON) with manifests, exactly once.",
        discussion: """
            Datasets: \(((try? ExportCatalog())?.names ?? []).joined(separator: ", ")). \
            Without --since/--until each dataset exports what is new since its last export (its \
            watermark): rows with event time up to a few minutes ago (request_rollup: 3 hours), \
            plus rows loaded since with an older event time. An explicit window exports exactly \
            that window and moves no watermark. Files are named \
            <dataset>_<fromUTC>_<toUTC>.csv.gz (_r2, _r3… when the name exists), are never \
            appended to or overwritten, and each gets <file>.manifest.json (rows, bytes, SHA-256, \
            columns, min/max event time, watermark). An empty window writes no file.

            Examples:
              aoai-audit export --out /var/lib/aoai-audit/exports
              aoai-audit export --dataset changes --dataset bursts --keep 90d
              aoai-audit export --since 2026-11-01 --until 2026-12-01 --compress none --format ndjson

            Exit: 0 done; 3 some datasets failed (named in the summary); 1 failed.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("dataset"), help: ArgumentHelp("Only this dataset (repeatable; default all).", valueName: "name"))
    var datasets: [String] = []

    @Option(help: ArgumentHelp("Output folder (else config exports.dir, else ./exports-out).", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Explicit window start (inclusive): ISO date/time or duration.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Explicit window end (exclusive).", valueName: "time"))
    var until: String?

    @Option(help: "gzip or none (default: config exports.compress, else gzip).")
    var compress: ExportCompression?

    @Option(help: "csv or ndjson (default: config exports.format, else csv).")
    var format: ExportFormat?

    @Option(help: ArgumentHelp("gzip level 1–9.", valueName: "n"))
    var gzipLevel: Int32 = 6

    @Option(help: ArgumentHelp("Remove published files (and manifests) whose window ended longer ago than this, e.g. 90d (default: config exports.keep).", valueName: "duration"))
    var keep: String?

    @Option(help: ArgumentHelp("Only rows of this resource (ARM id or account name); needs --since and --until and moves no watermark.", valueName: "R"))
    var resource: String?

    func validate() throws {
        if resource != nil && since == nil { throw ValidationError("--resource needs --since and --until (an explicit window)") }
        guard (1...9).contains(gzipLevel) else { throw ValidationError("--gzip-level must be 1–9") }
        if (since == nil) != (until == nil) { throw ValidationError("give both --since and --until, or neither (incremental)") }
    }

    /// Test-only crash hook (documented in README, Contributing): with
    /// `AOAI_AUDIT_TEST_CRASH_AFTER=data` (or `manifest`) the process kills itself with SIGKILL
    /// right after that file is published, as a power cut or `kill -9` would.
    static let crashHookVariable = "AOAI_AUDIT_TEST_CRASH_AFTER"

    mutating func run() throws {
        let (lines, summary): ([String], ExportSummary) = try userFacing {
            let (db, config) = try global.openDatabase()
            let exportConfig = try ExportConfig(config: config)
            let now = TimeArgument.nowMicros()
            var options = ExportOptions(directory: out ?? exportConfig.dir ?? "exports-out")
            options.datasets = datasets
            options.resource = resource
            options.nowUs = now
            options.toolVersion = AOAIAudit.configuration.version
            options.gzipLevel = gzipLevel
            options.format = try format ?? Self.parse(exportConfig.format, "exports.format", default: .csv)
            options.compression = try compress ?? Self.parse(exportConfig.compress, "exports.compress", default: .gzip)
            if let since, let until {
                options.windowFromUs = try parseTime(since, name: "since")
                options.windowToUs = try parseTime(until, name: "until")
            }
            let crashStage = ProcessInfo.processInfo.environment[Self.crashHookVariable].flatMap(ExportStage.init(rawValue:))
            // Progress on a terminal only: one line rewritten as each file is published.
            let showProgress = Terminal.stderrIsTTY && !global.quiet
            var published = 0
            if crashStage != nil || showProgress {
                options.afterStage = { stage, path in
                    if stage == crashStage { kill(getpid(), SIGKILL) }
                    if showProgress && stage == .manifest {
                        published += 1
                        Terminal.progress("[\(published)] published \((path as NSString).lastPathComponent.replacingOccurrences(of: ".manifest.json", with: ""))")
                    }
                }
            }
            var summary = try Exporter(database: db, options: options).run()
            if showProgress { Terminal.progress(nil) }
            if let keepText = keep ?? exportConfig.keep {
                guard let cutoff = TimeArgument.parse(keepText, now: now), keepText.last?.isLetter == true, keepText.last != "Z" else {
                    throw ValidationError("--keep '\(keepText)' is not a duration (90d, 12w, 36h)")
                }
                summary.pruned = try ExportPruner.prune(directory: options.directory, olderThanUs: cutoff)
            }
            var lines: [String] = []
            for o in summary.outcomes {
                for r in o.recovered { lines.append("\(r)  (interrupted export completed: manifest written)") }
                if let p = o.path {
                    lines.append("\(p)  \(o.rows) rows  \(o.bytes) bytes" + ((o.manifest?.lateRows ?? 0) > 0 ? "  (\(o.manifest?.lateRows ?? 0) late rows)" : ""))
                } else if let e = o.error {
                    lines.append("\(o.dataset): failed: \(e)")
                } else if !global.quiet {
                    lines.append("\(o.dataset): nothing new in \(Timestamp.isoSeconds(o.windowFromUs)) – \(Timestamp.isoSeconds(o.windowToUs))")
                }
            }
            return (lines, summary)
        }
        for l in lines where !global.quiet || l.contains(": failed: ") { Terminal.out(l + "\n") }
        Terminal.out("export: " + summary.line + "\n")
        if !summary.failed.isEmpty {
            throw summary.failed.count == summary.outcomes.count ? ExitCode(1) : Exit.losses
        }
    }

    static func parse<T: RawRepresentable>(_ value: String?, _ key: String, default d: T) throws -> T where T.RawValue == String {
        guard let value else { return d }
        guard let v = T(rawValue: value) else { throw CLIError(message: "config \(key): '\(value)' is not valid") }
        return v
    }
}
