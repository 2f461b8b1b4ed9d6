import AuditCore

/// Writes the vendor status feeds of a planted scenario (formats.md §6), as scenario-1 has them:
/// `status/azure.rss` with an item per Service Health incident of the window (the planted
/// regional one and the decoys, bare-`Z` dates, `<category>` service and region), and OpenAI's
/// own status as `status/openai.atom` (incident.io Atom) and `status/incidents.json`
/// (Statuspage-style) with incidents that concern no Azure account.
struct PlantedStatusFeeds {
    let plan: PlantedPlan
    let incidents: [PlantedActivity.Incident]
    let seed: UInt64

    private struct OpenAIIncident {
        var id: String
        var name: String
        var component: String
        var impact: String
        var started: Int64
        var resolved: Int64
    }

    func write(root: String, writer: inout GeneratorFileWriter) throws(GeneratorError) {
        var rng = GeneratorRandom(seed: seed, stream: 14)
        var rss = GeneratorBuffer(capacity: 8192)
        rss.raw("""
            <?xml version="1.0" encoding="utf-8"?>
            <rss xmlns:a10="http://www.w3.org/2005/Atom" version="2.0">
              <channel xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/">
                <title>Azure Status</title>
                <link>https://azure.status.microsoft/en-us/status/</link>
                <description>Azure Status</description>
                <language>en-us</language>

            """)
        rss.raw("    <lastBuildDate>" + Self.rfc822(plan.windowEnd) + "</lastBuildDate>\n")
        for incident in incidents.sorted(by: { $0.posted > $1.posted }) {
            let published = incident.posted - Int64(1 + rng.int(5)) * PlantedTime.minute
            let hhmm = String(GeneratorBuffer.isoText(incident.impactStart).dropFirst(11).prefix(5))
            let day = Self.rfc822(incident.impactStart).dropFirst(5).prefix(11)  // "14 Sep 2026"
            let title = "\(incident.service) - \(incident.region) - Investigating"
            let impact = "Starting at \(hhmm) UTC on \(day), customers may receive "
                + (incident.service == "Azure OpenAI Service" ? "HTTP 401 errors when calling" : "errors or timeouts when using")
                + " \(incident.service) in \(incident.region)."
            rss.raw("    <item>\n")
            rss.raw("      <category>" + Self.xml(incident.service) + "</category>\n")
            rss.raw("      <category>" + Self.xml(incident.region) + "</category>\n")
            rss.raw("      <title>" + Self.xml(title) + "</title>\n")
            rss.raw("      <description>" + Self.xml("<p><strong>Impact Statement:</strong> " + impact + "</p>") + "</description>\n")
            rss.raw("      <pubDate>" + Self.rfc822(published) + "</pubDate>\n")
            rss.raw("      <link>https://azure.status.microsoft/en-us/status</link>\n")
            rss.raw("    </item>\n")
        }
        rss.raw("  </channel>\n</rss>\n")
        try writer.write(rss, to: root + "/status/azure.rss")

        // OpenAI's own incidents, far from every planted burst: they concern no Azure account.
        let pool: [(String, String, String)] = [
            ("Increased latency for image generation", "Images", "minor"),
            ("Delayed fine-tuning jobs", "Fine-tuning", "minor"),
            ("Elevated errors for file uploads in ChatGPT", "File uploads", "major"),
            ("Degraded performance for voice mode", "Voice mode", "minor"),
        ]
        var openai: [OpenAIIncident] = []
        for (name, component, impact) in PlantedEstate.shuffled(pool, &rng).prefix(1 + rng.int(2)) {
            for _ in 0..<50 {
                let t = plan.windowStart + rng.int64(plan.windowEnd - plan.windowStart - 2 * PlantedTime.hour)
                if !plan.isQuietEverywhere(at: t, margin: 90 * PlantedTime.minute) { continue }
                let started = t / PlantedTime.second * PlantedTime.second
                let id = rng.guid().format(upper: true, dashes: false).prefix(26)
                openai.append(
                    OpenAIIncident(
                        id: String(id), name: name, component: component, impact: impact, started: started,
                        resolved: started + Int64(20 + rng.int(70)) * PlantedTime.minute))
                break
            }
        }
        openai.sort { $0.started > $1.started }
        let updated = GeneratorBuffer.isoText(plan.windowEnd)

        var atom = GeneratorBuffer(capacity: 4096)
        atom.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xml:lang=\"en-US\" xmlns=\"http://www.w3.org/2005/Atom\">\n")
        atom.raw("  <id>https://status.openai.com/</id>\n  <title>OpenAI status</title>\n  <updated>" + updated + "</updated>\n")
        for i in openai {
            let link = "https://status.openai.com/incidents/" + i.id
            atom.raw("  <entry>\n    <id>" + link + "</id>\n")
            atom.raw("    <title type=\"html\"><![CDATA[" + i.name + "]]></title>\n")
            atom.raw("    <link rel=\"alternate\" type=\"text/html\" href=\"" + link + "\"/>\n")
            atom.raw("    <published>" + Self.seconds(i.started) + "</published>\n")
            atom.raw("    <updated>" + Self.seconds(i.resolved) + "</updated>\n")
            atom.raw("    <summary type=\"html\"><![CDATA[<b>Status: Resolved</b><br/><br/>" + i.name
                + " has been resolved.<br/><br/><b>Affected components</b><ul><li>" + i.component
                + " (Operational)</li></ul>]]></summary>\n  </entry>\n")
        }
        atom.raw("</feed>\n")
        try writer.write(atom, to: root + "/status/openai.atom")

