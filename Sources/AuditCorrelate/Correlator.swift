import AuditCore
import AuditStore
import Foundation

/// Finds every 401/403 burst in a window and names the change that caused it.
public struct Correlator {
    let db: Database
    let options: CorrelationOptions

    public init(database: Database, options: CorrelationOptions) {
        db = database
        self.options = options
    }

    /// Detects bursts, ranks their candidate causes, and returns the report (nothing stored).
    public func analyze() throws -> CorrelationReport {
        let started = TimeArgument.nowMicros()
        let minute = Timestamp.microsPerMinute
        let since = Timestamp.minuteFloor(options.sinceUs)
        let base = since - Int64(BurstDetector.baselineLeadMinutes) * minute
        let count = Int((options.untilUs - base + minute - 1) / minute)
        guard count > 0 else { return CorrelationReport(sinceUs: options.sinceUs, untilUs: options.untilUs, bursts: [], elapsedUs: 0) }
        let detector = BurstDetector(db: db, options: options)
        let series = try detector.loadSeries(base: base, count: count)
        let lead = BurstDetector.baselineLeadMinutes

        // Segments per caller, then bursts per resource.
        var segmentsByResource: [Int64: [(BurstDetector.Segment, Int)]] = [:]  // (segment, series index)
        // A caller with too little traffic for a baseline of its own borrows its resource's.
        let hourly = series.map(BurstDetector.hourlyRatios)
        let own = hourly.map { BurstDetector.baselineRatio(hourly: $0) }
        var resourceFallback: [Int64: Double] = [:]
        for (s, b) in zip(series, own) {
            if let b { resourceFallback[s.resource] = max(resourceFallback[s.resource] ?? 0, b) }
        }
        for (i, s) in series.enumerated() {
            // The lower of the rolling baseline (the day before) and the whole series' (else
            // the resource's): a caller broken for most of the window keeps a low baseline
            // where it broke, and a burst in the hours just before another does not hide it.
            let whole = own[i] ?? min(resourceFallback[s.resource] ?? 0.005, 0.05)
            let baselines = BurstDetector.trailingBaselines(hourly: hourly[i]).map { min($0 ?? whole, whole) }
            for var seg in detector.segments(s, baselines: baselines) where !BurstDetector.isChronic(s, seg) {
                seg.first = BurstDetector.onset(s, seg, baseline: baselines[seg.first / 60])
                segmentsByResource[s.resource, default: []].append((seg, i))
            }
        }
        var bursts: [Burst] = []
        let names = try dimNames()
        for (resource, segs) in segmentsByResource {
            let sorted = segs.sorted { $0.0.first < $1.0.first }
            var group: [(BurstDetector.Segment, Int)] = []
            var groupEnd = -1
            func emit() throws {
                guard !group.isEmpty else { return }
                let first = group.map(\.0.first).min() ?? 0
                // Bursts that start in the baseline lead belong to an earlier window.
                if first >= lead, let b = try makeBurst(resource: resource, group: group, series: series, base: base, names: names) {
                    bursts.append(b)
                }
                group = []
            }
            var apart: [(BurstDetector.Segment, Int)] = []
            for item in sorted {
                if !group.isEmpty && item.0.first > groupEnd + options.maxGapMinutes { try emit() }
                // A caller that appears from nowhere (no traffic in the 30 minutes before) and starts
                // failing minutes after the others is a burst of its own, not part of theirs.
                if let groupStart = group.map(\.0.first).min(), item.0.first - groupStart > 3,
                   Self.isNewCaller(series[item.1], at: item.0.first) {
                    apart.append(item)
                    continue
                }
                group.append(item)
                groupEnd = max(groupEnd, item.0.last)
                if group.count == 1 { groupEnd = item.0.last }
            }
            try emit()
            for item in apart {
                group = [item]
                try emit()
            }
        }
        bursts.sort { $0.startUs < $1.startUs || ($0.startUs == $1.startUs && $0.resourceID < $1.resourceID) }
        assignFleets(&bursts)
        let finder = try CandidateFinder(db: db, options: options, bursts: bursts)
        for i in bursts.indices { bursts[i].candidates = finder.rank(bursts[i], all: bursts) }
        try attachProbes(&bursts)
        let steady = Self.steadyFailures(series, from: lead, base: base, bursts: bursts, names: names)
        return CorrelationReport(sinceUs: options.sinceUs, untilUs: options.untilUs, bursts: bursts, elapsedUs: TimeArgument.nowMicros() - started,
                                 steadyFailures: steady)
    }

