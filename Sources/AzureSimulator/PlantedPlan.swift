/// Chooses the planted bursts of a scenario and what each does to the traffic.
///
/// 4–7 bursts of the kinds in `PlantedKind` (a shuffled selection, so a handful of seeds covers
/// every kind), placed so that: one starts within 30 minutes of the window's start or end; two on
/// different accounts overlap in time; every cause lies inside the window; and on any one
/// account, bursts (from cause to last failure) are at least 45 minutes apart, so which change
/// caused which failures is never ambiguous. A kind that finds no room is dropped; should the
/// edge or the overlap then be missing, one more burst is placed to provide it.
struct PlantedPlan {
    private(set) var estate: PlantedEstate
    let windowStart: Int64
    let windowEnd: Int64
    private(set) var bursts: [PlantedBurst] = []
    private(set) var effects: [PlantedEffect] = []
    private(set) var switches: [PlantedVersionSwitch] = []
    private(set) var extraTraffic: [PlantedExtraTraffic] = []
    /// Per account, the spans its bursts occupy (cause to last failure).
    private var reserved: [[(from: Int64, to: Int64)]]
    private var rng: GeneratorRandom

    static let separation = 45 * PlantedTime.minute

    private enum Placement { case startEdge, endEdge, near(Int64), anywhere }

    init(estate: PlantedEstate, windowStart: Int64, windowEnd: Int64, seed: UInt64, demo: Bool = false) {
        self.estate = estate
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        reserved = Array(repeating: [], count: estate.accounts.count)
        rng = GeneratorRandom(seed: seed, stream: 12)

        if demo {
            // `PlantedOptions.demo`: one key rotation near the middle of the window, nothing else.
            let middle = windowStart + (windowEnd - windowStart) / 2
            if let b = place(.keyRotation, .near(middle)) ?? place(.keyRotation, .anywhere) { add(b) }
            for i in bursts.indices { plantEffects(i) }
            return
        }

        var kinds = PlantedEstate.shuffled(PlantedKind.allCases, &rng)
        let count = rng.int(in: 4...7)
        if count > kinds.count {
            kinds.append(rng.pick([.keyRotation, .roleAssignmentRemoved, .sdkBump, .unexplained, .localAuthDisabled]))
        } else {
            kinds = Array(kinds.prefix(count))
        }
        // First a burst at an edge of the window, then two that overlap on different accounts,
        // then the rest anywhere.
        var remaining = kinds
        let edge: Placement = rng.chance(0.5) ? .startEdge : .endEdge
        let otherEdge: Placement = { if case .startEdge = edge { return .endEdge } else { return .startEdge } }()
        for j in remaining.indices {
            if let b = place(remaining[j], edge) ?? place(remaining[j], otherEdge) {
                add(b)
                remaining.remove(at: j)
                break
            }
        }
        if !remaining.isEmpty, let first = place(remaining[0], .anywhere) {
            add(first)
            remaining.removeFirst()
            for j in remaining.indices {
                if let b = place(remaining[j], .near(first.onset), accept: { Self.overlaps($0, first) }) {
                    add(b)
                    remaining.remove(at: j)
                    break
                }
            }
        }
        for kind in remaining {
            if let b = place(kind, .anywhere) { add(b) }
        }
        // Should the above have failed (a short window, a crowded estate), add what is missing.
        if !bursts.contains(where: { isAtEdge($0.onset) }) {
            for kind in PlantedEstate.shuffled(PlantedKind.allCases, &rng) {
                if let b = place(kind, .startEdge) ?? place(kind, .endEdge) {
                    add(b)
                    break
                }
            }
        }
        if !hasOverlap() {
            search: for kind in PlantedEstate.shuffled(PlantedKind.allCases, &rng) {
                for other in bursts {
                    if let b = place(kind, .near(other.onset), accept: { Self.overlaps($0, other) }) {
                        add(b)
                        break search
                    }
                }
            }
        }
        bursts.sort { $0.onset < $1.onset }
        for i in bursts.indices { plantEffects(i) }
    }

