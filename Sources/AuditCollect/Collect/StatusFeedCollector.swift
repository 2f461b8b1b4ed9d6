import AuditCore
import AuditNet
import AuditStore
import Foundation

/// `type: status-feed` — a vendor status feed (Azure status RSS, Statuspage/incident.io RSS,
/// Atom or JSON) fetched over HTTP and read by `StatusFeedParser`, like `import` reads a saved
/// feed.
///
/// ```yaml
/// - name: azure-status
///   type: status-feed
///   url: https://azure.status.microsoft/en-us/status/feed/
/// ```
///
/// - Conditional GET: the `etag` and `last_modified` cursors go out as `If-None-Match` /
///   `If-Modified-Since`; a 304 records an empty coverage window and nothing else.
/// - Every item (or Statuspage update) is a `vendor_incidents` row; a changed item is a new
///   update row of the same incident, and the same item read again changes nothing.
/// - The Azure feed lists only current incidents: an item that was open at the last fetch and
///   is no longer listed gets an update row with status `resolved` at the fetch time (its body
///   says it was resolved by absence). Rows are never deleted. The open items are kept in the
///   `open_items` cursor (a JSON array of incident keys).
/// - Rows, cursors and the coverage window are written in one transaction.
public struct StatusFeedCollector: Collector {
    public static let type = "status-feed"
    public static let keys = ["url"]
    public static let needsCredentials = false

    /// The update-key prefix of the rows written for items that vanished from the feed.
    public static let absenceUpdatePrefix = "absent:"

    public let url: String

