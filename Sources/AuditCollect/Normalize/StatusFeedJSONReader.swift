import AuditCore

/// Maps the Statuspage JSON API (`/api/v2/incidents.json`, `summary.json`, and the
/// Statuspage-compatible JSON incident.io serves) to incident rows: one row per incident update.
enum StatusFeedJSONReader {
    static let format = "statuspage-json"

    static func read(_ input: StatusFeedSource) -> StatusFeedResult? {
        let top: JSONObject
        do {
            guard let object = try JSONParser.parse(input.bytes).objectValue else { return nil }
            top = object
        } catch {
            return salvage(input, error: error)
        }
        guard top["incidents"]?.arrayValue != nil || top["page"]?.objectValue != nil
            || top["incident"]?.objectValue?["incident_updates"] != nil
        else { return nil }
        var result = StatusFeedResult(format: format)
        var incidents = top["incidents"]?.arrayValue ?? []
        if let single = top["incident"], single.objectValue != nil { incidents.append(single) }
        let maintenances = top["scheduled_maintenances"]?.arrayValue ?? []
        append(page: top["page"]?.objectValue, incidents: incidents, maintenances: maintenances, input, to: &result)
        return result
    }

    /// A document that does not parse: the complete incidents before the break, plus a
    /// quarantine entry at the break; nil when it does not even look like Statuspage JSON.
    private static func salvage(_ input: StatusFeedSource, error: JSONParseError) -> StatusFeedResult? {
        let found = StatusFeedJSONSalvage.scan(input.bytes)
        guard found.recognized else { return nil }
        var result = StatusFeedResult(format: format)
        append(page: found.page, incidents: found.incidents, maintenances: found.maintenances, input, to: &result)
        let line = input.line(ofByte: error.offset)
        let reason = "malformed JSON: \(error.reason) at byte \(error.offset)"
        result.quarantine.append(input.quarantine(line: line, column: column(of: error.offset, in: input.bytes), reason: reason))
        return result
    }

    private static func column(of offset: Int, in bytes: [UInt8]) -> Int {
        let end = min(max(offset, 0), bytes.count)
        let lineStart = bytes[..<end].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        return end - lineStart + 1
    }

    private static func append(
        page: JSONObject?, incidents: [JSONValue], maintenances: [JSONValue], _ input: StatusFeedSource,
        to result: inout StatusFeedResult
    ) {
        let pageURL = page?["url"]?.nonEmptyText
        let provider = StatusFeedParser.provider(title: page?["name"]?.nonEmptyText, link: pageURL, id: nil)
        let context = Context(input: input, provider: provider, pageURL: pageURL)
        for value in incidents { rows(value, maintenance: false, context, into: &result) }
        for value in maintenances { rows(value, maintenance: true, context, into: &result) }
    }

    private struct Context {
        var input: StatusFeedSource
        var provider: String
        var pageURL: String?
    }

    /// The rows of one incident (or scheduled maintenance): one per update.
    private static func rows(_ value: JSONValue, maintenance: Bool, _ context: Context, into result: inout StatusFeedResult) {
        func reject(_ reason: String, _ what: JSONValue) {
            let excerpt = Redactor.redact(json: what).serialized
            result.quarantine.append(context.input.quarantine(line: nil, reason: reason, excerptText: excerpt))
        }
        guard let incident = value.objectValue else { return reject("Statuspage incident is not an object", value) }
        guard let id = incident["id"]?.nonEmptyText else { return reject("Statuspage incident without an id", value) }
        guard let name = incident["name"]?.nonEmptyText else { return reject("Statuspage incident \(id) without a name", value) }

        let created = time(incident["created_at"])
        let scheduled = maintenance ? time(incident["scheduled_for"]) : nil
        let resolvedAt = time(incident["resolved_at"])
        let updates = (incident["incident_updates"]?.arrayValue ?? []).compactMap(\.objectValue)
        let updateTimes = updates.compactMap { time($0.first("display_at", "created_at", "updated_at")) }
        guard let startUs = time(incident["started_at"]) ?? scheduled ?? created ?? updateTimes.min() ?? time(incident["updated_at"]) else {
            return reject("Statuspage incident \(id) without a usable date", value)
        }

        let components = (incident["components"]?.arrayValue ?? []).compactMap { $0["name"]?.nonEmptyText }
        let service = components.isEmpty ? nil : Redactor.redact(components.joined(separator: ", "))
        let url = incident["shortlink"]?.nonEmptyText ?? context.pageURL.map { base in
            (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/incidents/" + id
        }
        let base = VendorIncident(
            incidentKey: context.provider + ":" + Redactor.redact(id),
            updateKey: "incident",
            provider: context.provider,
            title: Redactor.redact(name),
            status: status(incident["status"]),
            impact: incident["impact"]?.nonEmptyText.map { Redactor.redact($0.asciiLowercased) },
            service: service,
            region: nil,
            startUs: startUs,
            updatedUs: time(incident["updated_at"]) ?? updateTimes.max() ?? startUs,
            resolvedUs: resolvedAt,
            url: StatusFeedParser.storedURL(url),
            body: nil
        )
        guard !updates.isEmpty else {
            var row = base
            if row.resolvedUs == nil, StatusFeedText.isResolved(row.status) { row.resolvedUs = row.updatedUs }
            result.incidents.append(row)
            return
        }
        for update in updates {
            guard let updatedUs = time(update.first("display_at", "created_at", "updated_at")) else {
                reject("Statuspage update of incident \(id) without a usable date", .object(update))
                continue
            }
            var row = base
            row.status = status(update["status"]) ?? base.status
            row.updatedUs = updatedUs
            row.body = update["body"]?.text.map { Redactor.redact(StatusFeedText.limit($0.trimmingSpaces)) }
            if row.body?.isEmpty == true { row.body = nil }
            row.updateKey = update["id"]?.nonEmptyText.map(Redactor.redact)
                ?? StableHash.hex(row.status ?? "", String(updatedUs), row.body ?? "")
            if row.resolvedUs == nil, StatusFeedText.isResolved(row.status) { row.resolvedUs = updatedUs }
            result.incidents.append(row)
        }
    }

    private static func time(_ value: JSONValue?) -> Int64? {
        value?.nonEmptyText.flatMap(Timestamp.parse)
    }

    /// Lower-cased, spaces as underscores (`in_progress`), redacted.
    private static func status(_ value: JSONValue?) -> String? {
        guard let s = value?.nonEmptyText else { return nil }
        return Redactor.redact(String(s.asciiLowercased.map { $0 == " " ? "_" : $0 }))
    }
}