    // MARK: - Placement

    private mutating func uniform(_ lo: Int64, _ hi: Int64) -> Int64 { lo + rng.int64(max(1, hi - lo)) }
    private mutating func minutes(_ lo: Double, _ hi: Double) -> Int64 {
        Int64((lo + (hi - lo) * rng.unit()) * Double(PlantedTime.minute))
    }

    private func keyApps(_ account: Int) -> [Int] {
        estate.accounts[account].callers.compactMap { c in
            if case .app(let i) = c.role, c.usesKey { return i }
            return nil
        }
    }

    /// Tries up to 300 random placements of `kind` (that `accept` takes, when given); nil when none fits.
    private mutating func place(
        _ kind: PlantedKind, _ placement: Placement, accept: ((PlantedBurst) -> Bool)? = nil
    ) -> PlantedBurst? {
        let accountCount = estate.accounts.count
        for _ in 0..<300 {
            let onset: Int64
            switch placement {
            case .startEdge: onset = uniform(windowStart + 3 * PlantedTime.minute, windowStart + 28 * PlantedTime.minute)
            case .endEdge: onset = uniform(windowEnd - 28 * PlantedTime.minute, windowEnd - 4 * PlantedTime.minute)
            case .near(let t): onset = uniform(t - 8 * PlantedTime.minute, t + 8 * PlantedTime.minute)
            case .anywhere: onset = uniform(windowStart + 35 * PlantedTime.minute, windowEnd - 40 * PlantedTime.minute)
            }
            var b = PlantedBurst(kind: kind, accounts: [], cause: onset, onset: onset, end: onset, app: nil)
            switch kind {
            case .keyRotation:
                let eligible = (0..<accountCount).filter { !keyApps($0).isEmpty }
                if eligible.isEmpty { return nil }
                b.accounts = [rng.pick(eligible)]
                b.cause = onset - minutes(1, 20)
                b.end = onset + minutes(10, 60)
            case .localAuthDisabled:
                let eligible = (0..<accountCount).filter { !keyApps($0).isEmpty }
                if eligible.isEmpty { return nil }
                b.accounts = [rng.pick(eligible)]
                b.cause = onset - minutes(0.5, 3)
                b.end = onset + minutes(30, 110)
                b.undone = rng.chance(0.5)
            case .roleAssignmentRemoved:
                let eligible = estate.apps.indices.filter { i in estate.apps[i].entra && !used(.roleAssignmentRemoved, app: i) }
                if eligible.isEmpty { return nil }
                let app = rng.pick(eligible)
                b.app = app
                b.accounts = [estate.apps[app].account]
                b.cause = onset - minutes(2, 10)
                b.end = onset + minutes(25, 80)
                b.undone = rng.chance(0.5)
            case .sdkBump:
                let eligible = estate.apps.indices.filter { !used(.sdkBump, app: $0) }
                if eligible.isEmpty { return nil }
                let app = rng.pick(eligible)
                b.app = app
                b.accounts = [estate.apps[app].account]
                b.cause = onset - minutes(5, 30)
                b.end = onset + minutes(25, 110)
                b.undone = rng.chance(0.5)
                b.oldPin = estate.apps[app].openai
                b.newPin = rng.pick(PlantedEstate.newerPins)
                let caller = estate.accounts[b.accounts[0]].callers[estate.callerIndex(ofApp: app)]
                b.oldAPIVersion = caller.apiVersion
                b.newAPIVersion = rng.pick(PlantedEstate.newAPIVersions.filter { $0 != caller.apiVersion })
            case .vendorIncident:
                var byRegion: [String: [Int]] = [:]
                for (i, a) in estate.accounts.enumerated() { byRegion[a.region.name, default: []].append(i) }
                let fleets = byRegion.values.filter { $0.count >= 2 }.sorted { $0[0] < $1[0] }
                b.accounts = PlantedEstate.shuffled(rng.pick(fleets), &rng)
                b.cause = onset - minutes(0, 2)
                b.posted = onset + minutes(5, 15)
                b.end = onset + minutes(20, 50)
                let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
                b.trackingId = String((0..<3).map { _ in rng.pick(letters) }) + "-" + String((0..<3).map { _ in rng.pick(letters) })
                if b.posted > windowEnd - PlantedTime.minute { continue }
            case .unexplained:
                b.accounts = [rng.int(accountCount)]
                b.newcomer = rng.chance(0.6)
                if !b.newcomer {
                    let apps = estate.apps.indices.filter { estate.apps[$0].account == b.accounts[0] }
                    b.app = rng.pick(apps)
                }
                b.end = onset + (b.newcomer ? minutes(5, 15) : minutes(8, 30))
            }
            // Every cause is inside the window, with room for its BeginRequest.
            if b.cause < windowStart + 2 * PlantedTime.minute { continue }
            if fits(b), accept?(b) ?? true { return b }
        }
        return nil
    }

