import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// Reads a folder of exports back with Python's csv, gzip and hashlib modules (an independent
/// reader) and prints one JSON document: per manifest, what the file really holds.
private let pythonReader = #"""
import csv, gzip, hashlib, io, json, os, sys
d = sys.argv[1]
out = {"files": [], "temp": [n for n in os.listdir(d) if n.startswith(".")], "orphans": [], "success": None}
names = sorted(os.listdir(d))
if "_SUCCESS" in names:
    out["success"] = json.load(open(os.path.join(d, "_SUCCESS"), encoding="utf-8"))
    out["success"]["all_listed_exist"] = all(f["file"] in names and f["manifest"] in names for f in out["success"]["files"])
for n in names:
    if n.endswith(".manifest.json") or n.startswith(".") or n == "_SUCCESS": continue
    if n + ".manifest.json" not in names: out["orphans"].append(n)
for n in names:
    if not n.endswith(".manifest.json"): continue
    m = json.load(open(os.path.join(d, n), encoding="utf-8"))
    p = os.path.join(d, m["file"])
    raw = open(p, "rb").read()
    text = (gzip.decompress(raw) if p.endswith(".gz") else raw).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    out["files"].append({"file": m["file"], "dataset": m["dataset"], "manifest_rows": m["rows"], "rows": len(rows) - 1,
        "header_ok": rows[0] == m["columns"], "sha_ok": hashlib.sha256(raw).hexdigest() == m["sha256"], "bytes_ok": len(raw) == m["bytes"],
        "crlf": text.endswith("\r\n") and "\r\n" in text.split("\n", 1)[0] + "\n", "bom": text.startswith("\ufeff"),
        "first_column": rows[0][0], "cells": [c for r in rows[1:] for c in r if c.startswith("'")][:5],
        "keys": sorted(r[0] + "|" + "|".join(r[1:]) for r in rows[1:]) if m["dataset"] == "changes" else []})
