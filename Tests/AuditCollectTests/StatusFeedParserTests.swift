import AuditCore
import Foundation
import Testing

@testable import AuditCollect

/// Small feeds written from formats.md §6 (never copies of the shared fixtures).
private enum Feeds {
    static let azure = """
        <?xml version="1.0" encoding="utf-8"?>
        <rss xmlns:a10="http://www.w3.org/2005/Atom" version="2.0">
          <channel xmlns:dc="http://purl.org/dc/elements/1.1/">
            <title>Azure Status</title>
            <link>https://azure.status.microsoft/en-us/status/</link>
            <description>Azure Status</description>
            <lastBuildDate>Wed, 29 May 2024 15:10:00 Z</lastBuildDate>
            <item>
              <category>Azure OpenAI Service</category>
              <category>East US</category>
              <title>Azure OpenAI Service - East US - Investigating</title>
              <description>&lt;p&gt;&lt;strong&gt;Impact Statement:&lt;/strong&gt; Starting at 13:40 UTC on 29 May 2024, customers may receive HTTP 401 errors &amp;amp; timeouts.&lt;/p&gt;</description>
              <pubDate>Wed, 29 May 2024 14:05:00 Z</pubDate>
              <link>https://azure.status.microsoft/en-us/status</link>
            </item>
            <item>
              <category>West Europe</category>
              <category>Azure Synapse Analytics</category>
              <title>Azure Synapse Analytics - West Europe - Active</title>
              <description>&lt;p&gt;Some pipelines fail.&lt;/p&gt;</description>
              <pubDate>Wed, 29 May 2024 12:30:00 Z</pubDate>
              <link>https://azure.status.microsoft/en-us/status</link>
            </item>
            <item>
              <category>Azure OpenAI Service</category>
              <category>East US</category>
              <title>Azure OpenAI Service - East US - Mitigated</title>
              <description>&lt;p&gt;&lt;strong&gt;Summary of Impact:&lt;/strong&gt; Between 13:40 and 14:55 UTC customers received HTTP 401 errors.&lt;/p&gt;</description>
              <pubDate>Wed, 29 May 2024 15:00:00 Z</pubDate>
              <link>https://azure.status.microsoft/en-us/status</link>
            </item>
          </channel>
        </rss>
        """

    static let azureEmpty = """
        <?xml version="1.0" encoding="utf-8"?>
        <rss xmlns:a10="http://www.w3.org/2005/Atom" version="2.0"><channel><title>Azure Status</title><link>https://azure.status.microsoft/en-us/status/</link><description>Azure Status</description><language>en-us</language><lastBuildDate>Thu, 17 Nov 2022 08:36:00 Z</lastBuildDate></channel></rss>
        """

    static let incidentIO = """
        <?xml version="1.0" encoding="UTF-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom">
          <id>https://status.openai.com/</id>
          <title>OpenAI status</title>
          <updated>2025-03-01T10:30:00.000Z</updated>
          <entry>
            <id>https://status.openai.com/incidents/01JMYB483C404VMPCW726E8MET</id>
            <title type="html"><![CDATA[Elevated Error Rates]]></title>
            <link rel="alternate" type="text/html" href="https://status.openai.com/incidents/01JMYB483C404VMPCW726E8MET"/>
            <published>2025-03-01T09:12:00.000Z</published>
            <updated>2025-03-01T10:30:00.000Z</updated>
            <summary type="html"><![CDATA[<b>Status: Monitoring</b><br/><br/>A fix has been applied &amp; we are monitoring.<br/><br/><b>Affected components</b><ul><li>Codex API (Operational)</li><li>Chat Completions (Degraded performance)</li></ul>]]></summary>
          </entry>
        </feed>
        """

