import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// The exported files checked against what the README's Splunk, Azure Monitor Agent and
/// Filebeat configurations assume: the globs (read from README.md) match the data files and
/// nothing else, the header is line 1 with `time` first, every time cell matches Splunk's
/// TIME_FORMAT, no BOM, unique names, and NDJSON lines are objects carrying `time`.
@Suite(.serialized) struct SIEMPickupTests {
    static func readmeGlobs() throws -> (splunk: String, filebeat: String) {
        let readme = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        func basename(afterPrefix prefix: String, until end: Character) -> String? {
            guard let r = readme.range(of: prefix) else { return nil }
            let rest = readme[r.upperBound...]
            guard let e = rest.firstIndex(of: end) else { return nil }
            return rest[..<e].split(separator: "/").last.map(String.init)
        }
        let splunk = basename(afterPrefix: "[monitor://", until: "]") ?? ""
        let filebeat = basename(afterPrefix: "paths: [\"", until: "\"") ?? ""
        return (splunk, filebeat)
    }

    func matches(_ glob: String, _ name: String) -> Bool { fnmatch(glob, name, FNM_PERIOD) == 0 }

    @Test func exportedFilesFitEveryDocumentedReader() throws {
        let cli = CLI()
        var lines = (0..<30).map { Samples.request($0, status: $0 % 3 == 0 ? 401 : 200) }
        lines.append(Samples.request(99, status: 403).replacingOccurrences(of: #""operationName":"ChatCompletions_Create""#, with: #""operationName":"=HYPERLINK(\"x\")""#))
        let p = try cli.write(lines.joined(separator: "\n"), "PT1H.json")
        #expect(try cli.run(["import", p]).status == 0)
        let out = cli.dir.appendingPathComponent("exports").path
        let window = ["--since", "2024-05-29", "--until", "2024-05-30"]
        #expect(try cli.run(["export", "--out", out] + window).status == 0)
        #expect(try cli.run(["export", "--out", out, "--format", "ndjson", "--compress", "none"] + window).status == 0)

        let (splunkGlob, filebeatGlob) = try Self.readmeGlobs()
        #expect(splunkGlob == "*.csv.gz" && filebeatGlob == "*.csv.gz", "README globs changed: \(splunkGlob) \(filebeatGlob)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let data = names.filter { matches(splunkGlob, $0) }
        #expect(!data.isEmpty)
        #expect(Set(data).count == data.count)
        #expect(names.contains("_SUCCESS"))
        for n in names where n.hasSuffix(".manifest.json") || n.hasPrefix(".") || n == "_SUCCESS" {
            #expect(!matches(splunkGlob, n) && !matches(filebeatGlob, n) && !matches("*.ndjson", n), "\(n) would be picked up")
        }
        #expect(!names.contains { $0.hasPrefix(".") }, "a temp file was left behind")

        // Splunk: header on line 1, `time` first, TIME_FORMAT %Y-%m-%dT%H:%M:%S.%6NZ, UTF-8 without BOM.
        let timeFormat = try Regex(#"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"#)
        for n in data {
            let text = try TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(out)/\(n)'"]).stdout
            #expect(!text.hasPrefix("\u{FEFF}"))
            let rows = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(rows.first?.hasPrefix("time,") == true, "\(n): header must be line 1 with time first")
            for row in rows.dropFirst() {
                let cell = String(row.prefix { $0 != "," })
                #expect(cell.wholeMatch(of: timeFormat) != nil, "\(n): time cell \(cell)")
            }
            if n.hasPrefix("request_failures") { #expect(text.contains(#""'=HYPERLINK(""x"")""#)) }
        }

        // Azure Monitor Agent: plain NDJSON, one object per line, each with `time`.
        let ndjson = names.filter { matches("*.ndjson", $0) }
        #expect(!ndjson.isEmpty)
        for n in ndjson {
            let text = try String(contentsOfFile: out + "/" + n, encoding: .utf8)
            #expect(text.hasSuffix("\n"))
            for line in text.split(separator: "\n") {
                let v = try JSONParser.parse(String(line))
                #expect(v["time"]?.text?.wholeMatch(of: timeFormat) != nil)
            }
        }
    }
}
