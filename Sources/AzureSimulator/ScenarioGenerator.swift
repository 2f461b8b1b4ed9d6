#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AuditCore

/// Writes a deterministic, realistic data set of an Azure OpenAI estate: `RequestResponse`
/// diagnostic logs as Azure Monitor exports them to storage, and the Activity Log of the same
/// window both as ARM list-API pages and as diagnostic-settings export blobs.
///
/// Used by benchmarks (`aoai-audit generate`) and tests. Same options, same bytes.
///
/// ```swift
/// var options = GeneratorOptions()
/// options.requestRecords = 20_000
/// let summary = try ScenarioGenerator.write(to: "/tmp/data", options: options)
/// ```
public enum ScenarioGenerator {
    /// Events per ARM list page.
    public static let restPageSize = 200

    /// Writes the data set under `directory` (created if missing; files at the same paths are
    /// replaced, other files are left alone):
    ///
    /// - `diagnostics/resourceId=/SUBSCRIPTIONS/<SUB>/RESOURCEGROUPS/<RG>/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/<NAME>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`
    ///   — JSON lines of `RequestResponse` records, one blob per account and hour with traffic;
    /// - `activity/rest-page-NNN.json` — `{"value":[…],"nextLink":"…"}` pages of 200 events,
    ///   newest first, numbered from 000, the last page without `nextLink`;
    /// - `activity/resourceId=/SUBSCRIPTIONS/<SUB>/y=…/m=…/d=…/h=…/m=00/PT1H.json` — the same
    ///   events in the export shape, in the blob of the hour they were received (submission time).
    ///
    /// Requests follow a diurnal, weekday-heavy curve in each account's local time; a background
    /// 401 trickle (mostly one stale api key per account) at `failureRate`, about 0.5% 429s and a
    /// few 404/500/403s. Activity events are BeginRequest/EndRequest pairs of key, account,
    /// deployment, role-assignment and Key Vault secret operations, plus Service Health incidents.
    ///
    /// - Returns: what was written.
    /// - Throws: `GeneratorError` for bad options or a failed write.
    public static func write(
        to directory: String, options: GeneratorOptions
    ) throws(GeneratorError) -> GeneratorSummary {
        try options.validate()
        var root = directory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        let topology = GeneratorTopology(options: options)
        var writer = GeneratorFileWriter()
        try writer.makeDirectories(root)

        try writeDiagnostics(root: root, topology: topology, options: options, writer: &writer)

        let events = GeneratorActivityPlanner(topology: topology, options: options).plan()
        let records = ActivityRecordWriter(topology: topology)
        try writeRESTPages(root: root, events: events, records: records, options: options, writer: &writer)
        try writeExport(root: root, events: events, records: records, topology: topology, writer: &writer)

        return GeneratorSummary(
            files: writer.files, requestRecords: options.requestRecords, activityEvents: events.count,
            bytes: writer.bytes)
    }

    // MARK: - Diagnostics

    private static let tickHour: Int64 = 36_000_000_000

    /// First hour of the window in 100-ns ticks since the Unix epoch.
    private static func firstHourTicks(_ options: GeneratorOptions) -> Int64 {
        options.start / Timestamp.microsPerHour * tickHour
    }

    private static func writeDiagnostics(
        root: String, topology: GeneratorTopology, options: GeneratorOptions, writer: inout GeneratorFileWriter
    ) throws(GeneratorError) {
        let hours = options.days * 24
        var rng = GeneratorRandom(seed: options.seed, stream: 2)
        let counts = hourlyCounts(topology: topology, options: options, rng: &rng)
        let largest = counts.max() ?? 0
        var buffer = GeneratorBuffer(capacity: max(4096, largest * 760))
        let first = firstHourTicks(options)
        for (a, account) in topology.accounts.enumerated() {
            let recordWriter = RequestResponseWriter(account: account, failureRate: options.failureRate)
            let base = root + "/diagnostics/resourceId=" + account.upperResourceId + "/"
            for h in 0..<hours {
                let count = counts[a * hours + h]
                if count == 0 { continue }
                let hourStart = first + Int64(h) * tickHour
                buffer.removeAll()
                recordWriter.appendHour(start: hourStart, count: count, rng: &rng, into: &buffer)
                try writer.write(buffer, to: base + hourPath(hourStart))
            }
        }
    }