    static let statuspageAtom = """
        <?xml version="1.0" encoding="UTF-8"?>
        <feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">
          <id>tag:status.example.com,2005:/history</id>
          <link rel="alternate" type="text/html" href="https://status.example.com"/>
          <link rel="self" type="application/atom+xml" href="https://status.example.com/history.atom"/>
          <title>Example Status - Incident History</title>
          <updated>2020-11-15T00:17:45-08:00</updated>
          <entry>
            <id>tag:status.example.com,2005:Incident/5566864</id>
            <published>2020-11-14T13:51:38-08:00</published>
            <updated>2020-11-14T14:07:39-08:00</updated>
            <link rel="alternate" type="text/html" href="https://status.example.com/incidents/08fk1fzrw8p8"/>
            <title>Tunnels not starting</title>
            <content type="html">&lt;p&gt;&lt;small&gt;Nov &lt;var data-var='date'&gt;14&lt;/var&gt;, &lt;var data-var='time'&gt;14:07&lt;/var&gt; PST&lt;/small&gt;&lt;br&gt;&lt;strong&gt;Resolved&lt;/strong&gt; - This incident has been resolved.&lt;/p&gt;&lt;p&gt;&lt;small&gt;Nov &lt;var data-var='date'&gt;14&lt;/var&gt;, &lt;var data-var='time'&gt;13:51&lt;/var&gt; PST&lt;/small&gt;&lt;br&gt;&lt;strong&gt;Monitoring&lt;/strong&gt; - We are monitoring.&lt;/p&gt;</content>
          </entry>
          <entry>
            <id>tag:status.example.com,2005:Incident/4798888</id>
            <published>2020-08-15T11:58:31-07:00</published>
            <updated>2020-08-15T11:58:33-07:00</updated>
            <link rel="alternate" type="text/html" href="https://status.example.com/incidents/xkjy83lsj7ll"/>
            <title>Planned Maintenance</title>
            <content type="html">&lt;p&gt;&lt;small&gt;Aug &lt;var data-var='date'&gt;15&lt;/var&gt;, 10:00 PDT&lt;/small&gt;&lt;br&gt;&lt;strong&gt;In progress&lt;/strong&gt; - Scheduled maintenance is currently in progress.&lt;/p&gt;</content>
          </entry>
        </feed>
        """

    static let statuspageJSON = """
        {
          "page": {"id": "yfr0z4k3ynb5", "name": "OpenAI", "url": "https://status.openai.com", "time_zone": "Etc/UTC", "updated_at": "2024-05-29T15:02:00.000Z"},
          "incidents": [
            {
              "id": "01HZ2X8Q7K9V3M5N1P0R4T6W8Y",
              "name": "Elevated authentication errors on the API",
              "status": "resolved", "impact": "major",
              "created_at": "2024-05-29T14:20:00.000Z", "updated_at": "2024-05-29T15:02:00.000Z",
              "monitoring_at": "2024-05-29T14:48:00.000Z", "resolved_at": "2024-05-29T15:02:00.000Z",
              "started_at": "2024-05-29T14:12:00.000Z", "shortlink": "https://stspg.io/abc123", "page_id": "yfr0z4k3ynb5",
              "components": [{"id": "01JMXBRMFE6N2NNT7DG6XZQ6PW", "name": "Chat Completions", "status": "operational"}],
              "incident_updates": [
                {"id": "01HZ2Y1A", "status": "resolved", "body": "This incident has been resolved.", "incident_id": "01HZ2X8Q7K9V3M5N1P0R4T6W8Y", "created_at": "2024-05-29T15:02:00.000Z", "updated_at": "2024-05-29T15:02:00.000Z", "display_at": "2024-05-29T15:02:00.000Z", "affected_components": null},
                {"id": "01HZ2X9B", "status": "investigating", "body": "We are investigating elevated 401 errors on API requests.", "incident_id": "01HZ2X8Q7K9V3M5N1P0R4T6W8Y", "created_at": "2024-05-29T14:20:00.000Z", "updated_at": "2024-05-29T14:20:00.000Z", "display_at": "2024-05-29T14:20:00.000-00:00", "affected_components": [{"code": "01JMXBRMFE6N2NNT7DG6XZQ6PW", "name": "Chat Completions", "old_status": "operational", "new_status": "partial_outage"}]}
              ]
            },
            {
              "id": "q1w2e3r4t5y6", "name": "Degraded fine-tuning jobs", "status": "investigating", "impact": "minor",
              "created_at": "2024-05-30T08:00:00.000-06:00", "updated_at": "2024-05-30T08:00:00.000-06:00",
              "resolved_at": null, "started_at": null, "shortlink": null, "incident_updates": []
            }
          ]
        }
        """

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
}

