import AuditCore
import AuditTestSupport
import Foundation
import Testing

@Suite(.serialized) struct ImportCLITests {
    @Test func restAndExportShapesOfOneEventLoadOnceAndReimportChangesNothing() throws {
        let cli = CLI()
        let rest = try cli.write(Samples.rest, "rest-page.json")
        let export = try cli.write(Samples.export, "PT1H.json")
        let r1 = try cli.run(["import", export, rest])
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r1.stdout.contains("read 3, loaded"))
        var c = try cli.counts()
        #expect(c["activity"] == 2)  // Start + Success (the REST EndRequest is the same event as the export Success)
        #expect(c["changes"] == 1)
        let key = try cli.run(["query", "key_rotations", "--param", "since=2024-01-01", "--format", "json"])
        let rows = try JSONParser.parse(key.stdout)["rows"]?.arrayValue ?? []
        #expect(rows.count == 1)
        #expect(rows.first?["evidence"]?.text == "e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921")  // eventDataId merged from the REST shape
        #expect(rows.first?["summary"]?.text?.contains("Key2") == true)
        // Import both again: nothing changes.
        let r2 = try cli.run(["import", export, rest])
        #expect(r2.status == 0)
        c = try cli.counts()
        #expect(c["activity"] == 2)
        #expect(c["changes"] == 1)
    }

    @Test func badRecordsAreQuarantinedAndTheRestLoads() throws {
        let cli = CLI()
        var lines = (0..<20).map { Samples.request($0, status: $0 % 5 == 0 ? 401 : 200, asString: $0 % 2 == 0) }
        lines.insert("{\"truncated\": ", at: 3)
        lines.insert("[1,2,3]", at: 7)
        lines.insert(#"{"category":"SomethingElse","time":"2024-05-29T14:03:00Z"}"#, at: 9)
        lines.insert(Samples.request(99, status: 200).replacingOccurrences(of: "2024-05-29T14:03:39.0010000Z", with: "not a time"), at: 11)
        let p = try cli.write(lines.joined(separator: "\n") + "\n", "PT1H.json")
        let r = try cli.run(["import", p])
        #expect(r.status == 3, "quarantine must give exit 3: \(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("quarantined 4"))
        let c = try cli.counts()
        #expect(c["requests"] == 20)
        #expect(c["request_failures"] == 4)
        #expect(c["quarantined"] == 4)
        let q = try cli.run(["query", "--sql", "SELECT line, reason FROM quarantine ORDER BY line", "--format", "csv"])
        #expect(q.stdout.contains("4,malformed JSON"))
        #expect(q.stdout.contains("8,\"expected a JSON object"))
        #expect(q.stdout.contains("10,\"unrecognized record shape"))
        #expect(q.stdout.contains("12,unreadable time"))
    }

    @Test func emptyTruncatedUnknownAndOversizedInputsNeverCrash() throws {
        let cli = CLI()
        let empty = try cli.write("", "empty.json")
        let unknown = try cli.write("hello, this is not a log\n", "notes.txt")
        var text = ""
        for i in 0..<3000 { text += Samples.request(i, status: 200, minute: 3 + i / 60 % 5) + "\n" }
        let full = try cli.write(text, "full.json")
        let gz = try TestSupport.gzip(full)
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        let cut = cli.dir.appendingPathComponent("cut.json.gz").path
        try data.prefix(data.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
        let big = try cli.write(Samples.request(100_001, status: 200) + "\n" + "{\"x\":\"" + String(repeating: "y", count: 200_000) + "\"}\n" + Samples.request(100_002, status: 200) + "\n", "big.json")
        let r = try cli.run(["import", empty, unknown, cut, big, "--max-record-bytes", "100000"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("notes.txt: unrecognized file"))
        #expect(r.stderr.contains("cut.json.gz: gzip data is damaged"))
        let c = try cli.counts()
        #expect((c["requests"] ?? 0) > 100)  // what came before the damage loaded
        #expect(c["quarantined"] == 1)  // the oversized line
        // The full copy adds only what the truncated one lacked.
        let r2 = try cli.run(["import", gz])
        #expect(r2.status == 0)
        #expect(try cli.counts()["requests"] == 3000 + 2)
    }

    @Test func aCallerSwitchingAPIVersionIsAChangeOnce() throws {
        let cli = CLI()
        var lines = (0..<10).map { Samples.request($0, status: 200, minute: 1) }
        lines += (10..<20).map { Samples.request($0, status: 401, minute: 4).replacingOccurrences(of: "version 2024-10-21", with: "version 2025-01-01-preview") }
        let p = try cli.write(lines.joined(separator: "\n"), "PT1H.json")
        #expect(try cli.run(["import", p]).status == 0)
        let q = try cli.run(["query", "--sql", "SELECT iso_time(time_us), kind, summary FROM changes", "--format", "csv"])
        #expect(q.stdout.contains("2024-05-29T14:04:00.000000Z,api_version_change,key caller 198.51.100.*** on aoai-prod-eus switched api-version 2024-10-21 → 2025-01-01-preview"))
        // Loading an overlapping file again derives nothing new.
        let p2 = try cli.write(lines.reversed().joined(separator: "\n"), "copy.json")
        #expect(try cli.run(["import", p2]).status == 0)
        #expect(try cli.counts()["changes"] == 1)
    }

    @Test func aPathThatDoesNotExistIsOneClearError() throws {
        let cli = CLI()
        let r = try cli.run(["import", "/no/such/file.json"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no such file or folder: /no/such/file.json"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}
