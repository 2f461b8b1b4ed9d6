import AuditCore
import AuditStore
import Foundation

extension CorrelationReport {
    /// Stores the bursts and their ranked candidates, replacing what an earlier run found for
    /// bursts starting in the same window (and resource), in one transaction.
    public func store(in db: Database, resource: String?, runID: Int64?) throws {
        let c = db.connection
        try c.transaction {
            var condition = "start_us >= ?1 AND start_us < ?2"
            var binds: [SQLValue] = [.integer(sinceUs), .integer(untilUs)]
            if let r = resource {
                condition += " AND (resource_id = ?3 OR resource_id LIKE '%/' || ?3)"
                binds.append(.text(ResourceID.argument(r)))
            }
            try c.run("DELETE FROM findings WHERE burst_id IN (SELECT id FROM bursts WHERE \(condition))", binds)
            try c.run("DELETE FROM bursts WHERE \(condition)", binds)
            let now = TimeArgument.nowMicros()
            for b in bursts {
                let top = b.topCause
                try c.run("""
                    INSERT INTO bursts(resource_id, start_us, end_us, peak_per_minute, failures, status_codes, callers, succeeding, api_versions,
                      signature, fleet_id, top_kind, top_bucket, top_score, run_id, detected_us)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                    ON CONFLICT(resource_id, start_us) DO UPDATE SET end_us = excluded.end_us, failures = excluded.failures,
                      top_kind = excluded.top_kind, top_score = excluded.top_score, detected_us = excluded.detected_us
                    """, [.text(b.resourceID), .integer(b.startUs), .integer(b.endUs), .integer(Int64(b.peakPerMinute)), .integer(Int64(b.failures)),
                          .text(ReportJSON.statusCodes(b).serialized), .text(ReportJSON.strings(b.callers).serialized),
                          .text(ReportJSON.strings(b.succeeding).serialized), .text(ReportJSON.strings(b.apiVersions).serialized),
                          .text(b.signature), SQLValue(b.fleetID), .text(top?.kind.rawValue ?? "unexplained"),
                          .text(top?.kind.bucket ?? "unknown"), .real(top?.score ?? 0), SQLValue(runID), .integer(now)])
                guard let id = try c.scalar("SELECT id FROM bursts WHERE resource_id = ?1 AND start_us = ?2", [.text(b.resourceID), .integer(b.startUs)])?.integer else { continue }
                try c.run("DELETE FROM findings WHERE burst_id = ?1", [.integer(id)])
                for (rank, cand) in b.candidates.enumerated() {
                    try c.run("INSERT INTO findings(burst_id, rank, kind, bucket, score, explanation, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                              [.integer(id), .integer(Int64(rank + 1)), .text(cand.kind.rawValue), .text(cand.kind.bucket), .real(cand.score),
                               .text(cand.explanation), .text(JSONValue.array(cand.evidence.map(ReportJSON.evidence)).serialized)])
                }
            }
        }
    }
}
