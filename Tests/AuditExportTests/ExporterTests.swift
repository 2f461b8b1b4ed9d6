import AuditCore
import AuditExport
import AuditStore
import AuditTestSupport
import Foundation
import Testing

/// A temp database with `changes` rows and an output folder.
struct ExportFixture {
    let dir = TestSupport.makeTempDirectory("aoai-audit-export")
    let db: Database
    var out: String { dir.appendingPathComponent("out").path }
    static let day = Timestamp.make(year: 2026, month: 11, day: 23)!
    static let now = day + 7 * Timestamp.microsPerDay

    init() throws { db = try Database(path: dir.appendingPathComponent("audit.db").path) }

    func addChange(_ key: String, at us: Int64, summary: String = "key rotated") throws {
        try db.connection.run("INSERT INTO changes(dedupe_key, time_us, kind, resource_id, summary, source_kind, source) VALUES (?1, ?2, 'key_rotation', '/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/a', ?3, 'activity', 'test')",
                              [.text(key), .integer(us), .text(summary)])
    }

    func options(now: Int64 = ExportFixture.now) -> ExportOptions {
        var o = ExportOptions(directory: out)
        o.datasets = ["changes"]
        o.nowUs = now
        o.toolVersion = "test"
        return o
    }

    func export(_ o: ExportOptions? = nil) throws -> DatasetOutcome {
        let s = try Exporter(database: db, options: o ?? options()).run()
        #expect(s.failed.isEmpty, "\(s.failed.map { $0.error ?? "" })")
        return try #require(s.outcomes.first)
    }

    func watermark() throws -> ExportWatermark? {
        try db.checkpoint(source: "export", key: "dataset:changes").flatMap(ExportWatermark.init(text:))
    }

    /// The published files, without the `_SUCCESS` marker (its own tests read it).
    func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0 != ExportNaming.successMarker }.sorted() }

    /// The `_SUCCESS` marker, nil when absent.
    func marker() throws -> JSONValue? {
        let path = (out as NSString).appendingPathComponent(ExportNaming.successMarker)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return try JSONParser.parse(text)
    }

    func csvLines(_ path: String) throws -> [String] {
        let r = try TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(path)'"])
        return r.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }
}

