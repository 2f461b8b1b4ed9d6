import AuditCore
import AuditNet
import AuditStore
import Foundation
import Testing

@testable import AuditCollect

/// `status-feed` over the in-test transport: conditional GET, incidents and their updates,
/// Azure items resolved by absence, idempotent re-runs.
@Suite struct StatusFeedCollectorTests {
    static func azureItem(_ service: String, _ region: String, _ status: String, _ date: String, _ text: String) -> String {
        """
        <item><category>\(service)</category><category>\(region)</category>
          <title>\(service) - \(region) - \(status)</title>
          <description>&lt;p&gt;\(text)&lt;/p&gt;</description>
          <pubDate>\(date)</pubDate><link>https://azure.status.microsoft/en-us/status</link></item>
        """
    }

    static func azure(_ items: [String]) -> String {
        """
        <?xml version="1.0" encoding="utf-8"?>
        <rss xmlns:a10="http://www.w3.org/2005/Atom" version="2.0"><channel>
        <title>Azure Status</title><link>https://azure.status.microsoft/en-us/status/</link><description>Azure Status</description>
        \(items.joined(separator: "\n"))
        </channel></rss>
        """
    }

    static let openAI = azureItem("Azure OpenAI Service", "East US", "Investigating", "Wed, 29 May 2024 14:05:00 Z", "Customers may receive HTTP 401 errors.")
    static let openAIUpdate = azureItem("Azure OpenAI Service", "East US", "Investigating", "Wed, 29 May 2024 14:35:00 Z", "Engineers identified a token service issue.")
    static let synapse = azureItem("Azure Synapse Analytics", "West Europe", "Mitigated", "Wed, 29 May 2024 12:30:00 Z", "Some pipelines failed.")

    /// The feed the fake serves, with an ETag per version; `If-None-Match` with the current
    /// ETag gets a 304.
    final class Server: @unchecked Sendable {
        private let lock = NSLock()
        private var body = ""
        private var version = 0

        func serve(_ text: String) {
            lock.lock(); defer { lock.unlock() }
            body = text
            version += 1
        }

        lazy var transport = FakeTransport { [unowned self] r throws(HTTPError) in self.answer(r) }

        func answer(_ r: HTTPRequest) -> HTTPResponse {
            lock.lock(); defer { lock.unlock() }
            let etag = "\"v\(version)\""
            if r.header("If-None-Match") == etag { return HTTPResponse(status: 304, headers: ["etag": etag], body: []) }
            return HTTPResponse(status: 200, headers: ["etag": etag, "content-type": "application/rss+xml"], body: Array(body.utf8))
        }
    }

    static let config = "sources:\n  - name: azure-status\n    type: status-feed\n    url: https://azure.status.microsoft/en-us/status/feed/\n"

    func rows(_ f: CollectFixture) throws -> [(incident: String, update: String, status: String?, resolved: Int64?, updated: Int64)] {
        try f.database.connection.rows("SELECT incident_key, update_key, status, resolved_us, updated_us FROM vendor_incidents ORDER BY id").map {
            ($0[0].text ?? "", $0[1].text ?? "", $0[2].text, $0[3].integer, $0[4].integer ?? 0)
        }
    }

