import AuditCore
import AuditStore
import Foundation

/// Gathers the changes and vendor incidents around a set of bursts and scores each as a
/// cause: by its kind, how long before the burst it happened (a change after the start cannot
/// cause it), how well its scope matches the resource, and whether the callers that failed —
/// and those that did not — fit what that kind of change breaks.
struct CandidateFinder {
    struct Change {
        var timeUs: Int64
        var kind: String
        var resourceID: String
        var actor: String?
        var summary: String
        var detail: JSONObject?
        var sourceID: String?
        var correlationID: String?
        var principalID: String?
        var app: String?
    }

    struct Incident {
        var key: String
        var firstUpdate: String
        var correlationID: String?
        /// ServiceHealth events of the incident, oldest first.
        var events: [(id: String?, correlation: String?, subscription: String?)] = []
        var provider: String
        var title: String
        var service: String?
        var region: String?
        var startUs: Int64
        var resolvedUs: Int64?
        var url: String?
    }

    let options: CorrelationOptions
    var changes: [Change] = []
    var incidents: [Incident] = []

    init(db: Database, options: CorrelationOptions, bursts: [Burst]) throws {
        self.options = options
        guard let first = bursts.map(\.startUs).min(), let last = bursts.map(\.endUs).max() else { return }
        let from = first - max(options.lookbackUs, 3 * Timestamp.microsPerDay)  // SDK bumps deploy late
        for r in try db.connection.rows("""
            SELECT time_us, kind, resource_id, actor, summary, detail, source_id, correlation_id, principal_id, app
            FROM changes WHERE time_us >= ?1 AND time_us <= ?2 ORDER BY time_us
            """, [.integer(from), .integer(last)]) {
            changes.append(Change(timeUs: r[0].integer ?? 0, kind: r[1].text ?? "", resourceID: r[2].text ?? "", actor: r[3].text,
                                  summary: r[4].text ?? "", detail: r[5].text.flatMap { try? JSONParser.parse($0).objectValue },
                                  sourceID: r[6].text, correlationID: r[7].text, principalID: r[8].text, app: r[9].text))
        }
        for r in try db.connection.rows("""
            SELECT incident_key, provider, title, service, region, min(start_us), max(resolved_us), max(url),
              (SELECT v2.update_key FROM vendor_incidents v2 WHERE v2.incident_key = v.incident_key ORDER BY v2.updated_us LIMIT 1)
            FROM vendor_incidents v GROUP BY incident_key
            HAVING min(start_us) <= ?2 AND coalesce(max(resolved_us), ?2) >= ?1
            """, [.integer(first - Timestamp.microsPerHour), .integer(last)]) {
            let key = r[0].text ?? ""
            // A ServiceHealth update is keyed by its Activity Log identity (shared by the REST and
            // export shapes); evidence cites the event's eventDataId, from the burst's own
            // subscription when the incident was posted to several.
            let events = try db.connection.rows("""
                SELECT a.event_data_id, a.correlation_id, a.subscription_id FROM vendor_incidents v
                JOIN activity_events a ON a.identity_key = v.update_key
                WHERE v.incident_key = ?1 ORDER BY v.updated_us
                """, [.text(key)]).map { (id: $0[0].text, correlation: $0[1].text, subscription: $0[2].text) }
            incidents.append(Incident(key: key, firstUpdate: r[8].text ?? "", correlationID: nil, events: events, provider: r[1].text ?? "", title: r[2].text ?? "",
                                      service: r[3].text, region: r[4].text, startUs: r[5].integer ?? 0, resolvedUs: r[6].integer, url: r[7].text))
        }
    }

