import AuditCollect
import AuditCore
import AuditCorrelate
import AuditStore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// The engine on scenarios from the project's own planted-incident generator: 10 seeds, every
/// cause kind, decoys, the 401 trickle, overlapping bursts and bursts near the window edges.
/// Quality bar (issue 4): ≥ 95 % right top cause with its evidence, zero spurious bursts.
/// (Benchmarks/correlate-accuracy.sh runs the same check on full-day scenarios.)
@Suite(.serialized) struct PlantedSeedsTests {
    @Test func tenSeedsRightCauseWithEvidenceAndNothingSpurious() throws {
        var total = ScenarioTruth.Score()
        var kinds = Set<String>()
        for seed in UInt64(1)...10 {
            let dir = TestSupport.makeTempDirectory("planted-\(seed)")
            var o = PlantedOptions()
            o.seed = seed
            o.hours = 12
            o.requestsPerMinute = 24
            _ = try PlantedScenario.write(to: dir.path, options: o)
            let truth = try ScenarioTruth(folder: dir)
            kinds.formUnion(truth.planted.map(\.kind))
            let db = try Database(path: dir.appendingPathComponent("audit.db").path)
            try ScenarioTruth.load(folder: dir, into: db)
            let report = try Correlator(database: db, options: CorrelationOptions(sinceUs: truth.windowStart, untilUs: truth.windowEnd)).analyze()
            let s = truth.score(report)
            total.planted += s.planted
            total.found += s.found
            total.rightKind += s.rightKind
            total.rightEvidence += s.rightEvidence
            total.spurious += s.spurious.map { "seed \(seed): \($0)" }
            total.misses += s.misses.map { "seed \(seed): \($0)" }
            try? FileManager.default.removeItem(at: dir)
        }
        #expect(kinds.isSuperset(of: ["key_rotation", "local_auth_disabled", "role_assignment_removed", "sdk_bump", "vendor_incident", "unexplained"]), "\(kinds)")
        #expect(total.planted >= 40)
        #expect(Double(total.rightEvidence) >= 0.95 * Double(total.planted), "\(total)")
        #expect(total.spurious.isEmpty, "\(total)")
    }
}