@Suite struct ExporterTests {
    @Test func incrementalExportWritesDataAndAManifestThatDescribesIt() throws {
        let f = try ExportFixture()
        try f.addChange("a", at: ExportFixture.day + 1_000_000)
        try f.addChange("b", at: ExportFixture.day + 2 * Timestamp.microsPerDay, summary: "=cmd|' /C calc'!A0")
        let o = try f.export()
        let path = try #require(o.path)
        let m = try #require(o.manifest)
        #expect((path as NSString).lastPathComponent == "changes_20261123T000000Z_20261129T235500Z.csv.gz")
        #expect(f.files() == ["changes_20261123T000000Z_20261129T235500Z.csv.gz", "changes_20261123T000000Z_20261129T235500Z.csv.gz.manifest.json"])
        let (sha, bytes) = try AtomicFile.sha256(ofFile: path)
        #expect(m.sha256 == sha && m.bytes == bytes && m.rows == 2 && m.lateRows == 0)
        #expect(m.columns.first == "time" && m.dataset == "changes" && m.datasetSchemaVersion == 1 && m.toolVersion == "test")
        #expect(m.minEventTime == "2026-11-23T00:00:01.000000Z" && m.maxEventTime == "2026-11-25T00:00:00.000000Z")
        #expect(m.watermarkFrom == nil && m.watermarkTo == ExportWatermark(toUs: ExportFixture.now - 5 * Timestamp.microsPerMinute, sequence: 2))
        let text = try #require(try? String(contentsOfFile: path + ".manifest.json", encoding: .utf8))
        #expect(ExportManifest.parse(text) == m)
        #expect(text.hasPrefix(#"{"schema_version":1,"dataset":"changes","#))
        #expect(try f.watermark() == m.watermarkTo)
        let lines = try f.csvLines(path)
        #expect(lines.count == 3 && lines[0].hasPrefix("time,kind,resource_id,"))
        #expect(lines[2].contains(",'=cmd|' /C calc'!A0,"))
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o640)
    }

    @Test func nothingNewWritesNoFileAndLateRowsComeOnceInTheNextFile() throws {
        let f = try ExportFixture()
        try f.addChange("a", at: ExportFixture.day)
        _ = try f.export()
        #expect(f.files().count == 2)
        // A second run with nothing new: no file, but the run is recorded and the watermark moves.
        let empty = try f.export(f.options(now: ExportFixture.now + Timestamp.microsPerHour))
        #expect(empty.path == nil && f.files().count == 2)
        #expect(try f.db.connection.scalar("SELECT count(*) FROM runs WHERE command = 'export'")?.integer == 2)
        // A row loaded now with an event time long exported: it is in the next file, once.
        try f.addChange("late", at: ExportFixture.day - Timestamp.microsPerDay)
        try f.addChange("new", at: ExportFixture.now + 90 * Timestamp.microsPerMinute)
        let next = try f.export(f.options(now: ExportFixture.now + 2 * Timestamp.microsPerHour))
        let m = try #require(next.manifest)
        #expect(m.rows == 2 && m.lateRows == 1)
        #expect(m.minEventTime == "2026-11-22T00:00:00.000000Z")
        let again = try f.export(f.options(now: ExportFixture.now + 3 * Timestamp.microsPerHour))
        #expect(again.path == nil)
    }

    @Test func theWatermarkMovesOnlyAfterTheManifestIsDurable() throws {
        let f = try ExportFixture()
        try f.addChange("a", at: ExportFixture.day)
        var o = f.options()
        nonisolated(unsafe) var seen: [String] = []
        let db = f.db
        o.afterStage = { stage, path in
            let mark = (try? db.checkpoint(source: "export", key: "dataset:changes")) ?? nil
            let pending = (try? db.checkpoint(source: "export", key: "pending:changes")) ?? nil
            let manifest = FileManager.default.fileExists(atPath: (stage == .data ? path + ".manifest.json" : path))
            seen.append("\(stage.rawValue): watermark \(mark == nil ? "unset" : "set"), pending \(pending == nil ? "no" : "yes"), manifest \(manifest)")
        }
        _ = try f.export(o)
        #expect(seen == ["data: watermark unset, pending yes, manifest false", "manifest: watermark unset, pending yes, manifest true"])
        #expect(try f.watermark() != nil)
        #expect(try f.db.checkpoint(source: "export", key: "pending:changes") == nil)
    }

    @Test func aCrashBetweenDataAndManifestIsCompletedNotRepeated() throws {
        let f = try ExportFixture()
        try f.addChange("a", at: ExportFixture.day)
        var o = f.options()
        nonisolated(unsafe) var pending: String?
        let db = f.db
        o.afterStage = { stage, _ in if stage == .data { pending = (try? db.checkpoint(source: "export", key: "pending:changes")) ?? nil } }
        let first = try f.export(o)
        let path = try #require(first.path)
        // Put the store and folder back in the state a kill -9 after the data rename leaves.
        try FileManager.default.removeItem(atPath: path + ".manifest.json")
        try f.db.connection.run("DELETE FROM checkpoints WHERE source = 'export'")
        try f.db.connection.run("INSERT INTO checkpoints(source, key, value, updated_us) VALUES ('export', 'pending:changes', ?1, 0)", [.text(try #require(pending))])
        let rerun = try f.export(f.options(now: ExportFixture.now + Timestamp.microsPerHour))
        #expect(rerun.recovered == [path])
        #expect(rerun.path == nil, "the rows of the adopted file must not be exported again")
        #expect(f.files().count == 2)
        #expect(first.manifest?.watermarkTo?.sequence == 1)
        #expect(try f.watermark() == ExportWatermark(toUs: ExportFixture.now + Timestamp.microsPerHour - 5 * Timestamp.microsPerMinute, sequence: 1))
    }

    @Test func anExplicitWindowExportsExactlyItAndMovesNoWatermark() throws {
        let f = try ExportFixture()
        try f.addChange("in", at: ExportFixture.day + 5)
        try f.addChange("out", at: ExportFixture.day + Timestamp.microsPerDay)
        var o = f.options()
        o.windowFromUs = ExportFixture.day
        o.windowToUs = ExportFixture.day + Timestamp.microsPerDay
        o.format = .ndjson
        o.compression = .none
        let a = try f.export(o)
        let b = try f.export(o)
        #expect(a.manifest?.rows == 1 && a.manifest?.watermarkTo == nil)
        #expect((a.path as NSString?)?.lastPathComponent == "changes_20261123T000000Z_20261124T000000Z.ndjson")
        #expect((b.path as NSString?)?.lastPathComponent == "changes_20261123T000000Z_20261124T000000Z_r2.ndjson")
        #expect(try f.watermark() == nil)
        let line = try String(contentsOfFile: try #require(a.path), encoding: .utf8)
        #expect(line.hasPrefix(#"{"time":"2026-11-23T00:00:00.000005Z","kind":"key_rotation","#) && line.hasSuffix("}\n"))
    }

    /// Enough rows for several 1 MiB compression blocks: the file is one gzip member holding
    /// every row once, in order, and the manifest's SHA-256 and size are the file's.
    @Test func aLargeExportSpansManyBlocksAndTheManifestDescribesTheFile() throws {
        let f = try ExportFixture()
        let n = 25_000
        try f.db.connection.transaction {
            for i in 0..<n { try f.addChange("k\(i)", at: ExportFixture.day + Int64(i) * 1_000_000, summary: "key \(i) rotated by someone@example.com from 10.0.\(i % 250).\(i % 7)") }
        }
        let o = try f.export()
        let path = try #require(o.path)
        let m = try #require(o.manifest)
        let gz = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let (bytes, members) = try inflateMembers(gz)
        #expect(bytes.count > 3 << 20, "the CSV should span several blocks")
        #expect(members == 1)
        let (sha, size) = try AtomicFile.sha256(ofFile: path)
        #expect(m.sha256 == sha && m.bytes == size && size == Int64(gz.count) && m.rows == Int64(n))
        let lines = try f.csvLines(path)
        #expect(lines.count == n + 1)
        #expect(lines[1].contains("key 0 rotated") && lines[n].contains("key \(n - 1) rotated"))
        #expect(String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty } == lines)
    }

    /// `_SUCCESS` is replaced by every run in which all datasets succeeded, and left alone by a
    /// run in which one failed (its files are complete, but the batch is not).
    @Test func theSuccessMarkerDescribesTheLastCompleteRun() throws {
        let f = try ExportFixture()
        try f.addChange("a", at: ExportFixture.day + 1_000_000)
        let o = try f.export()
        let first = try #require(try f.marker())
        #expect(first["files"]?.arrayValue?.first?["file"]?.text == (o.path.map { ($0 as NSString).lastPathComponent }))
        #expect(first["files"]?.arrayValue?.first?["rows"]?.int64 == 1 && first["tool_version"]?.text == "test")
        let mode = try FileManager.default.attributesOfItem(atPath: (f.out as NSString).appendingPathComponent("_SUCCESS"))[.posixPermissions] as? Int
        #expect(mode == 0o640)

        // A failing dataset (its table is gone): the marker stays the first run's.
        try f.db.connection.execute("ALTER TABLE vendor_incidents RENAME TO vendor_incidents_gone")
        var o2 = f.options(now: ExportFixture.now + Timestamp.microsPerDay)
        o2.datasets = ["changes", "vendor_incidents"]
        let failed = try Exporter(database: f.db, options: o2).run()
        #expect(failed.failed.map(\.dataset) == ["vendor_incidents"])
        #expect(try f.marker()?["run_id"]?.int64 == first["run_id"]?.int64)
        try f.db.connection.execute("ALTER TABLE vendor_incidents_gone RENAME TO vendor_incidents")
        _ = try f.export(f.options(now: ExportFixture.now + 2 * Timestamp.microsPerDay))
        #expect((try f.marker()?["run_id"]?.int64 ?? 0) > (first["run_id"]?.int64 ?? 0))
        #expect(!f.files().contains { $0.hasPrefix(".") }, "no temp file left")
    }

    @Test func pruneRemovesOnlyPublishedFilesOlderThanKeep() throws {
        let f = try ExportFixture()
        try f.addChange("old", at: ExportFixture.day)
        try f.addChange("new", at: ExportFixture.now - Timestamp.microsPerDay)
        for (from, to) in [(ExportFixture.day, ExportFixture.day + Timestamp.microsPerDay), (ExportFixture.now - Timestamp.microsPerDay, ExportFixture.now)] {
            var o = f.options()
            o.windowFromUs = from
            o.windowToUs = to
            _ = try f.export(o)
        }
        try TestSupport.write("not ours", to: URL(fileURLWithPath: f.out), name: "changes_20200101T000000Z_20200102T000000Z.csv.gz")
        let removed = try ExportPruner.prune(directory: f.out, olderThanUs: ExportFixture.now - 3 * Timestamp.microsPerDay)
        #expect(removed.map { ($0 as NSString).lastPathComponent } == ["changes_20261123T000000Z_20261124T000000Z.csv.gz", "changes_20261123T000000Z_20261124T000000Z.csv.gz.manifest.json"])
        #expect(f.files() == ["changes_20200101T000000Z_20200102T000000Z.csv.gz", "changes_20261129T000000Z_20261130T000000Z.csv.gz", "changes_20261129T000000Z_20261130T000000Z.csv.gz.manifest.json"])
    }
}
