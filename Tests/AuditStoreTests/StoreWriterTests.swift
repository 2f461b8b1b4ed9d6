import AuditCore
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@Suite struct StoreWriterTests {
    func database() throws -> Database { try Database(path: TestSupport.makeTempDirectory().appendingPathComponent("a.db").path) }

    func request(_ t: String, status: Int, corr: String, oid: String = "") -> RequestRecord {
        RequestRecord(timeUs: Timestamp.parse(t)!, resourceId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/aoai-a",
                      category: "RequestResponse", operation: "ChatCompletions_Create", status: status, deployment: "gpt-4o", model: "gpt-4o",
                      modelVersion: nil, objectId: oid, callerIp: "10.1.2.***", apiVersion: "2024-10-21", correlationId: corr, durationMs: 12,
                      requestLength: 10, responseLength: 224, streamType: nil, region: "eastus", extra: nil)
    }

    func event(_ key: String, eventDataId: String?, time: String = "2026-09-14T05:43:30.726282Z") -> ActivityEvent {
        ActivityEvent(identityKey: key, eventDataId: eventDataId, timeUs: Timestamp.parse(time)!, submissionUs: nil, category: "Administrative",
                      operation: "Microsoft.CognitiveServices/accounts/regenerateKey/action", status: "Succeeded", subStatus: nil, level: "Informational",
                      caller: "ops@contoso.com", callerIp: nil, correlationId: "c1", operationId: nil,
                      resourceId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/aoai-a", tenantId: nil,
                      httpStatus: 200, principalId: nil, principalType: nil, role: nil, description: nil, title: nil, shape: "export", raw: "{}")
    }

    @Test func requestsRollUpFailuresStayWholeAndNothingCountsTwice() throws {
        let db = try database()
        let w = StoreWriter(database: db)
        var batch = RecordBatch()
        batch.requests = [
            request("2026-09-14T05:00:01Z", status: 200, corr: "a"), request("2026-09-14T05:00:02Z", status: 200, corr: "b"),
            request("2026-09-14T05:00:03Z", status: 401, corr: "c"), request("2026-09-14T05:01:03Z", status: 200, corr: "d"),
        ]
        let first = try w.write(batch, source: "t")
        #expect(first.requests == 4)
        #expect(first.failures == 1)
        let second = try w.write(batch, source: "t")
        #expect(second.requests == 0)
        #expect(second.duplicates == 4)
        let c = try db.counts()
        #expect(c.requests == 4)
        #expect(c.requestFailures == 1)
        #expect(try db.connection.scalar("SELECT count FROM request_rollup WHERE status = 200 AND minute_us = ?", [.integer(Timestamp.parse("2026-09-14T05:00:00Z")!)])?.integer == 2)
    }

    @Test func theExportShapeLoadedFirstGetsItsEventDataIdFromTheRESTShape() throws {
        let db = try database()
        let w = StoreWriter(database: db)
        var b1 = RecordBatch()
        b1.activity = [event("c1|op|succeeded|1", eventDataId: nil)]
        b1.changes = [ChangeRecord(dedupeKey: "activity:c1|op|succeeded|1:key_regenerated", timeUs: 1, kind: "key_regenerated", resourceId: "/x", actor: nil, summary: "s", detail: nil, sourceKind: "activity", sourceId: "c1", correlationId: "c1")]
        _ = try w.write(b1, source: "t")
        var b2 = RecordBatch()
        b2.activity = [event("c1|op|succeeded|1", eventDataId: "e-123")]
        let counts = try w.write(b2, source: "t")
        #expect(counts.activity == 0)
        #expect(counts.merged == 1)
        #expect(try db.connection.scalar("SELECT event_data_id FROM activity_events")?.text == "e-123")
        #expect(try db.connection.scalar("SELECT source_id FROM changes")?.text == "e-123")
        #expect(try db.counts().activity == 1)
    }

    @Test func quarantineKeepsPositionAndRedactsTheExcerpt() throws {
        let db = try database()
        var b = RecordBatch()
        b.quarantine = [QuarantineEntry(source: "/data/x.json", line: 7, byteOffset: 120, reason: "malformed JSON", excerpt: "{\"key1\":\"0123456789abcdef0123\"")]
        _ = try StoreWriter(database: db).write(b, source: "t")
        _ = try StoreWriter(database: db).write(b, source: "t")
        let rows = try db.connection.rows("SELECT location, line, byte_offset, excerpt FROM quarantine")
        #expect(rows.count == 1)
        #expect(rows[0][0].text == "/data/x.json:7")
        #expect(rows[0][2].integer == 120)
        #expect(!(rows[0][3].text ?? "").contains("0123456789abcdef0123"))
    }
}