    /// True when a burst of `kind` already involves `app` (each app loses its role, or has its
    /// SDK bumped, once at most).
    private func used(_ kind: PlantedKind, app: Int) -> Bool {
        bursts.contains { $0.kind == kind && $0.app == app }
    }

    private func isAtEdge(_ onset: Int64) -> Bool {
        onset - windowStart < 30 * PlantedTime.minute || windowEnd - onset <= 30 * PlantedTime.minute
    }

    /// True when `a` and `b` hit different accounts and fail at the same time for a while.
    private static func overlaps(_ a: PlantedBurst, _ b: PlantedBurst) -> Bool {
        Set(a.accounts).isDisjoint(with: b.accounts) && a.onset < b.end && b.onset < a.end
    }

    private func hasOverlap() -> Bool {
        for (i, a) in bursts.enumerated() {
            for b in bursts[(i + 1)...] where Self.overlaps(a, b) { return true }
        }
        return false
    }

    private func fits(_ b: PlantedBurst) -> Bool {
        let from = min(b.cause, b.onset) - Self.separation
        let to = b.end + Self.separation
        for a in b.accounts where reserved[a].contains(where: { $0.from < to && $0.to > from }) { return false }
        return true
    }

    private mutating func add(_ b: PlantedBurst) {
        for a in b.accounts { reserved[a].append((min(b.cause, b.onset) - PlantedTime.minute, b.end)) }
        bursts.append(b)
    }

    /// True when no burst on `account` is under way in `[t - before, t + after]`: a decoy
    /// change there cannot be mistaken for a cause.
    func isQuiet(account: Int, at t: Int64, before: Int64, after: Int64) -> Bool {
        !reserved[account].contains { $0.from <= t + after && $0.to >= t - before }
    }

    /// True when no burst anywhere starts in `[t - margin, t + margin]`.
    func isQuietEverywhere(at t: Int64, margin: Int64) -> Bool {
        !bursts.contains { abs($0.onset - t) <= margin }
    }

    // MARK: - Effects

    private mutating func effect(_ burst: Int, _ account: Int, _ caller: Int, from: Int64, to: Int64, status: Int, p: Double, length: Int64) {
        effects.append(
            PlantedEffect(
                burst: burst, account: account, caller: caller, from: from, to: max(to, from + PlantedTime.second),
                status: status, probability: p, responseLength: length))
    }

