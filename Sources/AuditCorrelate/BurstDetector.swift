import AuditCore
import AuditStore
import Foundation

/// Finds bursts of 401/403 failures in the per-minute rollup.
///
/// Each caller of each resource is a series of per-minute request and auth-failure counts.
/// Its baseline is the median hourly failure ratio of the day before (rolling), so a steady
/// trickle (a forgotten job with an old key, ~0.25 % of requests) is normal and a jump from
/// succeeding to failing is not.
/// A caller too quiet for an hourly baseline (a stale-key job sending one request an hour)
/// borrows its resource's, and `isChronic` keeps its steady failing from passing for bursts.
/// Hot minutes of one caller merge (small gaps allowed) into segments; segments of one resource
/// that touch merge into a burst; bursts on several resources that start together are a fleet.
struct BurstDetector {
    let db: Database
    let options: CorrelationOptions

    /// How far before `since` the baselines look.
    static let baselineLeadMinutes = 6 * 60

    struct Series {
        var resource: Int64
        var caller: Int64
        var n: [Int32]
        var f401: [Int32]
        var f403: [Int32]
    }

    struct Segment {
        var resource: Int64
        var caller: Int64
        var first: Int
        var last: Int
    }

    /// Per-minute series per (resource, caller) from `base` for `count` minutes.
    func loadSeries(base: Int64, count: Int) throws -> [Series] {
        var index: [Int64: Int] = [:]  // resource << 32 | caller
        var series: [Series] = []
        var sql = "SELECT minute_us, resource, caller, status, count FROM request_rollup WHERE minute_us >= ?1 AND minute_us < ?2"
        var binds: [SQLValue] = [.integer(base), .integer(base + Int64(count) * Timestamp.microsPerMinute)]
        if let r = options.resource {
            sql += " AND resource IN (SELECT id FROM dims WHERE kind = 'resource' AND (value = ?3 OR value LIKE '%/' || ?3))"
            binds.append(.text(ResourceID.argument(r)))
        }
        let s = try db.connection.prepare(sql, cached: false)
        try s.bind(binds)
        while try s.step() {
            let m = Int((s.int64(at: 0) - base) / Timestamp.microsPerMinute)
            guard m >= 0 && m < count else { continue }
            let key = s.int64(at: 1) << 32 | s.int64(at: 2)
            let i: Int
            if let found = index[key] {
                i = found
            } else {
                i = series.count
                index[key] = i
                series.append(Series(resource: s.int64(at: 1), caller: s.int64(at: 2), n: Array(repeating: 0, count: count),
                                     f401: Array(repeating: 0, count: count), f403: Array(repeating: 0, count: count)))
            }
            let status = s.int64(at: 3)
            let c = Int32(clamping: s.int64(at: 4))
            series[i].n[m] &+= c
            if status == 401 { series[i].f401[m] &+= c } else if status == 403 { series[i].f403[m] &+= c }
        }
        return series
    }

    /// The auth-failure ratio of each hour of the series (index `m / 60`), nil for an hour with
    /// fewer than 5 requests.
    static func hourlyRatios(_ s: Series) -> [Double?] {
        var out: [Double?] = []
        var i = 0
        while i < s.n.count {
            var n = 0, f = 0
            for m in i..<min(i + 60, s.n.count) { n += Int(s.n[m]); f += Int(s.f401[m]) + Int(s.f403[m]) }
            out.append(n >= 5 ? Double(f) / Double(n) : nil)
            i += 60
        }
        return out
    }