    @Test func conditionalFetchUpdatesAndResolvedByAbsence() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.config)
        let server = Server()
        let t0 = Timestamp.make(year: 2024, month: 5, day: 29, hour: 15)!

        // 1. First fetch: both items load; the open one is remembered.
        server.serve(Self.azure([Self.openAI, Self.synapse]))
        let first = try f.runner(config, http: server.transport, now: t0).run()
        let o1 = first.outcomes[0]
        #expect(o1.error == nil, "\(o1.error ?? "")")
        #expect(o1.pages == 1 && o1.records == 2 && o1.counts.incidents == 2)
        let cursors = try f.database.connection.checkpoints(source: "azure-status")
        #expect(cursors["etag"] == "\"v1\"")
        let open = try JSONParser.parse(try #require(cursors["open_items"])).arrayValue?.compactMap(\.text) ?? []
        #expect(open.count == 1 && open[0].hasPrefix("azure:"), "\(open)")
        #expect(server.transport.requests[0].header("If-None-Match") == nil)

        // 2. Same version: the ETag goes out, the 304 changes nothing but coverage.
        let second = try f.runner(config, http: server.transport, now: t0 + Timestamp.microsPerHour).run()
        #expect(server.transport.requests[1].header("If-None-Match") == "\"v1\"")
        #expect(second.outcomes[0].error == nil && second.outcomes[0].counts.loaded == 0 && second.outcomes[0].records == 0)
        #expect(try rows(f).count == 2)
        let coverage = try f.database.coverage(source: "azure-status")
        #expect(coverage.count == 1 && coverage[0].windows == 2 && coverage[0].emptyWindows == 1, "\(coverage)")
        #expect(coverage[0].toUs == t0 + Timestamp.microsPerHour)

        // 3. The open incident gets an update: a new row of the same incident.
        server.serve(Self.azure([Self.openAIUpdate, Self.synapse]))
        let third = try f.runner(config, http: server.transport, now: t0 + 2 * Timestamp.microsPerHour).run()
        #expect(third.outcomes[0].counts.incidents == 1 && third.outcomes[0].counts.duplicates == 1)
        let afterUpdate = try rows(f)
        #expect(afterUpdate.count == 3)
        #expect(afterUpdate[2].incident == open[0] && afterUpdate[2].status == "investigating")

        // 4. The open item vanishes: resolved by absence at the fetch time, nothing deleted.
        server.serve(Self.azure([Self.synapse]))
        let t4 = t0 + 3 * Timestamp.microsPerHour
        let fourth = try f.runner(config, http: server.transport, now: t4).run()
        #expect(fourth.outcomes[0].error == nil)
        #expect(fourth.outcomes[0].counts.incidents == 1, "\(fourth.outcomes[0].counts)")
        let afterAbsence = try rows(f)
        #expect(afterAbsence.count == 4)
        let absent = afterAbsence[3]
        #expect(absent.incident == open[0])
        #expect(absent.update.hasPrefix(StatusFeedCollector.absenceUpdatePrefix))
        #expect(absent.status == "resolved" && absent.resolved == t4 && absent.updated == t4)
        let body = try f.scalar("SELECT body FROM vendor_incidents WHERE update_key = ?1", [.text(absent.update)])?.text ?? ""
        #expect(body.contains("Resolved by absence"), "\(body)")
        let title = try f.scalar("SELECT title FROM vendor_incidents WHERE update_key = ?1", [.text(absent.update)])?.text ?? ""
        #expect(title.contains("Azure OpenAI Service"), "\(title)")
        #expect(try f.database.connection.checkpoints(source: "azure-status")["open_items"] == "[]")

        // 5. Re-runs are idempotent: the same body again (no ETag match forced) adds nothing.
        server.serve(Self.azure([Self.synapse]))
        let fifth = try f.runner(config, http: server.transport, now: t4 + Timestamp.microsPerHour).run()
        #expect(fifth.outcomes[0].counts.loaded == 0 && fifth.outcomes[0].counts.duplicates == 1)
        #expect(try rows(f).count == 4)

        // Coverage: one gap-free range of five fetches, three of them with rows.
        let final = try f.database.coverage(source: "azure-status")
        #expect(final.count == 1 && final[0].windows == 5 && final[0].scope == "https://azure.status.microsoft/en-us/status/feed/")
    }

    @Test func statuspageItemsAreNotResolvedByAbsence() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.config)
        let server = Server()
        server.serve(CollectRunnerTests.feed)
        _ = try f.runner(config, http: server.transport).run()
        server.serve(Self.azure([]).replacingOccurrences(of: "Azure Status", with: "Example Status").replacingOccurrences(of: "azure.status.microsoft", with: "status.example.com"))
        let second = try f.runner(config, http: server.transport).run()
        #expect(second.outcomes[0].counts.loaded == 0)
        #expect(try rows(f).count == 1)
    }

    @Test func anEmptyAzureFeedResolvesEveryOpenItem() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.config)
        let server = Server()
        server.serve(Self.azure([Self.openAI]))
        _ = try f.runner(config, http: server.transport).run()
        server.serve(Self.azure([]))
        let r = try f.runner(config, http: server.transport).run()
        #expect(r.outcomes[0].counts.incidents == 1)
        #expect(try rows(f).last?.status == "resolved")
    }

    @Test func notAFeedFailsTheSourceWithAHint() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.config)
        let html = FakeTransport { _ throws(HTTPError) in
            HTTPResponse(status: 200, headers: ["content-type": "text/html"], body: Array("<!doctype html><html><body>Status</body></html>".utf8))
        }
        let r = try f.runner(config, http: html).run()
        #expect(r.outcomes[0].error?.contains("neither RSS, Atom nor Statuspage JSON") == true, "\(r.outcomes[0].error ?? "")")
        let missing = FakeTransport { _ throws(HTTPError) in HTTPResponse(status: 404, headers: [:], body: []) }
        let r2 = try f.runner(config, http: missing).run()
        #expect(r2.outcomes[0].error?.contains("HTTP 404") == true && r2.outcomes[0].error?.contains("check 'url'") == true)
    }
}