    public init(source: SourceConfig) throws(ConfigError) {
        guard let url = try source.string("url", required: true) else {
            throw source.invalid(nil, "'url' is required for type \(Self.type)")
        }
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw source.invalid("url", "'url' must be an http(s) URL (e.g. https://azure.status.microsoft/en-us/status/feed/)")
        }
        if lower.hasPrefix("http://") {
            let host = lower.dropFirst("http://".count)
            guard host.hasPrefix("127.") || host.hasPrefix("localhost") || host.hasPrefix("[::1]") else {
                throw source.invalid("url", "'url': plain http:// is only allowed to loopback (127.0.0.1, ::1, localhost); use https://")
            }
        }
        self.url = url
    }

    public func collect(_ context: CollectContext) throws -> SourceOutcome {
        let name = context.source.name
        var outcome = SourceOutcome(name: name, type: Self.type)
        let shown = HTTPRequest.display(url)
        var request = HTTPRequest(url: url, headers: [("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, application/json;q=0.9, */*;q=0.5")])
        if let etag = context.checkpoints["etag"], !etag.isEmpty { request.headers.append(("If-None-Match", etag)) }
        if let modified = context.checkpoints["last_modified"], !modified.isEmpty { request.headers.append(("If-Modified-Since", modified)) }

        let response = try context.http.send(request)
        outcome.pages = 1
        outcome.lagSeconds = 0  // a feed is its current state
        let from = Int64(context.checkpoints["fetched_us"] ?? "") ?? context.now
        var window = CoverageWindow(scope: shown, fromUs: min(from, context.now), toUs: context.now, records: 0)
        var cursors: [(key: String, value: String)] = [("fetched_us", String(context.now))]

        switch response.status {
        case 304:
            context.log("\(shown): not modified")
            outcome.counts = try context.store.write(RecordBatch(), source: name, checkpoints: cursors, coverage: [window])
            return outcome
        case 200..<300:
            break
        default:
            throw CollectError.service(source: name, url: shown, status: response.status, code: nil,
                                       message: Self.snippet(response), hint: Self.hint(response.status))
        }

        guard let feed = StatusFeedParser.parse(response.body, source: shown) else {
            let type = response[header: "content-type"].map { " (\($0))" } ?? ""
            throw CollectError.service(source: name, url: shown, status: response.status, code: nil,
                                       message: "the response\(type) is neither RSS, Atom nor Statuspage JSON",
                                       hint: "check that 'url' points at the feed itself (…/feed/, …/history.rss, …/api/v2/incidents.json)")
        }
        var batch = RecordBatch()
        batch.incidents = feed.incidents
        batch.quarantine = feed.quarantine
        batch.read = feed.incidents.count + feed.quarantine.count

        // Azure lists current incidents only: open items that vanished are resolved by absence.
        let azure = feed.incidents.filter { $0.provider == "azure" }
        let previous = Self.decodeKeys(context.checkpoints["open_items"])
        var open = Self.openKeys(azure)
        if feed.quarantine.isEmpty {
            let listed = Set(azure.map(\.incidentKey))
            let vanished = previous.subtracting(listed).sorted()
            if !vanished.isEmpty {
                let rows = try context.store.withConnection { c in try Self.absenceRows(vanished, at: context.now, connection: c) }
                batch.incidents += rows
                batch.read += rows.count
            }
        } else {
            // A damaged document may have lost items: resolve nothing, forget nothing.
            open.formUnion(previous)
        }
        cursors.append(("open_items", Self.encodeKeys(open)))
        cursors.append(("etag", response[header: "etag"] ?? ""))
        cursors.append(("last_modified", response[header: "last-modified"] ?? ""))
        window.records = feed.incidents.count
        outcome.records = batch.read
        outcome.counts = try context.store.write(batch, source: name, checkpoints: cursors, coverage: [window])
        if !feed.quarantine.isEmpty { outcome.warnings.append("\(feed.quarantine.count) feed item(s) quarantined; see `aoai-audit query quarantine_summary`") }
        context.log("\(shown): \(feed.format), \(feed.incidents.count) rows, \(outcome.counts.incidents) new")
        return outcome
    }

    // MARK: - Open items

    /// Keys of the incidents whose latest listed update is not a resolution.
    static func openKeys(_ incidents: [VendorIncident]) -> Set<String> {
        var latest: [String: VendorIncident] = [:]
        for i in incidents {
            if let cur = latest[i.incidentKey], cur.updatedUs >= i.updatedUs { continue }
            latest[i.incidentKey] = i
        }
        return Set(latest.values.filter { $0.resolvedUs == nil }.map(\.incidentKey))
    }

    /// For each vanished incident still open in the store, an update row resolving it at `now`.
    /// The update key derives from the last stored update, so a re-run writes nothing new.
    static func absenceRows(_ keys: [String], at now: Int64, connection c: Connection) throws -> [VendorIncident] {
        var rows: [VendorIncident] = []
        for key in keys {
            let found = try c.rows("""
                SELECT update_key, provider, title, status, impact, service, region, start_us, updated_us, resolved_us, url
                FROM vendor_incidents WHERE incident_key = ?1 ORDER BY updated_us DESC, id DESC LIMIT 1
                """, [.text(key)])
            guard let r = found.first, r[9].integer == nil else { continue }  // unknown, or already resolved
            let last = r[0].text ?? ""
            guard !last.hasPrefix(absenceUpdatePrefix) else { continue }
            rows.append(VendorIncident(
                incidentKey: key, updateKey: absenceUpdatePrefix + last, provider: r[1].text ?? "azure", title: r[2].text ?? key,
                status: "resolved", impact: r[4].text, service: r[5].text, region: r[6].text,
                startUs: r[7].integer ?? now, updatedUs: max(now, r[8].integer ?? now), resolvedUs: max(now, r[8].integer ?? now), url: r[10].text,
                body: "Resolved by absence: no longer listed in the status feed at \(Timestamp.isoSeconds(now)) (last listed status: \(r[3].text ?? "unknown"))."))
        }
        return rows
    }

    static func decodeKeys(_ text: String?) -> Set<String> {
        guard let text, !text.isEmpty, let v = try? JSONParser.parse(text), let items = v.arrayValue else { return [] }
        return Set(items.compactMap(\.text))
    }

    static func encodeKeys(_ keys: Set<String>) -> String {
        JSONValue.array(keys.sorted().map { .string($0) }).serialized
    }

    // MARK: - Errors

    static func snippet(_ r: HTTPResponse) -> String {
        let text = r.text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return Redactor.redact(String(text.prefix(160)))
    }

    static func hint(_ status: Int) -> String {
        switch status {
        case 401, 403: return "the feed needs no credentials; check the URL (a private status page is not supported)"
        case 404, 410: return "check 'url' in the config (the feed moved?)"
        default: return "check 'url' and try again later"
        }
    }
}
