import AuditCore
import AuditNet
import AuditStore
import Foundation

/// `type: activity-log` — the Azure Activity Log of each subscription through ARM
/// (`eventtypes/management/values`, formats.md §1), ServiceHealth events included.
///
/// Events are published late: `submissionTimestamp` trails `eventTimestamp` by minutes and
/// sometimes hours, and ARM filters on `eventTimestamp`. So every run re-reads a look-back
/// window before its cursor, sized from the largest lag observed so far (at least 2 hours);
/// identity keys make the re-read free of duplicates. Windows are fetched oldest first in
/// slices of at most a day; a slice's cursor commits with its last page, so an interrupted
/// run resumes at the first unfinished slice.
///
/// Cursors (per subscription): `sub:<id>:to` (UTC µs up to which every slice was read),
/// `sub:<id>:lag` (largest submission lag seen, seconds).
public struct ActivityLogCollector: Collector {
    public static let type = "activity-log"
    public static let keys = ["subscriptions", "lookback"]
    public static let needsCredentials = true

    public static let apiVersion = "2015-04-01"
    /// The Activity Log keeps 90 days.
    public static let retention: Int64 = 90 * Timestamp.microsPerDay
    public static let minimumLookback: Int64 = 2 * Timestamp.microsPerHour
    /// At most this long a look-back, however late one event once was.
    public static let maximumLookback: Int64 = 2 * Timestamp.microsPerDay
    static let slice: Int64 = Timestamp.microsPerDay

    public let name: String
    public let subscriptions: [String]
    /// A fixed look-back from the config (`lookback: 6h`) instead of the observed lag.
    public let fixedLookback: Int64?

    public init(source: SourceConfig) throws(ConfigError) {
        name = source.name
        subscriptions = try source.strings("subscriptions", required: true).map { $0.lowercased() }
        for s in subscriptions where !s.isGUID {
            throw source.invalid("subscriptions", "'\(s)' is not a subscription id (a GUID such as 11111111-2222-3333-4444-555555555555)")
        }
        if let l = try source.string("lookback") {
            guard let us = TimeArgument.duration(l) else { throw source.invalid("lookback", "'\(l)' is not a duration (e.g. 2h, 90m, 1d)") }
            fixedLookback = us
        } else {
            fixedLookback = nil
        }
    }

    public func collect(_ context: CollectContext) throws -> SourceOutcome {
        var outcome = SourceOutcome(name: name, type: Self.type)
        let auth = try context.bearer(context.endpoints.armScope)
        var newest: Int64?
        for sub in subscriptions {
            let cursorKey = "sub:\(sub):to", lagKey = "sub:\(sub):lag"
            var maxLag = Int64(context.checkpoints[lagKey] ?? "") ?? 0
            let lookback = fixedLookback ?? min(Self.maximumLookback, max(Self.minimumLookback, maxLag * Timestamp.microsPerSecond * 3 / 2))
            let oldest = context.now - Self.retention + Timestamp.microsPerHour
            var start: Int64
            if let since = context.since {
                start = since
            } else if let cursor = Int64(context.checkpoints[cursorKey] ?? "") {
                start = cursor - lookback
            } else {
                start = context.now - 7 * Timestamp.microsPerDay
            }
            start = max(start, oldest)
            while start < context.now {
                let end = min(start + Self.slice, context.now)
                let read = try fetchWindow(sub: sub, from: start, to: end, auth: auth, context: context, maxLag: &maxLag, newest: &newest, outcome: &outcome)
                _ = read
                start = end
            }
        }
        if let newest { outcome.lagSeconds = max(0, (context.now - newest) / Timestamp.microsPerSecond) }
        return outcome
    }

    /// Reads every page of `[from, to]` for `sub`; rows commit page by page (idempotent), the
    /// cursor with the last page.
    private func fetchWindow(sub: String, from: Int64, to: Int64, auth: (name: String, value: String), context: CollectContext,
                             maxLag: inout Int64, newest: inout Int64?, outcome: inout SourceOutcome) throws -> Int {
        let filter = "eventTimestamp ge '\(Timestamp.iso(from))' and eventTimestamp le '\(Timestamp.iso(to))'"
        let base = context.endpoints.arm
        var url: String? = "\(base)/subscriptions/\(sub)/providers/Microsoft.Insights/eventtypes/management/values?api-version=\(Self.apiVersion)&$filter=\(AzureResponses.encodeQueryValue(filter))"
        let origin = AzureResponses.origin(base)
        let router = RecordRouter(forced: .activityLog, location: "\(name): subscription \(sub)")
        var records = 0
        var page = 0
        while let pageURL = url {
            guard AzureResponses.origin(pageURL) == origin else {
                throw CollectError.service(source: name, url: HTTPRequest.display(pageURL), status: 0, code: nil,
                                           message: "nextLink points at another host than cloud.arm", hint: "refusing to send the token there; check `cloud.arm`")
            }
            let response = try context.http.send(HTTPRequest(url: pageURL, headers: [auth, ("Accept", "application/json")]))
            outcome.pages += 1
            guard response.status == 200 else {
                throw AzureResponses.armFailure(source: name, url: pageURL, response: response, permission: "Microsoft.Insights/eventtypes/values/read")
            }
            var batch = RecordBatch()
            url = nil
            switch try? JSONParser.parse(response.body) {
            case .object(let o)?:
                if case .array(let events)? = o["value"] {
                    for (i, e) in events.enumerated() {
                        batch.read += 1  // route(_:bytes:…) counts only what it quarantines or unwraps
                        router.route(e, bytes: nil, line: i + 1, offset: 0, into: &batch)
                    }
                } else {
                    router.quarantine(Array(response.body.prefix(4096)), line: nil, offset: nil, reason: "page \(page) has no `value` array", into: &batch)
                    batch.read += 1
                }
                url = o["nextLink"]?.nonEmptyText
            default:
                batch.read += 1
                router.quarantine(Array(response.body.prefix(4096)), line: nil, offset: nil, reason: "page \(page) is not a JSON object", into: &batch)
            }
            for e in batch.activity {
                if let s = e.submissionUs { maxLag = max(maxLag, (s - e.timeUs) / Timestamp.microsPerSecond) }
                newest = max(newest ?? e.timeUs, e.timeUs)
            }
            records += batch.read
            outcome.records += batch.read
            page += 1
            // The cursor commits with the window's last page only.
            let last = url == nil
            let checkpoints: [(key: String, value: String)] = last ? [("sub:\(sub):to", String(to)), ("sub:\(sub):lag", String(maxLag))] : []
            let coverage = last ? [CoverageWindow(scope: "subscription:\(sub)", fromUs: from, toUs: to, records: records)] : []
            outcome.counts += try context.store.write(batch, source: name, checkpoints: checkpoints, coverage: coverage)
            context.log("subscription \(sub) \(Timestamp.isoSeconds(from))…\(Timestamp.isoSeconds(to)) page \(page): \(batch.read) events")
        }
        return records
    }
}