    /// Candidates for `burst`, best first; an `unexplained` entry leads when none is convincing.
    func rank(_ burst: Burst, all: [Burst]) -> [Candidate] {
        var out: [Candidate] = []
        for c in changes { if let cand = score(c, burst) { out.append(cand) } }
        for i in incidents { if let cand = score(i, burst, all: all) { out.append(cand) } }
        // An SDK bump explains better than the api-version change it caused: keep both, ranked.
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.timeUs > $1.timeUs) }
        var seen = Set<String>()
        out = out.filter { seen.insert($0.kind.rawValue + ($0.evidence.first?.sourceID ?? "")).inserted }
        if out.first.map({ $0.score < options.threshold }) ?? true {
            let ruled = out.prefix(3).map { "\($0.kind.rawValue) (\(String(format: "%.2f", $0.score)))" }
            let why = ruled.isEmpty ? "no change, deployment or vendor incident was recorded near it on a matching scope"
                : "the closest candidates scored too low: " + ruled.joined(separator: ", ")
            out.insert(Candidate(kind: .unexplained, score: 0, explanation: "Nothing recorded explains this burst: \(why).", evidence: [], timeUs: burst.startUs), at: 0)
        }
        return Array(out.prefix(6))
    }

    // MARK: - Changes

    static func kind(of change: Change) -> CauseKind? {
        switch change.kind {
        case ChangeKind.keyRegenerated: return .keyRotation
        case ChangeKind.localAuthDisabled, ChangeKind.accountConfigChange: return .localAuthDisabled
        case ChangeKind.roleAssignmentDeleted: return .roleAssignmentRemoved
        case ChangeKind.networkRuleChange: return .networkRuleChange
        case ChangeKind.keyvaultSecretSet: return .keyvaultSecretChange
        case ChangeKind.sdkBump: return .sdkBump
        case ChangeKind.apiVersionChange: return .apiVersionChange
        case ChangeKind.manual: return .manualChange
        default: return nil
        }
    }

    /// 1 for the same resource, less for a parent scope (resource group, subscription), 0 otherwise.
    static func scope(_ changeResource: String, _ resource: String) -> Double {
        if changeResource.isEmpty { return 0 }
        if changeResource == resource { return 1 }
        guard resource.hasPrefix(changeResource + "/") else { return 0 }
        return changeResource.contains("/resourcegroups/") ? 0.7 : 0.5
    }

    static func minutes(_ us: Int64) -> String {
        let m = Double(us) / 60_000_000
        if m < 1 { return "\(Int((Double(us) / 1_000_000).rounded())) s" }
        if m < 120 { return "\(Int(m.rounded())) min" }
        return String(format: "%.1f h", m / 60)
    }

    func evidence(_ c: Change) -> Evidence {
        Evidence(sourceID: c.sourceID ?? c.correlationID ?? "", correlationID: c.correlationID, timeUs: c.timeUs, actor: c.actor, summary: c.summary, url: nil)
    }

    func score(_ c: Change, _ b: Burst) -> Candidate? {
        guard let kind = Self.kind(of: c) else { return nil }
        let lag = b.startUs - c.timeUs
        guard lag >= -60_000_000 else { return nil }  // after the start (beyond clock skew): not a cause
        let keyCallers = b.callers.filter { $0.contains("*") }.count
        let keyShare = Double(keyCallers) / Double(max(1, b.callers.count))
        let entraSucceeding = b.succeeding.filter { !$0.contains("*") }.count
        let keySucceeding = b.succeeding.filter { $0.contains("*") }.count
        let share403 = Double(b.statusCodes[403] ?? 0) / Double(max(1, b.failures))
        func decay(_ tau: Double) -> Double { lag <= 0 ? 1 : exp(-Double(lag) / (tau * 60_000_000)) }
        let ago = Self.minutes(max(0, lag)) + " before the first failure"
        var s = 0.0
        var why = ""
        switch kind {
        case .keyRotation:
            let sc = Self.scope(c.resourceID, b.resourceID)
            let fit = keyShare * (keySucceeding == 0 ? 1 : 0.6) * (share403 > 0.7 ? 0.5 : 1)
            s = sc * decay(45) * fit
            why = "\(c.summary), \(ago); \(keyCallers) of \(b.callers.count) failing callers use API keys"
                + (entraSucceeding > 0 ? " while \(entraSucceeding) Entra caller\(entraSucceeding == 1 ? "" : "s") kept succeeding" : "")
                + ", which is what a key regeneration breaks."
        case .localAuthDisabled:
            let sc = Self.scope(c.resourceID, b.resourceID)
            let confirmed = c.kind == ChangeKind.localAuthDisabled
            let fit = keyShare * (0.3 + 0.7 * share403) * (confirmed ? 1 : 0.6)
            s = sc * decay(30) * fit
            why = confirmed
                ? "\(c.summary), \(ago); key callers then got \(share403 > 0.5 ? "403" : "401") (\(Int(share403 * 100)) % 403), the AuthenticationTypeDisabled signature."
                : "\(c.summary), \(ago); the request body was not logged, but key callers failing with 403 right after points at disableLocalAuth."
        case .roleAssignmentRemoved:
            let sc = Self.scope(c.resourceID, b.resourceID)
            let principal = c.principalID ?? ""
            let fit: Double = !principal.isEmpty && b.callers.contains(principal) ? 1 : (keyShare < 0.5 ? 0.25 : 0.02)
            s = sc * decay(90) * fit
            why = "\(c.summary), \(ago); "
                + (!principal.isEmpty && b.callers.contains(principal)
                    ? "the principal \(principal) is the caller that started failing with 401 PermissionDenied."
                    : "the removed principal is not among the failing callers.")
        case .networkRuleChange:
            let sc = Self.scope(c.resourceID, b.resourceID)
            let fit = (b.succeeding.isEmpty ? 1 : 0.4) * (0.4 + 0.6 * share403)
            s = sc * decay(30) * fit
            why = "\(c.summary), \(ago); \(b.succeeding.isEmpty ? "every caller failed" : "some callers kept succeeding")."
        case .keyvaultSecretChange:
            s = 0.35 * decay(120) * keyShare
            why = "\(c.summary), \(ago); a new secret version reaches apps that reload it, and only key callers use it."
        case .manualChange:
            // A mark may name the account only ("aoai-prod-eus") rather than its ARM id.
            let sc = c.resourceID.isEmpty ? 0.5
                : (!c.resourceID.contains("/") ? (ResourceID(b.resourceID).shortName == c.resourceID ? 1 : 0) : Self.scope(c.resourceID, b.resourceID))
            s = sc * decay(60) * 0.9
            why = "Recorded by hand: \(c.summary), \(ago)."
        case .apiVersionChange:
            let caller = c.actor ?? ""
            guard b.callers.contains(caller), c.resourceID == b.resourceID, abs(lag) <= 20 * 60_000_000 else { return nil }
            s = 0.6
            why = "\(c.summary) at the start of the burst; requests with the new api-version are the ones failing."
        case .sdkBump:
            // The bump is the cause when a failing caller switched api-version at the burst start,
            // after the commit: the deploy of that commit changed the client.
            guard let switchTime = apiSwitch(on: b), c.timeUs <= switchTime.time, switchTime.time - c.timeUs <= 3 * Timestamp.microsPerDay else { return nil }
            let deployLag = switchTime.time - c.timeUs
            let pkg = c.detail?["package"]?.text ?? "the SDK"
            // The api-version is pinned by the OpenAI client package; an identity-library bump
            // does not change it.
            let clientPackage = ["openai", "azure.ai.openai", "@azure/openai", "azure-ai-openai", "com.azure:azure-ai-openai",
                                 "langchain-openai", "@langchain/openai", "github.com/openai/openai-go", "openai-java", "com.openai:openai-java"]
                .contains(pkg.asciiLowercased) || pkg.asciiLowercased.contains("openai")
            s = 0.95 * (clientPackage ? 1 : 0.4) * exp(-Double(deployLag) / Double(24 * Timestamp.microsPerHour))
            why = "\(c.summary) was committed \(Self.minutes(deployLag)) before \(switchTime.caller) switched to api-version \(switchTime.api) and started failing; the bump changed the client's api-version pin (\(pkg))."
        default:
            return nil
        }
        guard s > 0.01 else { return nil }
        return Candidate(kind: kind, score: min(1, s), explanation: why, evidence: [evidence(c)], timeUs: c.timeUs)
    }

    /// The api-version switch of a failing caller near the burst start, if any.
    func apiSwitch(on b: Burst) -> (time: Int64, caller: String, api: String)? {
        var best: (Int64, String, String)?
        for c in changes where c.kind == ChangeKind.apiVersionChange && c.resourceID == b.resourceID {
            guard let caller = c.actor, b.callers.contains(caller), abs(b.startUs - c.timeUs) <= 20 * 60_000_000 else { continue }
            let api = c.detail?["new"]?.text ?? "?"
            if best == nil || abs(b.startUs - c.timeUs) < abs(b.startUs - (best?.0 ?? 0)) { best = (c.timeUs, caller, api) }
        }
        return best.map { (time: $0.0, caller: $0.1, api: $0.2) }
    }

    // MARK: - Vendor incidents

    static func normalizedRegion(_ s: String?) -> String {
        (s ?? "").asciiLowercased.filter { $0.isLetter || $0.isNumber }
    }

    func score(_ i: Incident, _ b: Burst, all: [Burst]) -> Candidate? {
        guard i.startUs <= b.startUs + 15 * Timestamp.microsPerMinute, (i.resolvedUs ?? Int64.max) >= b.startUs - 5 * Timestamp.microsPerMinute else { return nil }
        let burstRegion = Self.normalizedRegion(b.region)
        let incidentRegions = (i.region ?? "").split(separator: ",").map { Self.normalizedRegion(String($0)) }
        let regionFit: Double
        if burstRegion.isEmpty || incidentRegions.isEmpty || incidentRegions == [""] { regionFit = 0.5 }
        else if incidentRegions.contains(burstRegion) { regionFit = 1 }
        else { regionFit = 0.05 }
        let text = ((i.service ?? "") + " " + i.title).lowercased()
        let serviceFit = text.contains("openai") || text.contains("cognitive") || text.contains("ai services") ? 1.0 : 0.4
        let fleetSize = b.fleetID.map { id in Set(all.filter { $0.fleetID == id }.map(\.resourceID)).count } ?? 1
        var spread = (fleetSize >= 2 ? 1.0 : 0.55) * (b.succeeding.isEmpty ? 1 : 0.7)
        // A lone burst that began while a fleet-wide burst was already running on the same
        // resource has its own onset: the incident is already accounted for by the fleet burst.
        if fleetSize < 2, all.contains(where: { $0.resourceID == b.resourceID && $0.fleetID != nil && $0.startUs < b.startUs && $0.endUs >= b.startUs }) {
            spread *= 0.4
        }
        // The subscription's own ServiceHealth event is better evidence than a public feed item.
        let authority = i.provider == "azure-servicehealth" ? 1.0 : 0.95
        // An incident's effect starts with it: a burst beginning long after the incident
        // started (while it lingers unresolved) is less and less likely to be its effect.
        let lead = b.startUs - i.startUs
        let late = lead > 20 * Timestamp.microsPerMinute ? exp(-Double(lead - 20 * Timestamp.microsPerMinute) / Double(Timestamp.microsPerHour)) : 1
        let s = regionFit * serviceFit * spread * authority * late
        guard s > 0.01 else { return nil }
        let when = lead >= 0 ? "began \(Self.minutes(lead)) before the first failure" : "was posted \(Self.minutes(-lead)) after the failures began"
        let why = "\(i.provider) incident \"\(i.title)\"\(i.region.map { " in \($0)" } ?? "") \(when); "
            + (fleetSize >= 2 ? "\(fleetSize) resources started failing together" : "only this resource is failing")
            + (b.succeeding.isEmpty ? " and every caller failed." : ".")
        let sub = ResourceID(b.resourceID).subscription
        let own = i.events.first { $0.subscription == sub && $0.id != nil } ?? i.events.first { $0.id != nil }
        let ev = Evidence(sourceID: own?.id ?? (i.firstUpdate.isEmpty ? i.key : i.firstUpdate), correlationID: own?.correlation, timeUs: i.startUs, actor: i.provider, summary: i.title, url: i.url)
        return Candidate(kind: .vendorIncident, score: min(1, s), explanation: why, evidence: [ev], timeUs: i.startUs)
    }
}