    /// Cites the latest stored probe of each burst's resource (by ARM id, or by account name
    /// for probes that knew only the host), from 5 minutes before the start to an hour after the end.
    func attachProbes(_ bursts: inout [Burst]) throws {
        guard !bursts.isEmpty, try db.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'probes'")?.integer == 1,
              try db.connection.scalar("SELECT count(*) FROM probes")?.integer ?? 0 > 0 else { return }
        let s = try db.connection.prepare("""
            SELECT time_us, class, status, apim_request_id FROM probes
            WHERE resource_id <> '' AND (resource_id = ?1 OR ?1 LIKE '%/' || resource_id)
              AND time_us >= ?2 AND time_us <= ?3
            ORDER BY time_us DESC, seq DESC LIMIT 1
            """)
        for i in bursts.indices {
            s.bind(bursts[i].resourceID, at: 1)
            s.bind(bursts[i].startUs - 5 * Timestamp.microsPerMinute, at: 2)
            s.bind(bursts[i].endUs + Timestamp.microsPerHour, at: 3)
            if try s.step() {
                bursts[i].probe = ProbeConfirmation(timeUs: s.int64(at: 0), probeClass: s.text(at: 1) ?? "", status: Int(s.int64(at: 2)),
                                                    apimRequestID: s.text(at: 3), signature: bursts[i].signature)
            }
            s.reset()
        }
    }

    /// True when the series had no requests in the 30 minutes before minute `m`.
    /// Callers failing all along in the window (minutes from `from`), not part of any burst.
    static func steadyFailures(_ series: [BurstDetector.Series], from: Int, base: Int64, bursts: [Burst], names: [Int64: String]) -> [SteadyFailure] {
        var inBursts = Set<String>()
        for b in bursts { for c in b.callers { inBursts.insert(b.resourceID + "\u{0}" + c) } }
        var out: [SteadyFailure] = []
        for s in series {
            guard let resource = names[s.resource], let caller = names[s.caller], !inBursts.contains(resource + "\u{0}" + caller) else { continue }
            var n = 0, f401 = 0, f403 = 0
            var first: Int?, last = 0
            var hours = Set<Int>()
            for m in from..<s.n.count {
                let f = Int(s.f401[m]) + Int(s.f403[m])
                n += max(Int(s.n[m]), f)
                f401 += Int(s.f401[m])
                f403 += Int(s.f403[m])
                if f > 0 {
                    if first == nil { first = m }
                    last = m
                    hours.insert(Int((base / Timestamp.microsPerMinute + Int64(m)) / 60))
                }
            }
            let failures = f401 + f403
            guard let first, failures >= SteadyFailure.minFailures, Double(failures) >= SteadyFailure.minShare * Double(n) else { continue }
            out.append(SteadyFailure(resourceID: resource, caller: caller, requests: n, failures: failures,
                                     statusCodes: [401: f401, 403: f403].filter { $0.value > 0 },
                                     firstUs: base + Int64(first) * Timestamp.microsPerMinute, lastUs: base + Int64(last + 1) * Timestamp.microsPerMinute,
                                     hoursFailing: hours.count))
        }
        return out.sorted { $0.failures > $1.failures || ($0.failures == $1.failures && ($0.resourceID, $0.caller) < ($1.resourceID, $1.caller)) }
    }

    static func isNewCaller(_ s: BurstDetector.Series, at m: Int) -> Bool {
        let from = max(0, m - 30)
        guard from < m else { return false }
        return s.n[from..<m].allSatisfy { $0 == 0 }
    }

