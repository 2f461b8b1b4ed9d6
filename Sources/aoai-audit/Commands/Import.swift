import ArgumentParser
import AuditCollect
import AuditCore
import AuditStore
import Foundation

extension ImportKind: ExpressibleByArgument {}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load exported logs, feeds and git repositories from files or folders.",
        discussion: """
            Formats are detected per file and per record: Activity Log REST pages, bare arrays, export \
            JSON lines and Event Hub {"records":[…]} bodies; Azure OpenAI diagnostic logs; Log Analytics \
            query results; Key Vault AuditEvent records; RSS/Atom/Statuspage status feeds; git repositories \
            (lockfile history). .gz files are read transparently. Loading the same data again changes \
            nothing. Malformed records are quarantined with file:line and reason; the rest loads.

            Examples:
              aoai-audit import ./exports/insights-logs-requestresponse
              aoai-audit import activity.json.gz --kind activity-log --db audit.db
              aoai-audit import ../checkout-service            # a git repository

            Exit: 0 everything loaded; 3 records quarantined or a file not loaded; 1 failed.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Files or folders (recursive) to load.")
    var paths: [String]

    @Option(help: ArgumentHelp("Force one format: \(ImportKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var kind: ImportKind?

    @Option(help: ArgumentHelp("Longest record accepted, in bytes; longer ones are quarantined.", valueName: "bytes"))
    var maxRecordBytes: Int = 64 << 20

    @Flag(help: "Print one line per file.")
    var verbose = false

    mutating func run() throws {
        let summary: ImportSummary = try userFacing {
            let (db, _) = try global.openDatabase()
            var options = ImportOptions()
            options.kind = kind
            options.maxRecordBytes = maxRecordBytes
            let progress = ProgressLine(enabled: Terminal.stderrIsTTY && !global.quiet)
            options.progress = { p in progress.update(p) }
            let run = try db.beginRun(command: "import")
            let importer = Importer(database: db, options: options, runID: run)
            let summary = try importer.run(paths: paths)
            progress.clear()
            let t = summary.totals
            try db.recordSourceRun(name: "import", type: "import", success: summary.failedFiles.isEmpty,
                                   error: summary.failedFiles.first?.error, records: t.loaded)
            try db.finishRun(id: run, status: summary.hasLosses ? "losses" : "ok", summary: Self.line(summary))
            return summary
        }
        if verbose {
            for f in summary.files {
                let state = f.unchanged ? "unchanged, skipped" : f.error != nil ? "NOT LOADED" : "read \(f.read), loaded \(f.counts.loaded), duplicates \(f.counts.duplicates), quarantined \(f.counts.quarantined)"
                Terminal.out("\(f.path) [\(f.format)]: \(state)\n")
            }
        }
        for f in summary.failedFiles { Terminal.err("error: \(f.error ?? "")") }
        Terminal.out(Self.line(summary) + "\n")
        if summary.totals.quarantined > 0 && !global.quiet {
            Terminal.out("see them with: aoai-audit query quarantine_summary\n")
        }
        if summary.hasLosses { throw Exit.losses }
    }

    static func line(_ s: ImportSummary) -> String {
        let t = s.totals
        var parts = ["files \(s.files.count)", "read \(s.read)", "loaded \(t.loaded)", "duplicates skipped \(t.duplicates)", "quarantined \(t.quarantined)"]
        if s.skipped > 0 { parts.append("no-change records \(s.skipped)") }
        if s.unchangedFiles > 0 { parts.append("unchanged files \(s.unchangedFiles)") }
        if !s.failedFiles.isEmpty { parts.append("files not loaded \(s.failedFiles.count)") }
        let detail = "activity \(t.activity), requests \(t.requests) (failures \(t.failures)), changes \(t.changes + s.derivedChanges), incidents \(t.incidents)"
        return parts.joined(separator: ", ") + " — " + detail
    }
}

/// A single self-overwriting progress line on stderr, only on a TTY.
final class ProgressLine: @unchecked Sendable {
    // Called only from the importing thread; the lock guards against a future change of that.
    private let lock = NSLock()
    private let enabled: Bool
    private var last: UInt64 = 0

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: ImportProgress) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - last > 200_000_000 else { return }
        last = now
        let pct = p.fileBytesTotal > 0 ? Int(100 * p.fileBytesDone / max(1, p.fileBytesTotal)) : 0
        let name = (p.path as NSString).lastPathComponent
        Terminal.err("\r\u{1B}[K[\(p.filesDone + 1)/\(p.filesTotal)] \(name) \(pct)% — \(p.recordsRead) records", newline: false)
    }

    func clear() {
        guard enabled else { return }
        Terminal.err("\r\u{1B}[K", newline: false)
    }
}

extension Terminal {
    static func err(_ s: String, newline: Bool) {
        FileHandle.standardError.write(Data((newline ? s + "\n" : s).utf8))
    }
}