@Suite struct StatusFeedParserTests {
    // MARK: - Azure RSS

    @Test func azureRSSReadsCategoriesTitleStatusAndBareZDates() throws {
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.azure), source: "azure.rss"))
        #expect(r.format == "rss")
        #expect(r.quarantine.isEmpty)
        #expect(r.incidents.count == 3)
        let first = r.incidents[0]
        #expect(first.provider == "azure")
        #expect(first.title == "Azure OpenAI Service - East US - Investigating")
        #expect(first.status == "investigating")
        #expect(first.service == "Azure OpenAI Service")
        #expect(first.region == "East US")
        #expect(Timestamp.iso(first.updatedUs) == "2024-05-29T14:05:00.000000Z")
        #expect(Timestamp.iso(first.startUs) == "2024-05-29T14:05:00.000000Z")
        #expect(first.resolvedUs == nil)
        #expect(first.incidentKey == "azure:" + StableHash.hex("Azure OpenAI Service - East US", "Azure OpenAI Service", "East US"))
        #expect(first.body == "Impact Statement: Starting at 13:40 UTC on 29 May 2024, customers may receive HTTP 401 errors & timeouts.")
        #expect(first.url == "https://azure.status.microsoft/en-us/status")

        // Region listed first: still told apart from the service.
        let synapse = r.incidents[1]
        #expect(synapse.service == "Azure Synapse Analytics")
        #expect(synapse.region == "West Europe")
        #expect(synapse.status == "active")

        // The status change keeps the incident and makes a new, resolved update.
        let mitigated = r.incidents[2]
        #expect(mitigated.incidentKey == first.incidentKey)
        #expect(mitigated.updateKey != first.updateKey)
        #expect(mitigated.status == "mitigated")
        #expect(mitigated.resolvedUs.map(Timestamp.iso) == "2024-05-29T15:00:00.000000Z")
    }

    @Test func azureEmptyChannelIsAValidEmptyFeed() throws {
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.azureEmpty), source: "azure.rss"))
        #expect(r.format == "rss")
        #expect(r.incidents.isEmpty)
        #expect(r.quarantine.isEmpty)
    }

    @Test func azureTitleGivesServiceAndRegionWhenCategoriesAreMissing() throws {
        let feed = Feeds.azure.replacingOccurrences(of: "<category>Azure OpenAI Service</category>", with: "")
            .replacingOccurrences(of: "<category>East US</category>", with: "")
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(feed), source: "azure.rss"))
        #expect(r.incidents[0].service == "Azure OpenAI Service")
        #expect(r.incidents[0].region == "East US")
        #expect(r.incidents[0].incidentKey == r.incidents[2].incidentKey)
    }

    @Test func azureRegionsMatchDisplayAndARMSpellings() {
        #expect(StatusFeedAzure.isRegion("North Central US"))
        #expect(StatusFeedAzure.isRegion("swedencentral"))
        #expect(StatusFeedAzure.isRegion("Global"))
        #expect(!StatusFeedAzure.isRegion("Azure OpenAI Service"))
        #expect(StatusFeedAzure.splitStatus("Azure Databricks - North Central US - Investigating").status == "investigating")
        #expect(StatusFeedAzure.splitStatus("Azure Front Door - Degraded routing").status == nil)
    }

    // MARK: - Atom

    @Test func incidentIOAtomReadsStatusMarkerAndComponents() throws {
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.incidentIO), source: "openai.atom"))
        #expect(r.format == "atom")
        let e = try #require(r.incidents.first)
        #expect(e.provider == "status.openai.com")
        #expect(e.incidentKey == "status.openai.com:https://status.openai.com/incidents/01JMYB483C404VMPCW726E8MET")
        #expect(e.title == "Elevated Error Rates")
        #expect(e.status == "monitoring")
        #expect(e.service == "Codex API, Chat Completions")
        #expect(e.resolvedUs == nil)
        #expect(Timestamp.iso(e.startUs) == "2025-03-01T09:12:00.000000Z")
        #expect(Timestamp.iso(e.updatedUs) == "2025-03-01T10:30:00.000000Z")
        #expect(e.body == "Status: Monitoring A fix has been applied & we are monitoring. Affected components Codex API (Operational) Chat Completions (Degraded performance)")
        #expect(e.updateKey == StableHash.hex("monitoring", String(e.updatedUs), e.body ?? ""))
    }

    @Test func statuspageAtomHandlesLocalOffsetsAndStrongMarkers() throws {
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.statuspageAtom), source: "history.atom"))
        #expect(r.incidents.count == 2)
        let resolved = r.incidents[0]
        #expect(resolved.provider == "status.example.com")
        #expect(resolved.incidentKey == "status.example.com:tag:status.example.com,2005:Incident/5566864")
        #expect(resolved.status == "resolved")
        #expect(Timestamp.iso(resolved.startUs) == "2020-11-14T21:51:38.000000Z")
        #expect(Timestamp.iso(resolved.updatedUs) == "2020-11-14T22:07:39.000000Z")
        #expect(resolved.resolvedUs == resolved.updatedUs)
        #expect(resolved.url == "https://status.example.com/incidents/08fk1fzrw8p8")
        #expect(resolved.body == "Nov 14, 14:07 PST Resolved - This incident has been resolved. Nov 14, 13:51 PST Monitoring - We are monitoring.")
        let maintenance = r.incidents[1]
        #expect(maintenance.status == "in_progress")
        #expect(Timestamp.iso(maintenance.updatedUs) == "2020-08-15T18:58:33.000000Z")
        #expect(maintenance.resolvedUs == nil)
    }

    // MARK: - Statuspage JSON

    @Test func statuspageJSONGivesOneRowPerUpdate() throws {
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.statuspageJSON), source: "incidents.json"))
        #expect(r.format == "statuspage-json")
        #expect(r.quarantine.isEmpty)
        #expect(r.incidents.count == 3)
        let (resolved, investigating) = (r.incidents[0], r.incidents[1])
        #expect(resolved.incidentKey == "status.openai.com:01HZ2X8Q7K9V3M5N1P0R4T6W8Y")
        #expect(investigating.incidentKey == resolved.incidentKey)
        #expect(resolved.updateKey == "01HZ2Y1A")
        #expect(investigating.updateKey == "01HZ2X9B")
        #expect(resolved.status == "resolved")
        #expect(investigating.status == "investigating")
        #expect(resolved.title == "Elevated authentication errors on the API")
        #expect(resolved.impact == "major")
        #expect(resolved.service == "Chat Completions")
        #expect(resolved.url == "https://stspg.io/abc123")
        #expect(Timestamp.iso(resolved.startUs) == "2024-05-29T14:12:00.000000Z")
        #expect(Timestamp.iso(resolved.updatedUs) == "2024-05-29T15:02:00.000000Z")
        #expect(Timestamp.iso(investigating.updatedUs) == "2024-05-29T14:20:00.000000Z")
        #expect(resolved.resolvedUs.map(Timestamp.iso) == "2024-05-29T15:02:00.000000Z")
        #expect(investigating.body == "We are investigating elevated 401 errors on API requests.")

        // No updates: one row for the incident itself, start from created_at (offset applied).
        let bare = r.incidents[2]
        #expect(bare.updateKey == "incident")
        #expect(bare.incidentKey == "status.openai.com:q1w2e3r4t5y6")
        #expect(Timestamp.iso(bare.startUs) == "2024-05-30T14:00:00.000000Z")
        #expect(bare.url == "https://status.openai.com/incidents/q1w2e3r4t5y6")
        #expect(bare.resolvedUs == nil)
    }

    @Test func truncatedJSONKeepsTheCompleteIncidentsAndQuarantinesTheRest() throws {
        let text = Feeds.statuspageJSON
        let cut = try #require(text.range(of: "\"Degraded fine-tuning jobs\""))
        let truncated = String(text[..<cut.upperBound])
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(truncated), source: "incidents.json"))
        #expect(r.format == "statuspage-json")
        #expect(r.incidents.map(\.updateKey) == ["01HZ2Y1A", "01HZ2X9B"])
        let q = try #require(r.quarantine.first)
        #expect(r.quarantine.count == 1)
        #expect(q.source == "incidents.json")
        #expect(q.line == 18)
        #expect(q.excerpt.hasPrefix("\"id\": \"q1w2e3r4t5y6\""))

        // Broken right after the key: recognizable, nothing to load.
        let early = try #require(StatusFeedParser.parse(Feeds.bytes("{\"incidents\": 3"), source: "x.json"))
        #expect(early.incidents.isEmpty)
        #expect(early.quarantine.count == 1)
        #expect(q.reason.hasPrefix("malformed JSON"))
    }

    // MARK: - Bad input

    @Test func malformedXMLKeepsItemsReadBeforeTheBreak() throws {
        let cut = try #require(Feeds.azure.range(of: "<title>Azure Synapse Analytics"))
        let broken = String(Feeds.azure[..<cut.lowerBound]) + "<title>Azure Synapse</titel>\n</item></channel></rss>"
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(broken), source: "azure.rss"))
        #expect(r.incidents.map(\.status) == ["investigating"])
        let q = try #require(r.quarantine.first)
        #expect(r.quarantine.count == 1)
        #expect(q.line == 19)
        #expect(q.reason.hasPrefix("malformed XML"))
        #expect(q.excerpt.contains("</titel>"))
    }

    @Test func itemsWithoutDateOrTitleAreQuarantinedAndOthersLoad() throws {
        let feed = """
            <rss version="2.0"><channel><title>Example Status</title><link>https://status.example.com</link>
            <item><title>Good one</title><pubDate>Wed, 29 May 2024 14:05:00 GMT</pubDate><guid>g1</guid></item><item><title>No date</title><guid>g2</guid></item>
            <item><title>Bad date</title><pubDate>yesterday</pubDate></item>
            <item><description>no title</description><pubDate>Wed, 29 May 2024 14:05:00 GMT</pubDate></item>
            </channel></rss>
            """
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(feed), source: "feed.rss"))
        #expect(r.incidents.map(\.incidentKey) == ["status.example.com:g1"])
        #expect(r.quarantine.map(\.line) == [2, 3, 4])
        #expect(r.quarantine[0].excerpt.hasPrefix("<item><title>No date</title>"))
        #expect(r.quarantine[0].reason.contains("without a date"))
        #expect(r.quarantine[1].reason.contains("yesterday"))
        #expect(r.quarantine[2].reason.contains("without a title"))

        let atom = Feeds.statuspageAtom.replacingOccurrences(of: "<title>Tunnels not starting</title>", with: "")
        let a = try #require(StatusFeedParser.parse(Feeds.bytes(atom), source: "history.atom"))
        #expect(a.incidents.count == 1)
        #expect(a.quarantine.map(\.line) == [8])
    }

    @Test(arguments: [Feeds.azure, Feeds.incidentIO, Feeds.statuspageAtom, Feeds.statuspageJSON])
    func everyTruncationLoadsAPrefixOrNothing(_ feed: String) throws {
        let bytes = Feeds.bytes(feed)
        let full = try #require(StatusFeedParser.parse(bytes, source: "full"))
        for end in stride(from: 0, to: bytes.count, by: 5) {
            guard let r = StatusFeedParser.parse(Array(bytes[..<end]), source: "cut") else { continue }
            #expect(r.format == full.format)
            #expect(r.incidents.count <= full.incidents.count)
            #expect(r.incidents.allSatisfy { full.incidents.contains($0) }, "cut at \(end)")
            #expect(r.quarantine.count == 1, "cut at \(end)")
        }
    }

    @Test func unrecognizedInputReturnsNil() {
        for text in ["", "hello", "<html><body>Status</body></html>", "<<<<", "{\"value\": []}", "[1, 2]", "{\"incidentz\": 3", "\u{FEFF}  plain"] {
            #expect(StatusFeedParser.parse(Feeds.bytes(text), source: "x") == nil, "\(text)")
        }
    }

    @Test func sniffRecognizesFeedHeads() {
        #expect(StatusFeedParser.sniff(Feeds.bytes("\u{FEFF}<?xml version=\"1.0\"?>\n<rss version=\"2.0\">")))
        #expect(StatusFeedParser.sniff(Feeds.bytes("<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">")))
        #expect(StatusFeedParser.sniff(Feeds.bytes("  {\"page\":{\"id\":\"x\"")))
        #expect(StatusFeedParser.sniff(Feeds.bytes("{\"incidents\":[")))
        #expect(!StatusFeedParser.sniff(Feeds.bytes("{\"value\":[{\"id\":")))
        #expect(!StatusFeedParser.sniff(Feeds.bytes("<html><head>")))
        #expect(!StatusFeedParser.sniff([]))
    }

    // MARK: - Keys, text, redaction

    @Test func sameContentGivesSameUpdateAndChangedContentANewOne() throws {
        let a = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.incidentIO), source: "a"))
        let b = try #require(StatusFeedParser.parse(Feeds.bytes(Feeds.incidentIO), source: "b"))
        #expect(a.incidents == b.incidents)
        let edited = Feeds.incidentIO.replacingOccurrences(of: "A fix has been applied", with: "A second fix has been applied")
        let c = try #require(StatusFeedParser.parse(Feeds.bytes(edited), source: "c"))
        #expect(c.incidents[0].incidentKey == a.incidents[0].incidentKey)
        #expect(c.incidents[0].updateKey != a.incidents[0].updateKey)
    }

    @Test func storedTextIsRedacted() throws {
        let secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        let feed = Feeds.incidentIO.replacingOccurrences(of: "A fix has been applied", with: "Bearer \(secret) leaked")
        let r = try #require(StatusFeedParser.parse(Feeds.bytes(feed), source: "openai.atom"))
        let body = try #require(r.incidents.first?.body)
        #expect(!body.contains(secret))
        #expect(body.contains(Redactor.mask))
    }

    @Test func htmlBecomesPlainText() {
        #expect(StatusFeedText.plainText(fromHTML: "<p>a &lt; b &amp;&amp; c&#x27;s <script>x()</script>end</p><!-- note -->\r\n<p>next&nbsp;line</p>") == "a < b && c's end next line")
        #expect(StatusFeedText.plainText(fromHTML: "latency < 5s and 3 > 2") == "latency < 5s and 3 > 2")
        #expect(StatusFeedText.plainText(fromHTML: String(repeating: "x", count: 5000)).count == 4000)
        #expect(StatusFeedText.statusMarker(inHTML: "<p><strong>Impact Statement:</strong> x</p><b>Status: Identified</b>") == "identified")
    }
}
