import AuditCore
import AuditStore
import Foundation

/// Exports datasets from the store into published files with manifests, exactly once.
///
/// Per dataset and run:
/// 1. An interrupted earlier export (a `pending:<dataset>` checkpoint) is completed first: if
///    its data file was published, its manifest is written and the watermark moved, so the file
///    a SIEM may already have read is adopted, never repeated; if not, the record is dropped.
/// 2. Rows stream from SQLite into a dot-prefixed temp file (gzip or plain), hashed as they go;
///    the temp file is fsynced.
/// 3. The manifest-to-be is committed as `pending:<dataset>`; the data file is renamed to its
///    final name and the folder fsynced; the manifest is written the same way.
/// 4. One transaction moves the watermark (`dataset:<name>`) and drops the pending record.
///
/// Incremental window: every row with event time in `[watermark, now − settle)` plus every row
/// with an older event time inserted since the last export (a sequence above the watermark's).
public final class Exporter {
    public static let checkpointSource = "export"
    let db: Database
    let options: ExportOptions
    let catalog: ExportCatalog

    public init(database: Database, options: ExportOptions) throws(ExportError) {
        db = database
        self.options = options
        catalog = try ExportCatalog()
    }

    /// Runs the export of every selected dataset, recording the run in `runs`. A dataset that
    /// fails is reported in its outcome and the others still run.
    /// - Throws: only when nothing can run (unknown dataset, unusable folder, database error).
    public func run() throws -> ExportSummary {
        let datasets = try catalog.select(options.datasets)
        if let f = options.windowFromUs, let t = options.windowToUs, f >= t { throw ExportError.badWindow(message: "--since must be before --until") }
        if (options.windowFromUs == nil) != (options.windowToUs == nil) { throw ExportError.badWindow(message: "give both --since and --until, or neither") }
        if options.resource != nil && options.windowFromUs == nil {
            throw ExportError.badWindow(message: "--resource exports an explicit window: give --since and --until too (it never moves the watermark)")
        }
        do {
            try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
        } catch {
            throw ExportError.io(path: options.directory, message: "cannot create the folder")
        }
        ExportPruner.sweepTemporaryFiles(in: options.directory)
        let runID = try db.beginRun(command: "export")
        var outcomes: [DatasetOutcome] = []
        for ds in datasets {
            var outcome = DatasetOutcome(dataset: ds.name)
            do {
                outcome.recovered = try recoverPending(ds)
                try export(ds, into: &outcome)
            } catch {
                outcome.error = Redactor.redact(String(describing: error))
            }
            outcomes.append(outcome)
        }
        if outcomes.allSatisfy({ $0.error == nil }) {
            do {
                try writeSuccessMarker(runID: runID, outcomes: outcomes)
            } catch {
                var marker = DatasetOutcome(dataset: ExportNaming.successMarker)
                marker.error = "not written: " + Redactor.redact(String(describing: error))
                outcomes.append(marker)
            }
        }
        let summary = ExportSummary(outcomes: outcomes)
        try db.finishRun(id: runID, status: summary.failed.isEmpty ? "ok" : "failed", summary: summary.line)
        return summary
    }

