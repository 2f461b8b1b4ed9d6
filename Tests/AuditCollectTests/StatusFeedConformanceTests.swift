import AuditCore
import Foundation
import Testing

import AuditCollect

// MARK: - Conformance over the shared fixtures

/// `/work/shared/fixtures`: the repo root is three levels above this file and `shared` is its sibling.
private let fixturesPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("../shared/fixtures").standardizedFileURL.path

private func fixture(_ relative: String) throws -> StatusFeedResult {
    let data = try Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/" + relative))
    #expect(StatusFeedParser.sniff(Array(data.prefix(512))))
    return try #require(StatusFeedParser.parse(Array(data), source: relative))
}

// The shared fixtures are not part of the repo (licenses); CI has them. Without them these
// tests are reported as skipped with this reason.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: fixturesPath), "shared fixtures (../shared/fixtures) absent"))
struct StatusFeedConformanceTests {
    @Test func scenarioAzureRSS() throws {
        let r = try fixture("scenario-1/status/azure.rss")
        #expect(r.format == "rss")
        #expect(r.quarantine.isEmpty)
        #expect(r.incidents.map(\.service) == ["Azure OpenAI Service", "Azure Databricks"])
        #expect(r.incidents.map(\.region) == ["East US", "North Central US"])
        #expect(r.incidents.map(\.status) == ["investigating", "investigating"])
        #expect(r.incidents.map { Timestamp.iso($0.updatedUs) } == ["2026-09-14T15:22:43.000000Z", "2026-09-14T02:10:08.000000Z"])
        #expect(r.incidents.allSatisfy { $0.provider == "azure" && $0.resolvedUs == nil })
    }

    @Test func scenarioOpenAIAtomAndJSONAgree() throws {
        let atom = try fixture("scenario-1/status/openai.atom")
        let json = try fixture("scenario-1/status/incidents.json")
        #expect(atom.format == "atom")
        #expect(json.format == "statuspage-json")
        let e = try #require(atom.incidents.first)
        #expect(atom.incidents.count == 1)
        #expect(e.incidentKey == "status.openai.com:https://status.openai.com/incidents/74773BF804F4407F0DABFFBF49")
        #expect(e.title == "Increased latency for image generation")
        #expect(e.status == "resolved")
        #expect(e.service == "Images")
        #expect(Timestamp.iso(e.startUs) == "2026-09-14T07:48:35.000000Z")
        #expect(e.resolvedUs.map(Timestamp.iso) == "2026-09-14T08:33:35.000000Z")

        #expect(json.incidents.map(\.incidentKey) == Array(repeating: "status.openai.com:74773BF804F4407F0DABFFBF49", count: 2))
        #expect(json.incidents.map(\.updateKey) == ["74773BF804", "F4407F0DAB"])
        #expect(json.incidents.map(\.status) == ["resolved", "investigating"])
        #expect(json.incidents.map { Timestamp.iso($0.updatedUs) } == ["2026-09-14T08:33:35.000000Z", "2026-09-14T07:48:35.000000Z"])
        #expect(json.incidents.allSatisfy { $0.provider == e.provider && $0.impact == "minor" && $0.resolvedUs == e.resolvedUs })
    }

    @Test func realParseStatuspageRSS() throws {
        let r = try fixture("real/gabrielrinaldi-Status-iOS/history.rss")
        #expect(r.quarantine.isEmpty)
        #expect(r.incidents.count == 17)
        let first = r.incidents[0]
        #expect(first.provider == "status.parse.com")
        #expect(first.incidentKey == "status.parse.com:http://status.parse.com/incidents/lzf7mjchpy20")
        #expect(first.title == "Elevated error rates")
        #expect(first.status == "resolved")
        #expect(Timestamp.iso(first.updatedUs) == "2014-01-01T17:09:00.000000Z")
        #expect(r.incidents.contains { $0.status == "postmortem" })
        // -0700 in summer next to -0800 in winter; raw CRs never reach the body.
        #expect(r.incidents.contains { Timestamp.iso($0.updatedUs) == "2013-08-12T23:49:00.000000Z" })
        #expect(r.incidents.allSatisfy { !($0.body ?? "").contains("\r") && ($0.body ?? "").count <= 4000 })
        #expect(Set(r.incidents.map(\.incidentKey)).count == 17)
    }

    @Test func realSauceLabsStatuspageAtom() throws {
        let r = try fixture("real/esa-security-group-azure-pipelines-tasks/history.atom")
        #expect(r.quarantine.isEmpty)
        #expect(r.incidents.count == 25)
        let first = r.incidents[0]
        #expect(first.provider == "status.us-west-1.saucelabs.com")
        #expect(first.incidentKey == "status.us-west-1.saucelabs.com:tag:status.us-west-1.saucelabs.com,2005:Incident/5566864")
        #expect(first.title == "2020-Nov-14 Service Incident")
        #expect(Timestamp.iso(first.updatedUs) == "2020-11-14T22:07:39.000000Z")
        #expect(first.body?.hasPrefix("Nov 14, 14:07 PST Resolved - Tunnels are starting successfully.") == true)
        let maintenance = try #require(r.incidents.first { $0.incidentKey.hasSuffix("Incident/4798888") })
        #expect(maintenance.status == "completed")
        #expect(Timestamp.iso(maintenance.updatedUs) == "2020-08-15T18:58:33.000000Z")  // -07:00
        #expect(r.incidents.allSatisfy { $0.status != nil })
    }

    @Test func realGitHubSummaryJSON() throws {
        let r = try fixture("real/sergeyshevch-statuspage-exporter/example.json")
        #expect(r.format == "statuspage-json")
        #expect(r.quarantine.isEmpty)
        #expect(r.incidents.count == 7)
        #expect(Set(r.incidents.map(\.incidentKey)) == ["githubstatus.com:ljwdk6qml8z8"])
        #expect(Set(r.incidents.map(\.updateKey)).count == 7)
        let latest = r.incidents[0]
        #expect(latest.updateKey == "k0x2s8g2plxb")
        #expect(latest.title == "Incident with Packages and Pages")
        #expect(latest.status == "investigating")
        #expect(latest.impact == "major")
        #expect(latest.resolvedUs == nil)
        #expect(Timestamp.iso(latest.startUs) == "2022-11-25T14:39:09.542000Z")
        #expect(Timestamp.iso(latest.updatedUs) == "2022-11-25T15:50:04.967000Z")
    }
}
