import Foundation
import AuditCore

/// The public JSON of `correlate --format json` (issue contract; keys are only ever added).
public enum ReportJSON {
    static func strings(_ a: [String]) -> JSONValue { .array(a.map { .string($0) }) }

    static func statusCodes(_ b: Burst) -> JSONValue {
        .object(JSONObject(b.statusCodes.sorted { $0.key < $1.key }.map { (key: String($0.key), value: .number(String($0.value))) }))
    }

    static func evidence(_ e: Evidence) -> JSONValue {
        var m: [(key: String, value: JSONValue)] = [
            ("source_id", .string(e.sourceID)),
            ("correlation_id", e.correlationID.map { .string($0) } ?? .null),
            ("time", .string(Timestamp.iso(e.timeUs))),
            ("actor", e.actor.map { .string($0) } ?? .null),
            ("summary", .string(e.summary)),
        ]
        if let u = e.url { m.append(("url", .string(u))) }
        return .object(JSONObject(m))
    }

    static func candidate(_ c: Candidate) -> JSONValue {
        .object(JSONObject([
            ("kind", .string(c.kind.rawValue)), ("bucket", .string(c.kind.bucket)),
            ("score", .number(String(format: "%.2f", c.score))), ("explanation", .string(c.explanation)),
            ("evidence", .array(c.evidence.map(evidence))),
        ]))
    }

    static func burst(_ b: Burst) -> JSONValue {
        .object(JSONObject([
            ("resource_id", .string(b.resourceID)),
            ("start", .string(Timestamp.iso(b.startUs))),
            ("end", .string(Timestamp.iso(b.endUs))),
            ("peak_per_minute", .number(String(b.peakPerMinute))),
            ("failures", .number(String(b.failures))),
            ("status_codes", statusCodes(b)),
            ("callers", strings(b.callers)),
            ("fleet_id", b.fleetID.map { .string($0) } ?? .null),
            ("top_cause", b.topCause.map(candidate) ?? .null),
            ("candidates", .array(b.candidates.map(candidate))),
            ("succeeding_callers", strings(b.succeeding)),
            ("api_versions", strings(b.apiVersions)),
            ("signature", .string(b.signature)),
            ("region", b.region.map { .string($0) } ?? .null),
            ("sample_correlation_ids", strings(b.sampleCorrelationIDs)),
            ("probe", b.probe.map { p in
                .object(JSONObject([
                    ("time", .string(Timestamp.iso(p.timeUs))), ("class", .string(p.probeClass)), ("status", .number(String(p.status))),
                    ("apim_request_id", p.apimRequestID.map { .string($0) } ?? .null), ("verdict", .string(p.verdict)),
                ]))
            } ?? .null),
        ]))
    }

    /// The whole report.
    public static func render(_ r: CorrelationReport) -> String {
        JSONValue.object(JSONObject([
            ("schema_version", .number("1")),
            ("since", .string(Timestamp.iso(r.sinceUs))),
            ("until", .string(Timestamp.iso(r.untilUs))),
            ("bursts", .array(r.bursts.map(burst))),
            ("steady_failures", .array(r.steadyFailures.map(steady))),
        ])).serialized + "\n"
    }

    static func steady(_ s: SteadyFailure) -> JSONValue {
        .object(JSONObject([
            ("resource_id", .string(s.resourceID)), ("caller", .string(s.caller)), ("auth", .string(s.isKeyCaller ? "key" : "entra")),
            ("requests", .number(String(s.requests))), ("failures", .number(String(s.failures))),
            ("status_codes", .object(JSONObject(s.statusCodes.sorted { $0.key < $1.key }.map { (String($0.key), JSONValue.number(String($0.value))) }))),
            ("first_failure", .string(Timestamp.iso(s.firstUs))), ("last_failure", .string(Timestamp.iso(s.lastUs))),
            ("hours_failing", .number(String(s.hoursFailing))), ("fix", .string(ReportText.steadyFix(s))),
        ]))
    }
}

