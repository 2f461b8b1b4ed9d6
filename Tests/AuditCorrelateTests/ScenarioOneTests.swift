import AuditCollect
import AuditCore
import AuditCorrelate
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@Suite(.serialized, .enabled(if: TestSupport.hasSharedFixtures, "../shared/fixtures is absent: scenario-1 correlation skipped"))
struct ScenarioOneTests {
    @Test func everyPlantedBurstFoundWithTheRightCauseAndEvidenceAndNothingSpurious() throws {
        let folder = try #require(TestSupport.sharedFixtures).appendingPathComponent("scenario-1")
        let truth = try ScenarioTruth(folder: folder)
        let db = try Database(path: TestSupport.makeTempDirectory().appendingPathComponent("a.db").path)
        try ScenarioTruth.load(folder: folder, into: db)
        let report = try Correlator(database: db, options: CorrelationOptions(sinceUs: truth.windowStart, untilUs: truth.windowEnd)).analyze()
        let score = truth.score(report)
        #expect(score.found == score.planted, "\(score)")
        #expect(score.rightKind == score.planted, "\(score)")
        #expect(score.rightEvidence == score.planted, "\(score)")
        #expect(score.spurious.isEmpty, "\(score)")
        // Stored, and a second run over the same window replaces rather than appends.
        try report.store(in: db, resource: nil, runID: nil)
        try report.store(in: db, resource: nil, runID: nil)
        #expect(try db.connection.scalar("SELECT count(*) FROM bursts")?.integer == Int64(report.bursts.count))
        #expect(try db.connection.scalar("SELECT count(*) FROM findings WHERE rank = 1")?.integer == Int64(report.bursts.count))
    }
}
