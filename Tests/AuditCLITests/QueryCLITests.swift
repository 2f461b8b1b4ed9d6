import AuditCore
import AuditTestSupport
import Foundation
import Testing

@Suite(.serialized) struct QueryCLITests {
    func loaded() throws -> CLI {
        let cli = CLI()
        var lines: [String] = []
        for i in 0..<50 { lines.append(Samples.request(i, status: i < 10 ? 401 : 200, minute: 3 + i / 20)) }
        let p = try cli.write(lines.joined(separator: "\n"), "PT1H.json")
        let rest = try cli.write(Samples.rest, "rest.json")
        #expect(try cli.run(["import", p, rest]).status == 0)
        return cli
    }

    @Test func namedQueryWithParametersInEveryFormat() throws {
        let cli = try loaded()
        let csv = try cli.run(["query", "auth_failures_by_hour", "--param", "since=2024-05-29", "--param", "until=2024-05-30", "--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout == "hour,resource_id,failures_401,failures_403,callers,api_versions\r\n2024-05-29T14:00:00.000000Z,/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-ai/providers/microsoft.cognitiveservices/accounts/aoai-prod-eus,10,0,1,2024-10-21\r\n")
        let md = try cli.run(["query", "auth_failures_by_hour", "--param", "since=2024-05-29", "--resource", "aoai-prod-eus", "--format", "markdown"])
        #expect(md.stdout.hasPrefix("| hour | resource_id |"))
        let none = try cli.run(["query", "auth_failures_by_hour", "--param", "since=2024-05-29", "--resource", "other-account", "--format", "ndjson"])
        #expect(none.stdout.isEmpty)
        let json = try cli.run(["query", "top_error_codes", "--param", "since=2024-01-01", "--format", "json"])
        let doc = try JSONParser.parse(json.stdout)
        #expect(doc["schema_version"]?.int64 == 1)
        #expect(doc["rows"]?.arrayValue?.first?["failures"]?.int64 == 10)
    }

    @Test func listShowsEveryQueryWithItsParameters() throws {
        let r = try CLI().run(["query", "--list"])
        for name in ["auth_failures_by_hour", "failures_by_caller", "key_rotations", "role_assignment_changes", "account_config_changes",
                     "vendor_incidents", "top_error_codes", "changes_before", "quarantine_summary"] {
            #expect(r.stdout.contains(name + "\n"), "missing \(name)")
        }
        #expect(r.stdout.contains("--param since=<time> (default 7d)"))
    }

    @Test func adHocWritesAreRefusedAndNothingChanges() throws {
        let cli = try loaded()
        let before = try cli.counts()
        for sql in ["DELETE FROM request_failures", "DROP TABLE changes", "INSERT INTO runs(command, started_us) VALUES ('x', 1)", "PRAGMA user_version = 5"] {
            let r = try cli.run(["query", "--sql", sql])
            #expect(r.status == 1, "\(sql) was not refused")
            #expect(r.stderr.contains("read-only"), "\(r.stderr)")
        }
        #expect(try cli.counts() == before)
        let ok = try cli.run(["query", "--sql", "SELECT count(*) AS n FROM request_failures", "--format", "csv"])
        #expect(ok.stdout == "n\r\n10\r\n")
    }

    @Test func unknownQueryAndBadParametersAreOneLineErrors() throws {
        let cli = try loaded()
        let r1 = try cli.run(["query", "nope"])
        #expect(r1.status == 1)
        #expect(r1.stderr.contains("no named query 'nope'"))
        let r2 = try cli.run(["query", "key_rotations", "--param", "since=whenever"])
        #expect(r2.status == 1)
        #expect(r2.stderr.contains("is not a time"))
        let r3 = try cli.run(["query"])
        #expect(r3.status == 64)
    }

    @Test func searchIsNewestFirstAndSafeForAnyText() throws {
        let cli = try loaded()
        let r = try cli.run(["search", "Unauthorized", "--format", "json", "--limit", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try JSONParser.parse(r.stdout)["rows"]?.arrayValue ?? []
        #expect(rows.count == 3)
        let times = rows.compactMap { $0["time"]?.text }
        #expect(times == times.sorted(by: >))
        #expect(rows.first?["snippet"]?.text?.contains("[Unauthorized]") == true)
        let change = try cli.run(["search", "Key2", "--kind", "change", "--format", "csv"])
        #expect(change.stdout.contains("regenerated"))
        for text in ["\"", "a:b", "-x", "e1f0c8a2-6a3b-4b9e-8f0e-7d6c5b4a3921", "(", "NOT"] {
            let s = try cli.run(["search", "--", text])
            #expect(s.status == 0, "search \(text): \(s.stderr)")
        }
    }

    @Test func statusOnAMissingDatabaseSaysWhatToDo() throws {
        let cli = CLI()
        let r = try cli.run(["status"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("run `aoai-audit import`"))
    }
}
