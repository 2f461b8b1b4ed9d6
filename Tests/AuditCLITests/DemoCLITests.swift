import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// `aoai-audit demo` end to end, as a newcomer runs it: the built CLI writes a planted scenario,
/// serves it with the simulator, collects it over HTTP, correlates and exports, and names the
/// planted key rotation with the evidence id from truth.json.
@Suite(.serialized) struct DemoCLITests {
    /// The planted burst of truth.json: account id (lower-cased), its short name, the evidence id.
    static func planted(_ dir: String) throws -> (resourceID: String, name: String, evidence: String, records: Int64, activity: Int64) {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/scenario/truth.json"))
        let truth = try JSONParser.parse([UInt8](data))
        let bursts = truth["bursts"]?.arrayValue ?? []
        #expect(bursts.count == 1, "the demo plants exactly one burst: \(bursts.count)")
        let burst = try #require(bursts.first { $0["kind"]?.text == "key_rotation" }, "no key_rotation burst in truth.json")
        let resource = try #require(burst["resource_id"]?.text).lowercased()
        let evidence = try #require(burst["evidence"]?.arrayValue?.first?.text)
        return (resource, String(resource.split(separator: "/").last ?? ""), evidence,
                truth["diagnostics_records"]?.int64 ?? -1, truth["activity_events"]?.int64 ?? -1)
    }