    private mutating func plantEffects(_ i: Int) {
        let b = bursts[i]
        let a = b.accounts[0]
        let callers = estate.accounts[a].callers
        let jitter = { (rng: inout GeneratorRandom, first: Bool, seconds: Int) -> Int64 in
            first ? 0 : Int64(1 + rng.int(seconds)) * PlantedTime.second + rng.int64(PlantedTime.second)
        }
        switch b.kind {
        case .keyRotation:
            // Key callers fail until each picks up the new key; Entra callers and the stale job are unaffected.
            let keyCallers = callers.indices.filter { if case .app = callers[$0].role { return callers[$0].usesKey } else { return false } }
            for (n, c) in keyCallers.enumerated() {
                // The first caller recovers last; the others pick the new key up sooner.
                let to = n == 0 ? b.end : uniform(min(b.onset + 10 * PlantedTime.minute, b.end), b.end)
                effect(i, a, c, from: b.onset + jitter(&rng, n == 0, 60), to: to, status: 401, p: 1, length: PlantedErrorBody.key)
            }
        case .localAuthDisabled:
            let keyCallers = callers.indices.filter { callers[$0].usesKey && callers[$0].role != .newcomer }
            for (n, c) in keyCallers.enumerated() {
                effect(i, a, c, from: b.onset + jitter(&rng, n == 0, 45), to: b.end, status: 403, p: 1, length: PlantedErrorBody.disabled)
            }
        case .roleAssignmentRemoved:
            effect(i, a, estate.callerIndex(ofApp: b.app!), from: b.onset, to: b.end, status: 401, p: 1, length: PlantedErrorBody.permissionDenied)
        case .sdkBump:
            let c = estate.callerIndex(ofApp: b.app!)
            effect(i, a, c, from: b.onset, to: b.end, status: 401, p: 1, length: PlantedErrorBody.unauthorized(callers[c]))
            switches.append(
                PlantedVersionSwitch(account: a, caller: c, from: b.onset, to: b.undone ? b.end : Int64.max, apiVersion: b.newAPIVersion))
        case .vendorIncident:
            let p = 0.55 + 0.35 * rng.unit()
            for (k, account) in b.accounts.enumerated() {
                let start = b.onset + jitter(&rng, k == 0, 90)
                let list = estate.accounts[account].callers
                var n = 0
                for c in list.indices {
                    guard case .app = list[c].role else { continue }
                    let to = b.end - Int64(rng.int(60)) * PlantedTime.second
                    effect(i, account, c, from: start + jitter(&rng, n == 0, 40), to: to, status: 401, p: p,
                           length: PlantedErrorBody.unauthorized(list[c]))
                    n += 1
                }
            }
        case .unexplained:
            if b.newcomer {
                var ip = ""
                let taken = Set(estate.accounts.flatMap { $0.callers.map(\.ip) })
                repeat {
                    ip = "\(rng.pick([45, 81, 91, 185])).\(rng.int(in: 1...254)).\(rng.int(256)).***"
                } while taken.contains(ip)
                estate.accounts[a].callers.append(
                    PlantedEstate.Caller(
                        role: .newcomer, ip: ip, objectId: "", apiVersion: "2024-10-21", profile: .rag,
                        chat: GeneratorTopology.chatDeployments[0], streamingShare: 0.1, share: 0))
                let c = estate.accounts[a].callers.count - 1
                let rate = 10 + 15 * rng.unit()
                extraTraffic.append(
                    PlantedExtraTraffic(account: a, caller: c, from: b.onset, to: b.end + minutes(1, 4), perMinute: rate))
                effect(i, a, c, from: b.onset, to: b.end, status: 401, p: 1, length: PlantedErrorBody.key)
            } else {
                let c = estate.callerIndex(ofApp: b.app!)
                effect(i, a, c, from: b.onset, to: b.end, status: 401, p: 0.8 + 0.2 * rng.unit(),
                       length: PlantedErrorBody.unauthorized(callers[c]))
            }
        }
    }

    /// The first failure of burst `burst` on `account` (its injected request), if the window holds it.
    func firstFailure(burst: Int, account: Int) -> Int64? {
        effects.filter { $0.burst == burst && $0.account == account && $0.from < windowEnd }.map(\.from).min()
    }
}