    static func median(_ values: [Double]) -> Double? {
        guard values.count >= 3 else { return nil }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// Median of the hourly auth-failure ratios of hours with enough traffic; nil when too few.
    static func baselineRatio(hourly: [Double?]) -> Double? {
        median(hourly.compactMap { $0 })
    }

    /// Hours a rolling baseline looks back.
    static let trailingHours = 24

    /// Per hour of the series, the rolling baseline: the median ratio of the hours with enough
    /// traffic among the `trailingHours` before it; nil where fewer than 3 such hours. A caller
    /// broken for most of a week-long window is still a burst where it broke, which a median over
    /// the whole window would have taken for its normal.
    static func trailingBaselines(hourly: [Double?]) -> [Double?] {
        hourly.indices.map { h in median(hourly[max(0, h - trailingHours)..<h].compactMap { $0 }) }
    }

    /// Hot minutes of one series, merged into segments.
    /// - Parameter baselines: the baseline of each hour of the series (index `m / 60`); a
    ///   segment keeps the one of the hour it opened in until it closes, so a long burst does
    ///   not become its own baseline.
    func segments(_ s: Series, baselines: [Double]) -> [Segment] {
        var out: [Segment] = []
        var current: Segment?
        var hotCount = 0
        var failures = 0
        var frozen = 0.0
        // Minutes in which the caller made requests that mostly succeeded since the last hot
        // or still-failing one; silent minutes (no requests) neither extend nor break a
        // segment, up to an hour.
        var quiet = 0
        func close() {
            if let c = current, failures >= 5, hotCount >= 2 || failures >= 10 { out.append(c) }
            current = nil; hotCount = 0; failures = 0; quiet = 0
        }
        for m in 0..<s.n.count {
            let f = Int(s.f401[m]) + Int(s.f403[m])
            let n = max(Int(s.n[m]), f)
            let baseline = current == nil ? baselines[m / 60] : frozen
            if n == 0 {
                if let c = current, m - c.last > 60 { close() }
                continue
            }
            var hot = false
            if f > 0 {
                let expected = baseline * Double(n)
                if baseline < 0.2 {
                    hot = Double(f) / Double(n) >= 0.3 && Double(f) >= expected + 2.5 * expected.squareRoot() + 1
                } else {
                    hot = Double(f) >= 3 * expected + 10  // a chronically failing caller surging
                }
            }
            if hot {
                if var c = current, quiet <= options.maxGapMinutes {
                    c.last = m
                    current = c
                } else {
                    close()
                    current = Segment(resource: s.resource, caller: s.caller, first: m, last: m)
                    frozen = baselines[m / 60]
                }
                hotCount += 1
                failures += f
                quiet = 0
            } else if var c = current {
                if f > 0 && Double(f) / Double(n) >= max(0.3, 2 * baseline) {
                    // Still failing, too few requests to be significant alone (a caller sending
                    // one request a minute after its key was rotated): the burst goes on.
                    c.last = m
                    current = c
                    failures += f
                    quiet = 0
                } else {
                    quiet += 1
                    if quiet > options.maxGapMinutes { close() } else { failures += f }
                }
            }
        }
        close()
        return out
    }

    /// True when a segment is the caller's steady failing going on, not a burst: a forgotten
    /// job with a stale key whose every request fails, too quiet for an hourly baseline of its
    /// own. Any of:
    /// - its failures never come `minDensity` to an hour (a trickle that the silent minutes let
    ///   a segment string together over hours);
    /// - the caller never succeeds in the whole series (baseline lead and window) and the
    ///   segment's busiest hour stays under 3 times its median hourly failures + 10 (the
    ///   trickle's Poisson clumps; a caller that appears and fails at volume is still a burst);
    /// - the caller was already failing before the segment (`chronicLookback` minutes: at least
    ///   3 failures, at least half of its requests) and the segment fails no faster than 3 times
    ///   that rate.
    static func isChronic(_ s: Series, _ seg: Segment) -> Bool {
        var failures = 0, densest = 0, window = 0
        for m in seg.first...seg.last {
            let f = Int(s.f401[m]) + Int(s.f403[m])
            failures += f
            window += f
            if m - 60 >= seg.first { window -= Int(s.f401[m - 60]) + Int(s.f403[m - 60]) }
            densest = max(densest, window)
        }
        if densest < minDensity { return true }
        if neverSucceeds(s) {
            var hours: [Int] = []
            var i = 0
            while i < s.n.count {
                var f = 0
                for m in i..<min(i + 60, s.n.count) { f += Int(s.f401[m]) + Int(s.f403[m]) }
                hours.append(f)
                i += 60
            }
            hours.sort()
            if densest < 3 * hours[hours.count / 2] + 10 { return true }
        }
        let from = max(0, seg.first - chronicLookback)
        guard from < seg.first else { return false }
        var n = 0, f = 0
        for m in from..<seg.first {
            n += Int(s.n[m])
            f += Int(s.f401[m]) + Int(s.f403[m])
        }
        guard f >= 3, 2 * f >= n else { return false }
        let before = Double(f) / Double(seg.first - from)
        let during = Double(failures) / Double(seg.last - seg.first + 1)
        return during <= 3 * before
    }

    /// True when every request of the series is a 401/403.
    static func neverSucceeds(_ s: Series) -> Bool {
        for m in s.n.indices where Int(s.n[m]) > Int(s.f401[m]) + Int(s.f403[m]) { return false }
        return true
    }

    /// Failures within some hour of a segment below which it is a trickle, not a burst.
    static let minDensity = 5
    /// Minutes before a segment in which a caller already failing makes it chronic.
    static let chronicLookback = 6 * 60

    /// Walks back from a segment's first hot minute over the minutes where failures had
    /// already begun (a rotation in the middle of a minute makes that minute only partly hot).
    static func onset(_ s: Series, _ seg: Segment, baseline: Double) -> Int {
        var m = seg.first
        while m > 0 && seg.first - m < 3 {
            let f = Int(s.f401[m - 1]) + Int(s.f403[m - 1])
            let n = max(Int(s.n[m - 1]), 1)
            if f == 0 || Double(f) / Double(n) < max(0.05, 3 * baseline) { break }
            m -= 1
        }
        return m
    }
}