    @Test func runsThePipelineAndNamesThePlantedKeyRotation() throws {
        let tmp = TestSupport.makeTempDirectory("aoai-audit-demo")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dir = tmp.appendingPathComponent("demo").path

        let t0 = Date()
        let first = try TestSupport.cli(["demo", "--dir", dir], cwd: tmp.path)
        let seconds = Date().timeIntervalSince(t0)
        print("aoai-audit demo wall time: \(String(format: "%.1f", seconds)) s")
        try #require(first.status == 0, "exit \(first.status)\nstdout: \(first.stdout)\nstderr: \(first.stderr)")
        // Budget 60 s on the build machine; doubled here so a loaded CI box does not flake.
        #expect(seconds < 120, "demo took \(seconds) s")

        // The report: the planted account's burst, caused by key_rotation, citing truth's evidence.
        let truth = try Self.planted(dir)
        let out = first.stdout
        let lines = out.split(separator: "\n").map(String.init)
        let head = try #require(lines.firstIndex { $0.hasPrefix("1. \(truth.name) ") }, "no burst line for \(truth.name):\n\(out)")
        let block = lines[head...].prefix(6).joined(separator: "\n")
        #expect(block.contains("cause: key_rotation (auth_config_drift"), "\(block)")
        #expect(block.contains("evidence: \(truth.evidence)"), "evidence \(truth.evidence) missing:\n\(block)")
        #expect(out.contains("== Timeline ==") && out.contains("first failure"), "\(out)")
        #expect(out.contains("== What to do ==") && out.contains("regenerated key"), "\(out)")
        #expect(out.contains("== Ruled out ==") && out.contains("401 trickle"), "\(out)")
        // Where things are, and the next commands with the real paths.
        let db = dir + "/aoai-audit.db"
        #expect(out.contains("database  \(db)") && out.contains("exports   \(dir)/exports"), "\(out)")
        for command in ["query auth_failures_by_hour --db \(db)", "search regenerateKey --db \(db)", "correlate --db \(db)", "status --db \(db)"] {
            #expect(out.contains(command), "missing next command '\(command)':\n\(out)")
        }
        #expect(out.contains("--format markdown"))
        // Progress went to stderr, one line per step.
        for step in ["collect: ok:", "correlate: ok: 1 burst", "export: ok:"] {
            #expect(first.stderr.contains(step), "no '\(step)' line:\n\(first.stderr)")
        }
        #expect(!out.contains("collect: ok:"), "step lines belong on stderr")
        // No secret of the simulator's test identity reaches the output.
        #expect(!out.contains("sim-client-secret-value") && !first.stderr.contains("sim-client-secret-value"))

        // The database holds the requests and Activity Log events collected over HTTP.
        let status = try TestSupport.cli(["status", "--db", db, "--format", "json"], cwd: tmp.path)
        #expect(status.status == 0, "\(status.stderr)")
        let counts = try JSONParser.parse(status.stdout)["counts"]
        #expect(counts?["requests"]?.int64 == truth.records, "\(status.stdout)")
        #expect(counts?["activity"]?.int64 == truth.activity, "\(status.stdout)")
        #expect((counts?["changes"]?.int64 ?? 0) > 0 && (counts?["vendor_incidents"]?.int64 ?? 0) > 0, "\(status.stdout)")

        // The exports: gzip CSV files, each with its manifest.
        let exports = dir + "/exports"
        let names = try FileManager.default.contentsOfDirectory(atPath: exports).sorted()
        let data = names.filter { $0.hasSuffix(".csv.gz") }
        // `<dataset>_<from>_<to>.csv.gz`
        let datasets = Set(data.map { $0.split(separator: "_").dropLast(2).joined(separator: "_") })
        #expect(datasets.isSuperset(of: ["activity_events", "changes", "request_failures", "bursts"]), "\(names)")
        for file in data {
            #expect(names.contains(file + ".manifest.json"), "\(file) has no manifest")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: exports + "/" + file))
            #expect(bytes.prefix(2) == Data([0x1F, 0x8B]), "\(file) is not gzip")
            let manifest = try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: exports + "/" + file + ".manifest.json"))))
            let lines = try TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(exports)/\(file)' | wc -l"])
            let rows = Int64(lines.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).map { $0 - 1 }
            #expect(manifest["file"]?.text == file && rows != nil && manifest["rows"]?.int64 == rows, "\(file): manifest \(manifest["rows"]?.int64 ?? -1) rows, file \(rows ?? -1)")
        }

        // The summary counts what is there: the data files, their manifests and the run's _SUCCESS.
        let manifests = names.filter { $0.hasSuffix(".manifest.json") }.count
        #expect(names.contains("_SUCCESS") && out.contains("(\(data.count) gzip CSV files, \(manifests) manifests, _SUCCESS)"), "\(names)\n\(out)")

        // A second demo into the same folder (an earlier demo) replaces it and works again.
        let second = try TestSupport.cli(["demo", "--dir", dir], cwd: tmp.path)
        #expect(second.status == 0, "exit \(second.status)\n\(second.stderr)")
        #expect(second.stdout.contains("cause: key_rotation") && second.stdout.contains(truth.evidence), "\(second.stdout)")
        let again = try JSONParser.parse(try TestSupport.cli(["status", "--db", db, "--format", "json"], cwd: tmp.path).stdout)
        #expect(again["counts"]?["requests"]?.int64 == truth.records, "the earlier demo's database was not replaced")
    }

    @Test func refusesAFolderThatIsNotAnEarlierDemo() throws {
        let tmp = TestSupport.makeTempDirectory("aoai-audit-demo")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let mine = try TestSupport.write("keep me\n", to: tmp, name: "notes.txt")
        let r = try TestSupport.cli(["demo", "--dir", tmp.path], cwd: tmp.path)
        #expect(r.status == 1, "exit \(r.status)")
        #expect(r.stderr.contains("not an earlier demo") && r.stderr.contains(tmp.path), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["notes.txt"], "the folder was touched")
        #expect(try String(contentsOfFile: mine, encoding: .utf8) == "keep me\n")

        let help = try TestSupport.cli(["demo", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--dir") && help.stdout.contains("--keep-running") && help.stdout.contains("--seed"), "\(help.stdout)")
        let top = try TestSupport.cli(["--help"])
        let firstCommand = top.stdout.split(separator: "\n").drop { !$0.hasPrefix("SUBCOMMANDS:") }.dropFirst().first
        #expect(firstCommand?.trimmingCharacters(in: .whitespaces).hasPrefix("demo") == true, "\(top.stdout)")
    }
}