    /// Records per (account, hour), indexed `account * hours + hour`, summing exactly to
    /// `options.requestRecords` (largest-remainder rounding of a weighted share).
    static func hourlyCounts(
        topology: GeneratorTopology, options: GeneratorOptions, rng: inout GeneratorRandom
    ) -> [Int] {
        let hours = options.days * 24
        let firstHour = options.start / Timestamp.microsPerHour
        var weights: [Double] = []
        weights.reserveCapacity(topology.accounts.count * hours)
        for account in topology.accounts {
            for h in 0..<hours {
                let absolute = firstHour + Int64(h)
                let utcHour = Int(absolute % 24)
                let weekday = Int((absolute / 24 + 4) % 7)  // 0 = Sunday; 1970-01-01 was a Thursday
                let local = Double((utcHour + account.region.utcOffset + 48) % 24)
                let afternoon = exp(-(local - 14) * (local - 14) / (2 * 3.5 * 3.5))
                let morning = 0.35 * exp(-(local - 10) * (local - 10) / 8)
                let weekend = weekday == 0 || weekday == 6 ? 0.45 : 1.0
                weights.append(account.weight * (0.12 + afternoon + morning) * weekend * (0.85 + 0.3 * rng.unit()))
            }
        }
        let total = weights.reduce(0, +)
        let n = options.requestRecords
        guard total > 0, n > 0 else { return Array(repeating: 0, count: weights.count) }
        var counts = [Int](repeating: 0, count: weights.count)
        var fractions: [(fraction: Double, index: Int)] = []
        fractions.reserveCapacity(weights.count)
        var assigned = 0
        for (i, w) in weights.enumerated() {
            let ideal = Double(n) * w / total
            let whole = Int(ideal)
            counts[i] = whole
            assigned += whole
            fractions.append((ideal - Double(whole), i))
        }
        fractions.sort { $0.fraction != $1.fraction ? $0.fraction > $1.fraction : $0.index < $1.index }
        var k = 0
        while assigned < n {
            counts[fractions[k % fractions.count].index] += 1
            assigned += 1
            k += 1
        }
        return counts
    }

    /// `y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json` of the hour holding `ticks`.
    static func hourPath(_ ticks: Int64) -> String {
        let iso = GeneratorBuffer.isoText(ticks)  // 2026-09-01T13:…
        let u = Array(iso.utf8)
        func part(_ r: Range<Int>) -> String { String(decoding: u[r], as: UTF8.self) }
        return "y=\(part(0..<4))/m=\(part(5..<7))/d=\(part(8..<10))/h=\(part(11..<13))/m=00/PT1H.json"
    }

    // MARK: - Activity

    static func writeRESTPages(
        root: String, events: [GeneratorActivityEvent], records: ActivityRecordWriter, options: GeneratorOptions,
        writer: inout GeneratorFileWriter
    ) throws(GeneratorError) {
        let newestFirst = events.sorted { $0.time != $1.time ? $0.time > $1.time : $0.sequence > $1.sequence }
        let pages = max(1, (newestFirst.count + restPageSize - 1) / restPageSize)
        var rng = GeneratorRandom(seed: options.seed, stream: 4)
        let first = firstHourTicks(options)
        let filterStart = GeneratorBuffer.isoText(first)
        let filterEnd = GeneratorBuffer.isoText(first + Int64(options.days) * 24 * tickHour)
        var buffer = GeneratorBuffer(capacity: 1 << 20)
        for page in 0..<pages {
            buffer.removeAll()
            buffer.raw(#"{"value":["#)
            let lower = min(page * restPageSize, newestFirst.count)
            let slice = newestFirst[lower..<min(lower + restPageSize, newestFirst.count)]
            for (i, event) in slice.enumerated() {
                if i > 0 { buffer.raw(",") }
                records.appendREST(event, into: &buffer)
            }
            buffer.raw("]")
            if page + 1 < pages {
                buffer.raw(#","nextLink":"https://management.azure.com/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&%24filter=eventTimestamp+ge+%27"#)
                buffer.raw(urlEncodedTime(filterStart))
                buffer.raw("%27+and+eventTimestamp+le+%27")
                buffer.raw(urlEncodedTime(filterEnd))
                buffer.raw("%27&%24skiptoken=")
                buffer.guid(rng.guid(), dashes: false)
                buffer.raw("\"")
            } else {
                _ = rng.next()
            }
            buffer.raw("}\n")
            var name = String(page)
            if name.count < 3 { name = String(repeating: "0", count: 3 - name.count) + name }
            try writer.write(buffer, to: root + "/activity/rest-page-" + name + ".json")
        }
    }

    private static func urlEncodedTime(_ iso: String) -> String {
        var out = ""
        for c in iso { out += c == ":" ? "%3A" : String(c) }
        return out
    }

    private static func writeExport(
        root: String, events: [GeneratorActivityEvent], records: ActivityRecordWriter, topology: GeneratorTopology,
        writer: inout GeneratorFileWriter
    ) throws(GeneratorError) {
        let ordered = events.sorted {
            if $0.subscription != $1.subscription { return $0.subscription < $1.subscription }
            if $0.submission != $1.submission { return $0.submission < $1.submission }
            return $0.sequence < $1.sequence
        }
        var buffer = GeneratorBuffer(capacity: 1 << 18)
        var current: (subscription: Int, hour: Int64)?
        func flush(
            _ key: (subscription: Int, hour: Int64), _ buffer: GeneratorBuffer, _ writer: inout GeneratorFileWriter
        ) throws(GeneratorError) {
            let directory = root + "/activity/resourceId=/SUBSCRIPTIONS/" + topology.subscriptions[key.subscription].upper
            try writer.write(buffer, to: directory + "/" + hourPath(key.hour * tickHour))
        }
        for event in ordered {
            let hour = event.submission / tickHour
            if let key = current, key.subscription != event.subscription || key.hour != hour {
                try flush(key, buffer, &writer)
                buffer.removeAll()
            }
            current = (event.subscription, hour)
            records.appendExport(event, into: &buffer)
        }
        if let key = current { try flush(key, buffer, &writer) }
    }
}
