#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the `RequestResponse` records of a planted scenario: per account and hour,
/// `diagnostics/<account>/PT1H-YYYYMMDDHH.json` (JSON lines, in time order), gzip-compressed
/// afterwards by `PlantedScenario`.
///
/// Each app sends a Poisson stream on a diurnal curve in its account's local time; a stale-key
/// job sends a steady trickle that always fails with 401; apps fail with a 401 about once in a
/// thousand requests on their own (never near their planted bursts, so a burst's first failure
/// is exactly its injected request) and are throttled (429) about once in 500. Planted effects
/// and api-version switches then decide the status and api-version of each request.
struct PlantedTraffic {
    let plan: PlantedPlan
    let requestsPerMinute: Int
    let seed: UInt64

    static let appTrickle = 0.001
    static let throttleRate = 0.002
    /// No random 401s on a caller this long before its planted failures start.
    static let quietBefore = 15 * PlantedTime.minute

    private struct Request {
        var time: Int64
        var caller: Int
        /// The effect whose first failure this request is.
        var forced: Int?
    }

    /// Writes every account's hours; returns the number of records.
    func write(root: String, writer: inout GeneratorFileWriter) throws(GeneratorError) -> Int {
        var total = 0
        let mean = Self.diurnalMean
        let hours = Int((plan.windowEnd - plan.windowStart) / PlantedTime.hour)
        for (a, account) in plan.estate.accounts.enumerated() {
            var rng = GeneratorRandom(seed: seed, stream: 100 + UInt64(a))
            let recordWriter = RequestResponseWriter(account: Self.topologyAccount(account), failureRate: 0)
            let effects = plan.effects.enumerated().filter { $0.element.account == a }
            let switches = plan.switches.filter { $0.account == a }
            let extra = plan.extraTraffic.filter { $0.account == a }
            var buffer = GeneratorBuffer(capacity: 1 << 20)
            for h in 0..<hours {
                let hourStart = plan.windowStart + Int64(h) * PlantedTime.hour
                var requests: [Request] = []
                for m in 0..<60 {
                    let minuteStart = hourStart + Int64(m) * PlantedTime.minute
                    let f = Self.diurnal(minuteStart + 30 * PlantedTime.second, utcOffset: account.region.utcOffset) / mean
                    for (c, caller) in account.callers.enumerated() {
                        var lambda: Double
                        switch caller.role {
                        case .app: lambda = Double(requestsPerMinute) * caller.share * f
                        case .staleJob: lambda = plan.estate.staleRate
                        case .newcomer: lambda = 0
                        }
                        var from = minuteStart, to = minuteStart + PlantedTime.minute
                        for x in extra where x.caller == c && x.from < to && x.to > from {
                            from = max(from, x.from)
                            to = min(to, x.to)
                            lambda = x.perMinute * Double(to - from) / Double(PlantedTime.minute)
                        }
                        if lambda <= 0 { continue }
                        for _ in 0..<Self.poisson(lambda, &rng) {
                            requests.append(Request(time: from + rng.int64(to - from), caller: c, forced: nil))
                        }
                    }
                }
                for (index, e) in effects where e.from >= hourStart && e.from < hourStart + PlantedTime.hour {
                    requests.append(Request(time: e.from, caller: e.caller, forced: index))
                }
                requests.sort { $0.time != $1.time ? $0.time < $1.time : $0.caller < $1.caller }
                if requests.isEmpty { continue }
                buffer.removeAll()
                for r in requests {
                    let caller = account.callers[r.caller]
                    var status = 200
                    var length: Int64?
                    if let forced = r.forced {
                        status = plan.effects[forced].status
                        length = plan.effects[forced].responseLength
                    } else if let e = effects.first(where: { $0.element.caller == r.caller && $0.element.from <= r.time && r.time < $0.element.to })?.element,
                        rng.chance(e.probability)
                    {
                        status = e.status
                        length = e.responseLength
                    } else if caller.role == .staleJob {
                        status = 401
                        length = PlantedErrorBody.key
                    } else if caller.role != .newcomer, rng.chance(Self.appTrickle),
                        !effects.contains(where: { $0.element.caller == r.caller && r.time >= $0.element.from - Self.quietBefore && r.time < $0.element.to + 5 * PlantedTime.minute })
                    {
                        status = 401
                        length = PlantedErrorBody.unauthorized(caller)
                    } else if rng.chance(Self.throttleRate) {
                        status = 429
                        length = PlantedErrorBody.throttled
                    }
                    let version = switches.first { $0.caller == r.caller && $0.from <= r.time && r.time < $0.to }?.apiVersion
                    recordWriter.appendRecord(
                        time: r.time, caller: r.caller, status: status, apiVersion: version, responseLength: length,
                        keepObjectId: true, rng: &rng, into: &buffer)
                }
                total += requests.count
                try writer.write(buffer, to: root + "/diagnostics/" + account.name + "/PT1H-" + Self.hourStamp(hourStart) + ".json")
            }
        }
        return total
    }