    /// `_SUCCESS`: what this run published (`ExportNaming.successMarker`), as JSON:
    /// `{"schema_version":1,"run_id":…,"finished":…,"tool_version":…,"files":[{"dataset","file","manifest","rows"}],
    /// "empty_datasets":[…],"completed_interrupted":[…]}`. Written last, replacing the previous one.
    func writeSuccessMarker(runID: Int64, outcomes: [DatasetOutcome]) throws {
        var files: [JSONValue] = []
        for o in outcomes {
            guard let path = o.path, let m = o.manifest else { continue }
            let name = (path as NSString).lastPathComponent
            files.append(.object(JSONObject([("dataset", .string(o.dataset)), ("file", .string(name)),
                                             ("manifest", .string(name + ExportNaming.manifestSuffix)), ("rows", .number(String(m.rows)))])))
        }
        let empty = outcomes.filter { $0.path == nil }.map { JSONValue.string($0.dataset) }
        let recovered = outcomes.flatMap(\.recovered).map { JSONValue.string(($0 as NSString).lastPathComponent) }
        let doc = JSONValue.object(JSONObject([
            ("schema_version", .number("1")), ("run_id", .number(String(runID))), ("finished", .string(Timestamp.iso(TimeArgument.nowMicros()))),
            ("tool_version", .string(options.toolVersion)), ("files", .array(files)), ("empty_datasets", .array(empty)),
            ("completed_interrupted", .array(recovered)),
        ]))
        try AtomicFile.writeWhole(doc.serialized + "\n", directory: options.directory, name: ExportNaming.successMarker, replacing: true)
    }

    // MARK: - One dataset

    struct Pass {
        var fromUs: Int64, toUs: Int64, seqFrom: Int64, seqTo: Int64
        var late: Bool
    }

