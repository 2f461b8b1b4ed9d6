import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// Loads ../shared/fixtures/scenario-1 (read in place, never copied). Skipped, with this reason,
/// when the shared folder is absent.
@Suite(.serialized, .enabled(if: TestSupport.hasSharedFixtures, "../shared/fixtures is absent: scenario-1 conformance skipped"))
struct ScenarioFixtureTests {
    var scenario: URL { TestSupport.sharedFixtures!.appendingPathComponent("scenario-1") }

    func truth() throws -> JSONValue {
        try JSONParser.parse(Array(try Data(contentsOf: scenario.appendingPathComponent("truth.json"))))
    }

    @Test func everyShapeLoadsOnceWithTheTruthsCounts() throws {
        let cli = CLI()
        let t = try truth()
        let r = try cli.run(["import", scenario.appendingPathComponent("activity").path, scenario.appendingPathComponent("diagnostics").path, scenario.appendingPathComponent("status").path])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let c = try cli.counts()
        #expect(c["activity"] == t["activity_events"]?.int64)
        #expect(c["requests"] == t["diagnostics_records"]?.int64)
        #expect(c["quarantined"] == 0)
        // Every planted cause's evidence is a stored event, cited by its eventDataId.
        for burst in t["bursts"]?.arrayValue ?? [] where burst["kind"]?.text != "sdk_bump" && burst["kind"]?.text != "unexplained" {
            for id in burst["evidence"]?.arrayValue ?? [] {
                let q = try cli.run(["query", "--sql", "SELECT count(*) FROM activity_events WHERE event_data_id = '\(id.text ?? "")'", "--format", "csv"])
                #expect(q.stdout.hasSuffix("\r\n1\r\n"), "evidence \(id.text ?? "") of \(burst["kind"]?.text ?? "") not found")
            }
        }
        // Importing everything again adds nothing.
        let again = try cli.run(["import", scenario.path])
        #expect(try cli.counts()["activity"] == c["activity"])
        #expect(try cli.counts()["requests"] == c["requests"])
        #expect(again.stdout.contains("unchanged files"))
    }

    @Test func plantedChangesAreDerived() throws {
        let cli = CLI()
        _ = try cli.run(["import", scenario.appendingPathComponent("activity").path])
        let t = try truth()
        for burst in t["bursts"]?.arrayValue ?? [] {
            let kind = burst["kind"]?.text ?? ""
            let changeKind: String
            switch kind {
            case "key_rotation": changeKind = "key_regenerated"
            case "local_auth_disabled": changeKind = "local_auth_disabled"
            case "role_assignment_removed": changeKind = "role_assignment_deleted"
            default: continue
            }
            let id = burst["evidence"]?.arrayValue?.first?.text ?? ""
            let q = try cli.run(["query", "--sql", "SELECT kind, resource_id FROM changes WHERE source_id = '\(id)'", "--format", "csv"])
            let resource = (burst["resource_id"]?.text ?? "").lowercased()
            #expect(q.stdout.contains("\(changeKind),\(resource)"), "\(kind): \(q.stdout)")
        }
    }
}