/// Human renderings: an aligned table and a Markdown runbook entry per burst.
public enum ReportText {
    /// One line per steady failure, or nothing.
    static func steadyLines(_ r: CorrelationReport, indent: String) -> String {
        r.steadyFailures.map { s in
            indent + "\(ResourceID(s.resourceID).shortName)  \(s.caller)  failed \(s.failures) of \(s.requests) requests ("
                + s.statusCodes.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: " ")
                + ") \(Timestamp.isoSeconds(s.firstUs)) → \(Timestamp.isoSeconds(s.lastUs)), in \(s.hoursFailing) hour\(s.hoursFailing == 1 ? "" : "s")\n"
                + indent + "  fix: " + steadyFix(s) + "\n"
        }.joined()
    }

    static func steadyFix(_ s: SteadyFailure) -> String {
        s.isKeyCaller
            ? "A client at \(s.caller) keeps calling with a key that is not valid (a forgotten job or an old deployment): find it by its IP and give it the current key, or retire it."
            : "The principal \(s.caller) has never been allowed in this window: give it the Cognitive Services OpenAI User role on the resource, or stop it calling."
    }

    public static func table(_ r: CorrelationReport) -> String {
        var steady = ""
        if !r.steadyFailures.isEmpty {
            steady = "steady 401/403 failures, not bursts (failing all along: nothing changed, so nothing to blame):\n" + steadyLines(r, indent: "   ")
        }
        guard !r.bursts.isEmpty else {
            return "no 401/403 bursts between \(Timestamp.isoSeconds(r.sinceUs)) and \(Timestamp.isoSeconds(r.untilUs))\n" + steady
        }
        var out = ""
        for (i, b) in r.bursts.enumerated() {
            let codes = b.statusCodes.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: " ")
            out += "\(i + 1). \(ResourceID(b.resourceID).shortName)  \(Timestamp.isoSeconds(b.startUs)) → \(Timestamp.isoSeconds(b.endUs))  \(codes)  peak \(b.peakPerMinute)/min"
            out += b.fleetID.map { "  [\($0)]" } ?? ""
            out += "\n"
            if let top = b.topCause {
                out += "   cause: \(top.kind.rawValue) (\(top.kind.bucket), score \(String(format: "%.2f", top.score)))\n"
                out += "   why:   \(top.explanation)\n"
                for e in top.evidence { out += "   evidence: \(e.sourceID)" + (e.correlationID.map { " (correlation \($0))" } ?? "") + " at \(Timestamp.isoSeconds(e.timeUs))" + (e.actor.map { " by \($0)" } ?? "") + "\n" }
            }
            if let p = b.probe { out += "   probe: \(Timestamp.isoSeconds(p.timeUs)) \(p.probeClass) (HTTP \(p.status)) — \(p.verdict.replacingOccurrences(of: "_", with: " "))\n" }
            out += "   failing: \(b.callers.joined(separator: ", "))" + (b.succeeding.isEmpty ? "" : "; still succeeding: \(b.succeeding.joined(separator: ", "))") + "\n"
        }
        return out + steady
    }

    static func fix(_ k: CauseKind) -> String {
        switch k {
        case .keyRotation: return "Update the key in every key-based app (or its Key Vault secret) to the regenerated key, then restart or reload the apps; better, move them to Entra ID (managed identity)."
        case .localAuthDisabled: return "Key auth is off on the resource: move the failing key callers to Entra ID with the Cognitive Services OpenAI User role, or set disableLocalAuth back to false if the change was not intended."
        case .roleAssignmentRemoved: return "Re-create the role assignment (Cognitive Services OpenAI User) for the principal at the resource scope, or find out who removed it and why; tokens pick it up within minutes."
        case .networkRuleChange: return "Check publicNetworkAccess, network ACLs and private endpoints on the resource; allow the callers' networks again or revert the change."
        case .keyvaultSecretChange: return "Make sure the new secret version holds the resource's current key and that apps reload it."
        case .sdkBump: return "Pin the SDK back or set the api-version explicitly to one the resource supports, then redeploy; check the release notes of the new SDK for auth changes."
        case .apiVersionChange: return "Set the api-version back to the last working one in the client, or use one the deployment supports."
        case .vendorIncident: return "Follow the incident; fail over to another region if you have one; open a support ticket quoting the correlation ids."
        case .manualChange: return "Review the recorded change and roll it back if it is the cause."
        case .unexplained: return "Nothing recorded explains it: check the client for a stale or wrong key or endpoint, quote the sample correlation ids to support, and record missing changes with `aoai-audit mark`."
        }
    }

    public static func markdown(_ r: CorrelationReport) -> String {
        var out = "# 401/403 bursts \(Timestamp.isoSeconds(r.sinceUs)) – \(Timestamp.isoSeconds(r.untilUs))\n\n"
        var steady = ""
        if !r.steadyFailures.isEmpty {
            steady = "## Steady failures (not bursts)\n\nThese callers failed all along: nothing changed, so nothing is to blame.\n\n"
            for s in r.steadyFailures {
                steady += "- `\(ResourceID(s.resourceID).shortName)` `\(s.caller)`: failed \(s.failures) of \(s.requests) requests ("
                    + s.statusCodes.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")
                    + ") \(Timestamp.isoSeconds(s.firstUs)) → \(Timestamp.isoSeconds(s.lastUs)), in \(s.hoursFailing) hours. \(steadyFix(s))\n"
            }
            steady += "\n"
        }
        if r.bursts.isEmpty { return out + "No bursts.\n" + (steady.isEmpty ? "" : "\n" + steady) }
        for b in r.bursts {
            let name = ResourceID(b.resourceID).shortName
            let top = b.topCause
            out += "## \(name): \(top?.kind.rawValue ?? "unexplained") at \(Timestamp.isoSeconds(b.startUs))\n\n"
            out += "- **Resource:** `\(b.resourceID)`\(b.region.map { " (\($0))" } ?? "")\n"
            out += "- **Window:** \(Timestamp.iso(b.startUs)) → \(Timestamp.iso(b.endUs)); \(b.failures) failures, peak \(b.peakPerMinute)/min; "
            out += b.statusCodes.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ") + "; signature `\(b.signature)`\n"
            out += "- **Identity:** failing \(b.callers.map { "`\($0)`" }.joined(separator: ", "))"
            out += b.succeeding.isEmpty ? "\n" : "; still succeeding \(b.succeeding.map { "`\($0)`" }.joined(separator: ", "))\n"
            out += "- **API-version pin:** \(b.apiVersions.isEmpty ? "unknown" : b.apiVersions.map { "`\($0)`" }.joined(separator: ", "))\n"
            if !b.sampleCorrelationIDs.isEmpty { out += "- **Failing request correlation ids:** \(b.sampleCorrelationIDs.map { "`\($0)`" }.joined(separator: ", "))\n" }
            if let f = b.fleetID { out += "- **Fleet event:** `\(f)` (other resources failed at the same time)\n" }
            if let top {
                out += "\n**Cause:** \(top.kind.rawValue) (\(top.kind.bucket), score \(String(format: "%.2f", top.score))). \(top.explanation)\n\n"
                if !top.evidence.isEmpty {
                    out += "**Evidence:**\n\n"
                    for e in top.evidence {
                        out += "- `\(e.sourceID)`" + (e.correlationID.map { " (correlationId `\($0)`)" } ?? "") + " at \(Timestamp.iso(e.timeUs))" + (e.actor.map { " by \($0)" } ?? "") + ": \(e.summary)" + (e.url.map { " <\($0)>" } ?? "") + "\n"
                    }
                    out += "\n"
                }
                out += "**Timeline:**\n\n"
                var lines: [(Int64, String)] = top.evidence.map { ($0.timeUs, "\($0.summary)") }
                lines.append((b.startUs, "first failure"))
                lines.append((b.endUs, "last failure"))
                for (t, s) in lines.sorted(by: { $0.0 < $1.0 }) { out += "- \(Timestamp.isoSeconds(t)) \(s)\n" }
                out += "\n**What to do:** \(fix(top.kind))\n\n"
            }
            let ruledOut = b.candidates.dropFirst()
            if !ruledOut.isEmpty {
                out += "**Ruled out:**\n\n"
                for c in ruledOut { out += "- \(c.kind.rawValue) (score \(String(format: "%.2f", c.score))): \(c.explanation)\n" }
                out += "\n"
            }
        }
        return out + steady
    }
}