        var json = GeneratorBuffer(capacity: 4096)
        json.raw("{\n \"page\": {\n  \"id\": \"openai\",\n  \"name\": \"OpenAI\",\n  \"url\": \"https://status.openai.com\",\n")
        json.raw("  \"time_zone\": \"Etc/UTC\",\n  \"updated_at\": \"" + updated + "\"\n },\n \"incidents\": [")
        for (n, i) in openai.enumerated() {
            let created = Self.millis(i.started), resolved = Self.millis(i.resolved)
            json.raw(n == 0 ? "\n" : ",\n")
            json.raw("  {\n   \"id\": \"" + i.id + "\",\n   \"name\": ")
            json.string(i.name)
            json.raw(",\n   \"status\": \"resolved\",\n   \"impact\": \"" + i.impact + "\",\n")
            json.raw("   \"created_at\": \"" + created + "\",\n   \"updated_at\": \"" + resolved + "\",\n")
            json.raw("   \"resolved_at\": \"" + resolved + "\",\n   \"started_at\": \"" + created + "\",\n")
            json.raw("   \"shortlink\": \"https://stspg.io/" + i.id.prefix(8).lowercased() + "\",\n   \"page_id\": \"openai\",\n")
            json.raw("   \"components\": [\n    {\n     \"id\": \"C\(n + 1)\",\n     \"name\": ")
            json.string(i.component)
            json.raw(",\n     \"status\": \"operational\"\n    }\n   ],\n   \"incident_updates\": [\n")
            json.raw("    {\n     \"id\": \"" + i.id.prefix(10) + "\",\n     \"status\": \"resolved\",\n")
            json.raw("     \"body\": \"This incident has been resolved.\",\n     \"incident_id\": \"" + i.id + "\",\n")
            json.raw("     \"created_at\": \"" + resolved + "\"\n    },\n")
            json.raw("    {\n     \"id\": \"" + i.id.dropFirst(10).prefix(10) + "\",\n     \"status\": \"investigating\",\n     \"body\": ")
            json.string("We are investigating: " + i.name + ".")
            json.raw(",\n     \"incident_id\": \"" + i.id + "\",\n     \"created_at\": \"" + created + "\"\n    }\n   ]\n  }")
        }
        json.raw(openai.isEmpty ? "]\n}\n" : "\n ]\n}\n")
        try writer.write(json, to: root + "/status/incidents.json")
    }

    // MARK: - Text

    /// `Mon, 14 Sep 2026 15:22:43 Z` (the Azure feed's bare-`Z` RFC 822 form).
    static func rfc822(_ ticks: Int64) -> String {
        let days = ticks / PlantedTime.day
        let (y, m, d) = Timestamp.civilFromDays(days)
        let weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][Int((days % 7 + 11) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(m) - 1]
        let time = String(GeneratorBuffer.isoText(ticks).dropFirst(11).prefix(8))
        return "\(weekday), \(d < 10 ? "0" : "")\(d) \(month) \(y) \(time) Z"
    }

    /// `2026-09-14T07:48:35Z`.
    static func seconds(_ ticks: Int64) -> String { String(GeneratorBuffer.isoText(ticks).prefix(19)) + "Z" }

    /// `2026-09-14T07:48:35.000Z`.
    static func millis(_ ticks: Int64) -> String { String(GeneratorBuffer.isoText(ticks).prefix(19)) + ".000Z" }

    /// XML text escaping.
    static func xml(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