    func export(_ ds: ExportDataset, into outcome: inout DatasetOutcome) throws {
        let conn = db.connection
        var passes: [Pass] = []
        let previousText = try watermarkText(ds)
        var newMark: ExportWatermark?
        if let from = options.windowFromUs, let to = options.windowToUs {
            passes.append(Pass(fromUs: from, toUs: to, seqFrom: .min, seqTo: .max, late: false))
            outcome.windowFromUs = from
            outcome.windowToUs = to
        } else {
            let previous = previousText.flatMap(ExportWatermark.init(text:))
            // The sequence bound first: a row at or below it was committed before the minimum
            // time below is read, so the first window's start cannot miss it.
            var seqMax: Int64?
            if let col = ds.sequenceColumn {
                seqMax = try conn.scalar("SELECT max(\(col)) FROM \(ds.table)")?.integer ?? previous?.sequence ?? 0
            }
            var to = Timestamp.minuteFloor(options.nowUs - ds.settleUs)
            let from: Int64
            if let previous {
                from = previous.toUs
                if let prevSeq = previous.sequence, let seqMax {
                    passes.append(Pass(fromUs: .min, toUs: from, seqFrom: prevSeq, seqTo: seqMax, late: true))
                }
            } else if let first = try conn.scalar("SELECT min(\(ds.timeColumn)) FROM \(ds.table)")?.integer {
                from = min(to, first - ((first % Timestamp.microsPerDay) + Timestamp.microsPerDay) % Timestamp.microsPerDay)
            } else {
                from = to
            }
            to = max(to, from)
            passes.append(Pass(fromUs: from, toUs: to, seqFrom: .min, seqTo: seqMax ?? .max, late: false))
            newMark = ExportWatermark(toUs: to, sequence: seqMax)
            outcome.windowFromUs = from
            outcome.windowToUs = to
        }

        var sql = ds.sql
        var fileDataset = ds.name
        var resourceText: String?
        if let r = options.resource {
            // Filter by resource around the dataset's own query (its columns and order stay).
            let probe = try conn.prepare(ds.sql, cached: false)
            guard probe.columnNames.contains("resource_id") else {
                throw ExportError.badDataset(name: ds.name, message: "has no resource_id column, so --resource does not apply")
            }
            var inner = ds.sql.trimmingSpaces
            while inner.hasSuffix(";") { inner.removeLast() }
            sql = "SELECT * FROM (\n\(inner)\n) WHERE resource_id = :resource OR resource_id LIKE '%/' || :resource ORDER BY time"
            let canonical = ResourceID.argument(r)
            resourceText = canonical
            fileDataset = ds.name + "-" + ResourceID(canonical).shortName.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        }
        let name = ExportNaming.freeDataFileName(in: options.directory, dataset: fileDataset, fromUs: outcome.windowFromUs, toUs: outcome.windowToUs,
                                                 format: options.format, compression: options.compression)
        let file = try AtomicFile(directory: options.directory, finalName: name, gzipLevel: options.compression == .gzip ? options.gzipLevel : nil)
        // The query reads each page once: SQLite's page cache (64 MiB on this connection) would
        // only fill up and hold memory. Capped for the export (2 MiB, SQLite's default size),
        // restored afterwards; 5 M rows then peak at about 40 MB instead of 100 MB.
        let cacheSize = try conn.scalar("PRAGMA cache_size")?.integer
        if cacheSize != nil { try conn.execute("PRAGMA cache_size = -2048") }
        defer { if let cacheSize { try? conn.execute("PRAGMA cache_size = \(cacheSize)") } }
        let statement = try conn.prepare(sql, cached: false)
        let columns = statement.columnNames
        guard columns.first == "time" else { throw ExportError.badDataset(name: ds.name, message: "the first column must be `time`") }
        let encoder = RowEncoder(format: options.format, columns: columns)
        var buffer = Array(encoder.header.utf8)
        buffer.reserveCapacity(1 << 17)
        var rows: Int64 = 0, late: Int64 = 0
        var minTime: [UInt8]?, maxTime: [UInt8]?
        var minUs: Int64?, maxUs: Int64?
        for pass in passes {
            statement.reset()
            let values: [String: Int64] = ["from": pass.fromUs, "to": pass.toUs, "seq_from": pass.seqFrom, "seq_to": pass.seqTo]
            for (i, p) in statement.parameterNames.enumerated() {
                if p == ":resource", let resourceText { try statement.bind(.text(resourceText), at: Int32(i + 1)); continue }
                guard let p, let v = values[String(p.dropFirst())] else { throw ExportError.badDataset(name: ds.name, message: "unknown parameter \(p ?? "?")") }
                try statement.bind(.integer(v), at: Int32(i + 1))
            }
            while try statement.step() {
                if let t = encoder.encode(statement, into: &buffer) {
                    minUs = min(minUs ?? t, t)
                    maxUs = max(maxUs ?? t, t)
                } else {
                    statement.withTextBytes(at: 0) { t in
                        guard !t.isEmpty else { return }
                        // ISO times in one fixed format compare as bytes.
                        if let m = minTime { if t.lexicographicallyPrecedes(m) { minTime = Array(t) } } else { minTime = Array(t) }
                        if let m = maxTime { if m.lexicographicallyPrecedes(t) { maxTime = Array(t) } } else { maxTime = Array(t) }
                    }
                }
                rows += 1
                if pass.late { late += 1 }
                if buffer.count >= 1 << 16 {
                    try file.write(bytes: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        statement.reset()
        if rows == 0 {
            file.discard()
            if let newMark { try advance(ds, from: previousText, to: newMark) }
            return
        }
        try file.write(bytes: buffer)
        let sha = try file.finish()
        let manifest = ExportManifest(
            dataset: ds.name, datasetSchemaVersion: ds.schemaVersion, file: name, format: options.format, compression: options.compression,
            columns: columns, rows: rows, bytes: file.bytes, sha256: sha, minEventTime: minUs.map(Timestamp.iso) ?? minTime.map { String(decoding: $0, as: UTF8.self) },
            maxEventTime: maxUs.map(Timestamp.iso) ?? maxTime.map { String(decoding: $0, as: UTF8.self) }, lateRows: late,
            windowFromUs: outcome.windowFromUs, windowToUs: outcome.windowToUs,
            watermarkFrom: previousText.flatMap(ExportWatermark.init(text:)), watermarkTo: newMark,
            toolVersion: options.toolVersion, createdUs: options.nowUs)
        let finalPath = (options.directory as NSString).appendingPathComponent(name)
        let pending = JSONValue.object(JSONObject([("path", .string(finalPath)), ("manifest", .string(manifest.json))])).serialized
        try conn.transaction { try setCheckpoint("pending:" + ds.name, pending) }
        try file.publish()
        options.afterStage?(.data, finalPath)
        let manifestPath = try AtomicFile.writeWhole(manifest.json, directory: options.directory, name: name + ExportNaming.manifestSuffix)
        options.afterStage?(.manifest, manifestPath)
        try complete(ds, manifest: manifest, previousText: previousText)
        outcome.path = finalPath
        outcome.manifest = manifest
    }

    // MARK: - Watermarks and recovery

    func watermarkText(_ ds: ExportDataset) throws(StoreError) -> String? {
        try db.checkpoint(source: Self.checkpointSource, key: "dataset:" + ds.name)
    }

    func setCheckpoint(_ key: String, _ value: String) throws {
        try db.connection.run("""
            INSERT INTO checkpoints(source, key, value, updated_us) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT(source, key) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us
            """, [.text(Self.checkpointSource), .text(key), .text(value), .integer(TimeArgument.nowMicros())])
    }

    /// Moves the watermark from `previous` (compare-and-set) to `mark`.
    func advance(_ ds: ExportDataset, from previous: String?, to mark: ExportWatermark) throws {
        try db.connection.transaction {
            guard try watermarkText(ds) == previous else { throw ExportError.concurrentExport(dataset: ds.name) }
            try setCheckpoint("dataset:" + ds.name, mark.text)
        }
    }

    /// After the manifest is durable: one transaction moves the watermark (incremental exports)
    /// and drops the pending record.
    func complete(_ ds: ExportDataset, manifest: ExportManifest, previousText: String?) throws {
        try db.connection.transaction {
            if let mark = manifest.watermarkTo {
                guard try watermarkText(ds) == previousText else { throw ExportError.concurrentExport(dataset: ds.name) }
                try setCheckpoint("dataset:" + ds.name, mark.text)
            }
            try db.connection.run("DELETE FROM checkpoints WHERE source = ?1 AND key = ?2", [.text(Self.checkpointSource), .text("pending:" + ds.name)])
        }
    }

    /// Completes an export interrupted after its pending record was committed.
    /// - Returns: the data file adopted, if its manifest had to be written.
    func recoverPending(_ ds: ExportDataset) throws -> [String] {
        guard let text = try db.checkpoint(source: Self.checkpointSource, key: "pending:" + ds.name) else { return [] }
        guard let v = try? JSONParser.parse(text), let path = v["path"]?.text, let m = v["manifest"]?.text.flatMap(ExportManifest.parse) else {
            throw ExportError.recovery(path: "checkpoint pending:\(ds.name)", message: "the pending record is unreadable")
        }
        let previousText = try watermarkText(ds)
        guard FileManager.default.fileExists(atPath: path) else {
            // Interrupted before the rename: nothing was published; the temp file is swept.
            try db.connection.run("DELETE FROM checkpoints WHERE source = ?1 AND key = ?2", [.text(Self.checkpointSource), .text("pending:" + ds.name)])
            return []
        }
        if m.isIncremental, previousText.flatMap(ExportWatermark.init(text:)) != m.watermarkFrom {
            throw ExportError.recovery(path: path, message: "the watermark moved since this file was written")
        }
        var adopted: [String] = []
        let manifestPath = path + ExportNaming.manifestSuffix
        if !FileManager.default.fileExists(atPath: manifestPath) {
            let (sha, bytes) = try AtomicFile.sha256(ofFile: path)
            guard sha == m.sha256, bytes == m.bytes else { throw ExportError.recovery(path: path, message: "its SHA-256 is not the one recorded before it was published") }
            try AtomicFile.writeWhole(m.json, directory: (path as NSString).deletingLastPathComponent, name: (manifestPath as NSString).lastPathComponent)
            adopted.append(path)
        }
        try complete(ds, manifest: m, previousText: previousText)
        return adopted
    }
}
