import AuditCore

/// What `Exporter` does: which datasets, where, which window and file format.
public struct ExportOptions {
    /// The folder the files are published in (created when missing).
    public var directory: String
    /// Dataset names; empty means every dataset.
    public var datasets: [String] = []
    /// An explicit window (`--since/--until`): exports exactly `[from, to)` by event time and
    /// moves no watermark. Nil: incremental, from each dataset's watermark.
    public var windowFromUs: Int64?
    public var windowToUs: Int64?
    /// Only rows of this resource (ARM id or account name); needs an explicit window, moves no
    /// watermark, and the file is named `<dataset>-<account>_<from>_<to>…` so a SIEM never takes
    /// it for the whole dataset.
    public var resource: String?
    public var format: ExportFormat = .csv
    public var compression: ExportCompression = .gzip
    public var gzipLevel: Int32 = 6
    /// Written into every manifest.
    public var toolVersion: String = "unknown"
    /// The current time (injected by tests).
    public var nowUs: Int64 = TimeArgument.nowMicros()
    /// Called after each durable step with the path written. The CLI uses it only for its
    /// documented crash-test hook; a library never aborts by itself.
    public var afterStage: ((ExportStage, String) -> Void)?

    public init(directory: String) { self.directory = directory }
}

/// Durable steps of one dataset's export, in order.
public enum ExportStage: String, Sendable {
    /// The data file has its final name (its manifest does not exist yet).
    case data
    /// The manifest has its final name (the watermark has not moved yet).
    case manifest
}

/// What happened to one dataset.
public struct DatasetOutcome: Sendable {
    public var dataset: String
    public var windowFromUs: Int64 = 0
    public var windowToUs: Int64 = 0
    /// The published data file, nil for an empty window or a failure.
    public var path: String?
    public var manifest: ExportManifest?
    /// Data files of an interrupted earlier run whose manifest this run completed.
    public var recovered: [String] = []
    /// The one-line error, nil on success.
    public var error: String?

    public init(dataset: String) { self.dataset = dataset }

    public var rows: Int64 { manifest?.rows ?? 0 }
    public var bytes: Int64 { manifest?.bytes ?? 0 }
}

/// Everything one export run did.
public struct ExportSummary: Sendable {
    public var outcomes: [DatasetOutcome]
    /// Files removed by `ExportPruner` (when asked for).
    public var pruned: [String] = []

    public init(outcomes: [DatasetOutcome]) { self.outcomes = outcomes }

    public var failed: [DatasetOutcome] { outcomes.filter { $0.error != nil } }
    public var files: Int { outcomes.filter { $0.path != nil }.count }
    public var rows: Int64 { outcomes.reduce(0) { $0 + $1.rows } }
    public var bytes: Int64 { outcomes.reduce(0) { $0 + $1.bytes } }

    /// `3 files, 1,234 rows, 56,789 bytes; 2 empty windows; 1 failed (bursts)`.
    public var line: String {
        let empty = outcomes.filter { $0.error == nil && $0.path == nil }.count
        var s = "\(files) file\(files == 1 ? "" : "s"), \(rows) rows, \(bytes) bytes"
        if empty > 0 { s += "; \(empty) empty window\(empty == 1 ? "" : "s")" }
        let recovered = outcomes.reduce(0) { $0 + $1.recovered.count }
        if recovered > 0 { s += "; \(recovered) interrupted export\(recovered == 1 ? "" : "s") completed" }
        if !pruned.isEmpty { s += "; \(pruned.count) old files pruned" }
        if !failed.isEmpty { s += "; \(failed.count) failed (\(failed.map(\.dataset).joined(separator: ", ")))" }
        return s
    }
}
