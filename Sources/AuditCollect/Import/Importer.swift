import AuditCore
import AuditStore
import Dispatch
import Foundation

/// Options of `aoai-audit import`.
public struct ImportOptions: Sendable {
    public var kind: ImportKind?
    /// A record (line or array element) longer than this is quarantined unread.
    public var maxRecordBytes = 64 << 20
    /// The source name rows are attributed to.
    public var source = "import"
    /// Records per transaction.
    public var batchRecords = 20_000
    /// Parser threads.
    public var workers = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
    /// Called after each batch (on the importing thread).
    public var progress: (@Sendable (ImportProgress) -> Void)?

    public init() {}
}

public struct ImportProgress: Sendable {
    public var path: String
    public var fileBytesDone: Int64
    public var fileBytesTotal: Int64
    public var filesDone: Int
    public var filesTotal: Int
    public var recordsRead: Int
}

/// What happened to one input.
public struct FileOutcome: Sendable {
    public var path: String
    public var format: String
    public var read = 0
    public var counts = WriteCounts()
    public var skipped = 0
    /// The file was loaded before and has not changed since: nothing was read.
    public var unchanged = false
    /// A problem that stopped this input (unreadable, unrecognized, damaged gzip…).
    public var error: String?
}

public struct ImportSummary: Sendable {
    public var files: [FileOutcome] = []
    /// Changes derived after loading (api-version switches per caller).
    public var derivedChanges = 0

    public var totals: WriteCounts { files.reduce(into: WriteCounts()) { $0 += $1.counts } }
    public var read: Int { files.reduce(0) { $0 + $1.read } }
    public var skipped: Int { files.reduce(0) { $0 + $1.skipped } }
    public var failedFiles: [FileOutcome] { files.filter { $0.error != nil } }
    public var unchangedFiles: Int { files.filter(\.unchanged).count }
    /// True when something was lost: records quarantined or files not loaded.
    public var hasLosses: Bool { totals.quarantined > 0 || !failedFiles.isEmpty }
}

/// Errors that stop an import before it starts.
public enum ImportError: Error, Sendable, CustomStringConvertible {
    case noSuchPath(String)

    public var description: String {
        switch self {
        case .noSuchPath(let p): return "no such file or folder: \(p)"
        }
    }
}

/// Loads files, folders (recursively) and git repositories into the store.
public final class Importer {
    let database: Database
    let options: ImportOptions
    let runID: Int64?
    let pipeline: WritePipeline
    /// Checkpoints of this source read before the import starts (the connection then belongs
    /// to the writer thread).
    var checkpoints: [String: String] = [:]

    public init(database: Database, options: ImportOptions, runID: Int64? = nil) {
        self.database = database
        self.options = options
        self.runID = runID
        pipeline = WritePipeline(writer: StoreWriter(database: database), source: options.source, runID: runID)
    }

    /// Expands folders (sorted, hidden entries skipped); a folder holding `.git` is a repository.
    public static func expand(_ paths: [String]) throws -> [(path: String, isRepository: Bool)] {
        var out: [(String, Bool)] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw ImportError.noSuchPath(p) }
            let abs = URL(fileURLWithPath: p).standardizedFileURL.path
            if !isDir.boolValue { out.append((abs, false)); continue }
            if fm.fileExists(atPath: abs + "/.git") { out.append((abs, true)); continue }
            var stack = [abs]
            var files: [(String, Bool)] = []
            while let dir = stack.popLast() {
                let entries = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
                for e in entries where !e.hasPrefix(".") {
                    let full = dir + "/" + e
                    var d: ObjCBool = false
                    guard fm.fileExists(atPath: full, isDirectory: &d) else { continue }
                    if d.boolValue {
                        if fm.fileExists(atPath: full + "/.git") { files.append((full, true)) } else { stack.append(full) }
                    } else {
                        files.append((full, false))
                    }
                }
            }
            out += files.sorted { $0.0 < $1.0 }
        }
        return out
    }

    public func run(paths: [String]) throws -> ImportSummary {
        let inputs = try Self.expand(paths)
        for row in try database.connection.rows("SELECT key, value FROM checkpoints WHERE source = ?1", [.text(options.source)]) {
            if let k = row[0].text, let v = row[1].text { checkpoints[k] = v }
        }
        var summary = ImportSummary()
        for (i, input) in inputs.enumerated() {
            var outcome: FileOutcome
            if input.isRepository {
                outcome = try importRepository(input.path, index: i)
            } else {
                outcome = try importFile(input.path, index: i, total: inputs.count)
            }
            if outcome.error != nil { outcome.error = Redactor.redact(outcome.error ?? "") }
            summary.files.append(outcome)
        }
        try pipeline.drain()
        for i in summary.files.indices where !summary.files[i].unchanged {
            summary.files[i].counts = pipeline.counts(for: i)
        }
        // The writer thread is idle now: derive what needs every batch (api-version switches).
        if summary.totals.requests > 0 {
            summary.derivedChanges = try StoreWriter(database: database).deriveAPIVersionChanges(source: options.source)
        }
        return summary
    }

    // MARK: - Repositories

    func importRepository(_ path: String, index: Int) throws -> FileOutcome {
        var outcome = FileOutcome(path: path, format: "git repository")
        guard options.kind == nil || options.kind == .sdkVersions else {
            outcome.error = "\(path) is a git repository, not \(options.kind?.rawValue ?? "")"
            return outcome
        }
        let changes: [ChangeRecord]
        do {
            changes = try LockfileHistory(repository: path).read()
        } catch {
            outcome.error = "\(path): \(error.localizedDescription)"
            return outcome
        }
        var batch = RecordBatch()
        batch.changes = changes
        batch.read = changes.count
        outcome.read = changes.count
        try pipeline.submit(batch, input: index, checkpoint: nil)
        return outcome
    }
}