    /// `YYYYMMDDHH` of the hour holding `ticks`.
    static func hourStamp(_ ticks: Int64) -> String {
        let iso = Array(GeneratorBuffer.isoText(ticks).utf8)  // 2026-09-14T15:…
        return String(decoding: iso[0..<4] + iso[5..<7] + iso[8..<10] + iso[11..<13], as: UTF8.self)
    }

    /// The bulk generator's view of a planted account (what `RequestResponseWriter` needs).
    static func topologyAccount(_ account: PlantedEstate.Account) -> GeneratorTopology.Account {
        let callers = account.callers.map {
            GeneratorTopology.Caller(
                maskedIp: $0.ip, objectId: $0.objectId, profile: $0.profile, apiVersions: [$0.apiVersion], chat: $0.chat,
                streamingShare: $0.streamingShare)
        }
        return GeneratorTopology.Account(
            name: account.name, resourceGroup: account.resourceGroup, subscription: account.subscription, region: account.region,
            resourceId: account.resourceId, upperResourceId: GeneratorTopology.upper(account.resourceId), keyVault: "",
            weight: 1, callers: callers, callerCumulative: GeneratorRandom.cumulative(account.callers.map { max($0.share, 0.01) }),
            staleCaller: account.callers.firstIndex { $0.role == .staleJob } ?? 0)
    }

    // MARK: - Shapes of traffic

    /// Relative traffic at `ticks` for users at `utcOffset`: a night floor, a morning shoulder
    /// and an afternoon peak.
    static func diurnal(_ ticks: Int64, utcOffset: Int) -> Double {
        let dayFraction = Double(((ticks % PlantedTime.day) + PlantedTime.day) % PlantedTime.day) / Double(PlantedTime.day)
        var local = dayFraction * 24 + Double(utcOffset)
        if local < 0 { local += 24 }
        if local >= 24 { local -= 24 }
        return 0.35 + 1.2 * exp(-(local - 14) * (local - 14) / (2 * 3.5 * 3.5)) + 0.35 * exp(-(local - 10) * (local - 10) / 8)
    }

    /// The mean of `diurnal` over a day, so `requestsPerMinute` is the daily mean.
    static let diurnalMean: Double = {
        var sum = 0.0
        for m in 0..<1440 { sum += diurnal(Int64(m) * PlantedTime.minute, utcOffset: 0) }
        return sum / 1440
    }()

    /// A Poisson draw with mean `lambda` (Knuth's product of uniforms when small, a rounded
    /// normal approximation when large).
    static func poisson(_ lambda: Double, _ rng: inout GeneratorRandom) -> Int {
        if lambda < 30 {
            let limit = exp(-lambda)
            var k = 0
            var p = rng.unit()
            while p > limit {
                k += 1
                p *= rng.unit()
            }
            return k
        }
        let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
        let normal = sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
        return max(0, Int((lambda + sqrt(lambda) * normal).rounded()))
    }
}