    func dimNames() throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        for r in try db.connection.rows("SELECT id, value FROM dims WHERE kind IN ('resource', 'caller')") {
            if let id = r[0].integer, let v = r[1].text { out[id] = v }
        }
        return out
    }

    /// Builds a burst from the caller segments of one resource, with exact times and
    /// request-level details read from the failure rows.
    func makeBurst(resource: Int64, group: [(BurstDetector.Segment, Int)], series: [BurstDetector.Series], base: Int64, names: [Int64: String]) throws -> Burst? {
        let minute = Timestamp.microsPerMinute
        let first = group.map(\.0.first).min() ?? 0
        let last = group.map(\.0.last).max() ?? 0
        let fromUs = base + Int64(first) * minute
        let toUs = base + Int64(last + 1) * minute
        let callerIDs = Set(group.map { series[$0.1].caller })
        var perMinute = Array(repeating: 0, count: last - first + 1)
        var codes: [Int: Int] = [:]
        var byCaller: [Int64: Int] = [:]
        for (_, i) in group {
            let s = series[i]
            guard byCaller[s.caller] == nil else { continue }
            var total = 0
            for m in first...last {
                let f = Int(s.f401[m]) + Int(s.f403[m])
                perMinute[m - first] += f
                total += f
                codes[401, default: 0] += Int(s.f401[m])
                codes[403, default: 0] += Int(s.f403[m])
            }
            byCaller[s.caller] = total
        }
        codes = codes.filter { $0.value > 0 }
        let failures = perMinute.reduce(0, +)
        guard failures > 0, let resourceID = names[resource] else { return nil }
        let callers = byCaller.sorted { $0.value > $1.value || ($0.value == $1.value && (names[$0.key] ?? "") < (names[$1.key] ?? "")) }.compactMap { names[$0.key] }
        var succeeding: [String] = []
        for s in series where s.resource == resource && !callerIDs.contains(s.caller) {
            var n = 0, f = 0
            for m in first...last { n += Int(s.n[m]); f += Int(s.f401[m]) + Int(s.f403[m]) }
            if n > 0 && Double(f) / Double(n) < 0.2, let name = names[s.caller] { succeeding.append(name) }
        }
        // Exact first and last failure, api-versions and sample correlation ids from the rows.
        let callerList = callers.map { SQLValue.text($0) }
        let placeholders = callerList.indices.map { "?\($0 + 4)" }.joined(separator: ",")
        let where_ = "resource = ?1 AND time_us >= ?2 AND time_us < ?3 AND status IN (401, 403) AND (CASE WHEN object_id = '' THEN caller_ip ELSE object_id END) IN (\(placeholders))"
        let binds: [SQLValue] = [.integer(resource), .integer(fromUs), .integer(toUs)] + callerList
        let span = try db.connection.rows("SELECT min(time_us), max(time_us), group_concat(DISTINCT api_version), max(region) FROM request_failures WHERE \(where_)", binds).first
        let startUs = span?[0].integer ?? fromUs
        let endUs = span?[1].integer ?? toUs
        let apis = (span?[2].text ?? "").split(separator: ",").map(String.init).sorted()
        let samples = try db.connection.rows("SELECT correlation_id FROM request_failures WHERE \(where_) AND correlation_id IS NOT NULL ORDER BY time_us LIMIT 3", binds).compactMap { $0[0].text }
        let keyCallers = callers.filter { $0.contains("*") }.count
        let share403 = Double(codes[403] ?? 0) / Double(max(1, failures))
        let signature: String
        if share403 > 0.7 { signature = keyCallers == callers.count ? "auth_type_disabled" : "forbidden" }
        else if share403 > 0.3 { signature = "mixed" }
        else if keyCallers == callers.count { signature = "key_error" }
        else if keyCallers == 0 { signature = "token_or_permission_error" }
        else { signature = "mixed" }
        return Burst(resourceID: resourceID, startUs: startUs, endUs: endUs, peakPerMinute: perMinute.max() ?? 0, failures: failures,
                     statusCodes: codes, callers: callers, succeeding: succeeding.sorted(), apiVersions: apis, signature: signature,
                     fleetID: nil, sampleCorrelationIDs: samples, region: span?[3].text)
    }

    /// Bursts on different resources that start within the fleet window with the same
    /// dominant status (a 403 wave and a 401 wave are different events) share a fleet id.
    func assignFleets(_ bursts: inout [Burst]) {
        func dominant(_ b: Burst) -> Int { b.statusCodes.max { $0.value < $1.value }?.key ?? 401 }
        for i in bursts.indices where bursts[i].fleetID == nil {
            let members = bursts.indices.filter { j in
                j >= i && bursts[j].fleetID == nil && bursts[j].startUs - bursts[i].startUs <= options.fleetWindowUs
                    && dominant(bursts[j]) == dominant(bursts[i])
            }
            guard Set(members.map { bursts[$0].resourceID }).count >= 2 else { continue }
            let id = "fleet-" + Timestamp.basic(bursts[i].startUs)
            for k in members { bursts[k].fleetID = id }
        }
    }
}