print(json.dumps(out))
"""#

@Suite(.serialized) struct ExportCLITests {
    func read(_ dir: String) throws -> JSONValue {
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", pythonReader, dir])
        #expect(r.status == 0, "python: \(r.stderr)")
        return try JSONParser.parse(r.stdout)
    }

    func sqlite(_ db: String, _ sql: String) throws -> String {
        try TestSupport.run("/usr/bin/sqlite3", [db, sql]).stdout.trimmingSpaces
    }

    @Test func exportsReadBackWithAnIndependentReaderAndASecondRunRepeatsNothing() throws {
        let cli = CLI()
        let records = try cli.write(Samples.rest + "\n", "rest.json")
        let requests = try cli.write((0..<30).map { Samples.request($0, status: $0 % 3 == 0 ? 401 : 200) }.joined(separator: "\n") + "\n", "PT1H.json")
        #expect(try cli.run(["import", records, requests]).status == 0)
        _ = try sqlite(cli.db, "INSERT INTO changes(dedupe_key, time_us, kind, resource_id, actor, summary, source_kind, source) VALUES ('x', 1716991331000000, 'manual_change', '/r', '=HYPERLINK(\"http://evil\")', 'formula', 'mark', 'test')")
        let out = cli.dir.appendingPathComponent("exports").path
        let first = try cli.run(["export", "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("export: 4 files"), "\(first.stdout)")
        let v = try read(out)
        #expect(v["temp"]?.arrayValue?.isEmpty == true && v["orphans"]?.arrayValue?.isEmpty == true)
        let files = try #require(v["files"]?.arrayValue)
        #expect(files.count == 4)
        for f in files {
            #expect(f["rows"]?.int64 == f["manifest_rows"]?.int64 && (f["rows"]?.int64 ?? 0) > 0, "\(f)")
            #expect(f["header_ok"]?.bool == true && f["sha_ok"]?.bool == true && f["bytes_ok"]?.bool == true && f["crlf"]?.bool == true)
            #expect(f["bom"]?.bool == false && f["first_column"]?.text == "time")
        }
        // _SUCCESS, written last, lists exactly this run's files, each with its manifest.
        let marker = try #require(v["success"], "no _SUCCESS")
        #expect(marker["schema_version"]?.int64 == 1 && marker["all_listed_exist"]?.bool == true, "\(marker)")
        #expect(Set(marker["files"]?.arrayValue?.compactMap { $0["file"]?.text } ?? []) == Set(files.compactMap { $0["file"]?.text }), "\(marker)")
        let byDataset = Dictionary(uniqueKeysWithValues: files.compactMap { f in f["dataset"]?.text.map { ($0, f) } })
        #expect(byDataset["request_failures"]?["rows"]?.int64 == 10)
        #expect(byDataset["changes"]?["cells"]?.arrayValue?.compactMap(\.text) == ["'=HYPERLINK(\"http://evil\")"])
        let changesBefore = byDataset["changes"]?["keys"]?.arrayValue ?? []

        let second = try cli.run(["export", "--out", out])
        #expect(second.status == 0 && second.stdout.contains("export: 0 files"), "\(second.stdout)")
        let afterSecond = try read(out)
        #expect(afterSecond["files"]?.arrayValue?.count == 4)
        // A run with nothing new still completes: its _SUCCESS lists no file and every dataset as empty.
        #expect(afterSecond["success"]?["files"]?.arrayValue?.isEmpty == true && (afterSecond["success"]?["run_id"]?.int64 ?? 0) > (marker["run_id"]?.int64 ?? 0), "\(afterSecond)")
        #expect(afterSecond["success"]?["empty_datasets"]?.arrayValue?.count == 7)
        #expect(try sqlite(cli.db, "SELECT count(*) FROM runs WHERE command = 'export'") == "2")

        // One more change arrives: the next export holds it alone.
        _ = try sqlite(cli.db, "INSERT INTO changes(dedupe_key, time_us, kind, resource_id, summary, source_kind, source) VALUES ('y', 1716991332000000, 'manual_change', '/r', 'later', 'mark', 'test')")
        #expect(try cli.run(["export", "--out", out, "--dataset", "changes"]).status == 0)
        let changes = try read(out)["files"]?.arrayValue?.filter { $0["dataset"]?.text == "changes" } ?? []
        #expect(changes.count == 2)
        #expect(changes.reduce(0) { $0 + ($1["rows"]?.int64 ?? 0) } == Int64(changesBefore.count) + 1)
    }

    @Test(arguments: ["data", "manifest"])
    func killDashNineBetweenStepsThenARerunLosesAndRepeatsNothing(stage: String) throws {
        let cli = CLI()
        let data = cli.dir.appendingPathComponent("estate").path
        #expect(try TestSupport.cli(["generate", "--out", data, "--records", "100000", "--days", "2", "--seed", "5"]).status == 0)
        #expect(try cli.run(["import", data]).status == 0)
        let out = cli.dir.appendingPathComponent("exports").path
        let crashed = try cli.run(["export", "--out", out, "--dataset", "activity_events", "--dataset", "request_rollup"], env: ["AOAI_AUDIT_TEST_CRASH_AFTER": stage])
        #expect(crashed.status == 9, "the export should have been killed: \(crashed.status) \(crashed.stderr)")
        let before = try read(out)
        if stage == "data" { #expect(before["orphans"]?.arrayValue?.count == 1) }
        // The killed run never got to its _SUCCESS; the rerun writes it, adopting the orphan.
        #expect(before["success"]?.isNull ?? true, "\(before)")
        let rerun = try cli.run(["export", "--out", out, "--dataset", "activity_events", "--dataset", "request_rollup"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        if stage == "data" { #expect(rerun.stdout.contains("interrupted export completed")) }
        let after = try read(out)
        #expect(after["orphans"]?.arrayValue?.isEmpty == true && after["temp"]?.arrayValue?.isEmpty == true)
        #expect(after["success"]?["all_listed_exist"]?.bool == true, "\(after)")
        if stage == "data" { #expect(after["success"]?["completed_interrupted"]?.arrayValue?.count == 1, "\(after)") }
        let files = after["files"]?.arrayValue ?? []
        for f in files { #expect(f["rows"]?.int64 == f["manifest_rows"]?.int64 && f["sha_ok"]?.bool == true) }
        func total(_ ds: String) -> Int64 { files.filter { $0["dataset"]?.text == ds }.reduce(0) { $0 + ($1["rows"]?.int64 ?? 0) } }
        #expect(total("activity_events") == Int64(try sqlite(cli.db, "SELECT count(*) FROM activity_events")))
        #expect(total("request_rollup") == Int64(try sqlite(cli.db, "SELECT count(*) FROM request_rollup")))
        #expect(total("request_rollup") > 10_000)
    }
}

@Suite(.serialized) struct ExportResourceCLITests {
    @Test func resourceFilterExportsOnlyThatResourceUnderItsOwnNameAndMovesNoWatermark() throws {
        let cli = CLI()
        var lines = (0..<6).map { Samples.request($0, status: 401) }
        lines += (6..<10).map { Samples.request($0, status: 401).replacingOccurrences(of: "AOAI-PROD-EUS", with: "AOAI-OTHER") }
        let p = try cli.write(lines.joined(separator: "\n"), "PT1H.json")
        #expect(try cli.run(["import", p]).status == 0)
        let out = cli.dir.appendingPathComponent("out").path
        let r = try cli.run(["export", "--dataset", "request_failures", "--resource", "aoai-other", "--since", "2024-05-29", "--until", "2024-05-30", "--out", out, "--compress", "none"])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".csv") }
        #expect(files == ["request_failures-aoai-other_20240529T000000Z_20240530T000000Z.csv"])
        let text = try String(contentsOfFile: out + "/" + (files.first ?? ""), encoding: .utf8)
        #expect(text.split(separator: "\r\n").count == 1 + 4)
        #expect(!text.contains("aoai-prod-eus"))
        // The watermark did not move: the incremental export still carries every row.
        let out2 = cli.dir.appendingPathComponent("out2").path
        #expect(try cli.run(["export", "--dataset", "request_failures", "--out", out2, "--compress", "none"]).status == 0)
        let all = try FileManager.default.contentsOfDirectory(atPath: out2).filter { $0.hasSuffix(".csv") }
        #expect(all.count == 1)
        let allText = try String(contentsOfFile: out2 + "/" + (all.first ?? ""), encoding: .utf8)
        #expect(allText.split(separator: "\r\n").count == 1 + 10)
        let noWindow = try cli.run(["export", "--resource", "aoai-other", "--out", out])
        #expect(noWindow.status == 64)
        let wrongDataset = try cli.run(["export", "--dataset", "vendor_incidents", "--resource", "aoai-other", "--since", "2024-05-29", "--until", "2024-05-30", "--out", out])
        #expect((wrongDataset.stdout + wrongDataset.stderr).contains("no resource_id column"))
        #expect(wrongDataset.status == 1)
    }
}
