import AuditCore
import AuditTestSupport
import Foundation
import Testing

@Suite(.serialized, .enabled(if: TestSupport.hasSharedFixtures, "../shared/fixtures is absent: correlate end-to-end skipped"))
struct CorrelateCLITests {
    @Test func jsonContractMarkdownRunbookAndNewBurstExitCode() throws {
        let cli = CLI()
        let scenario = try #require(TestSupport.sharedFixtures).appendingPathComponent("scenario-1")
        let r = try cli.run(["import", scenario.appendingPathComponent("activity").path, scenario.appendingPathComponent("diagnostics").path, scenario.appendingPathComponent("status").path])
        #expect(r.status == 0, "\(r.stderr)")
        let window = ["--since", "2026-09-14", "--until", "2026-09-15"]
        let first = try cli.run(["correlate", "--format", "json", "--fail-on-new-bursts"] + window)
        #expect(first.status == 10, "new bursts must exit 10: \(first.stderr)")
        let doc = try JSONParser.parse(first.stdout)
        #expect(doc["schema_version"]?.int64 == 1)
        let bursts = try #require(doc["bursts"]?.arrayValue)
        #expect(bursts.count >= 6)
        let b = try #require(bursts.first)
        for key in ["resource_id", "start", "end", "peak_per_minute", "failures", "status_codes", "callers", "fleet_id", "top_cause", "candidates"] {
            #expect(b[key] != nil, "missing \(key)")
        }
        let top = try #require(b["top_cause"])
        for key in ["kind", "bucket", "score", "explanation", "evidence"] { #expect(top[key] != nil, "missing top_cause.\(key)") }
        let ev = try #require(top["evidence"]?.arrayValue?.first)
        for key in ["source_id", "correlation_id", "time", "actor", "summary"] { #expect(ev[key] != nil, "missing evidence.\(key)") }
        #expect(top["kind"]?.text == "role_assignment_removed")
        #expect(top["bucket"]?.text == "auth_config_drift")
        #expect(ev["source_id"]?.text == "7f0fad3b-5482-409f-8204-1769b705fbf3")
        // The same window again: nothing new, exit 0, stored once.
        let again = try cli.run(["correlate", "--fail-on-new-bursts"] + window)
        #expect(again.status == 0, "\(again.stderr)")
        let stored = try cli.run(["query", "--sql", "SELECT count(*) FROM bursts", "--format", "csv"])
        #expect(stored.stdout.hasSuffix("\r\n\(bursts.count)\r\n"))
        let md = try cli.run(["correlate", "--format", "markdown", "--resource", "aoai-agents-eas0"] + window)
        #expect(md.stdout.contains("## aoai-agents-eas0: local_auth_disabled"))
        #expect(md.stdout.contains("**What to do:**"))
        #expect(md.stdout.contains("aeecb544-3770-44cf-809f-025ee38d62a7"))
        #expect(!md.stdout.contains("aoai-eval-swe1"))
    }
}
