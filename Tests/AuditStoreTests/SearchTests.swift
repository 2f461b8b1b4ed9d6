import AuditCore
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@Suite struct SearchTests {
    func seeded() throws -> Database {
        let db = try Database(path: TestSupport.makeTempDirectory().appendingPathComponent("a.db").path)
        var b = RecordBatch()
        for (i, kind) in ["key_regenerated", "role_assignment_deleted", "local_auth_disabled"].enumerated() {
            b.changes.append(ChangeRecord(dedupeKey: "k\(i)", timeUs: Timestamp.parse("2026-09-1\(i + 1)T00:00:00Z")!, kind: kind,
                                          resourceId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/aoai-prod-eus\(i)",
                                          actor: "ops@contoso.com", summary: "\(kind) on aoai-prod-eus\(i) 5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11", detail: nil,
                                          sourceKind: "activity", sourceId: nil, correlationId: nil))
        }
        _ = try StoreWriter(database: db).write(b, source: "t")
        return db
    }

    @Test func newestFirstWithSnippets() throws {
        let hits = try seeded().search(SearchRequest(text: "ops@contoso.com"))
        #expect(hits.map { String($0.title.prefix(5)) } == ["local", "role ", "key r"])
        #expect(hits.first?.timeUs == Timestamp.parse("2026-09-13T00:00:00Z"))
        #expect(try seeded().search(SearchRequest(text: "regenerated")).first?.snippet.contains("[regenerated]") == true)
    }

    @Test(arguments: ["\"unbalanced", "a:b", "-minus", "5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11", "NEAR(x y)", "AND", "(", "*", "o'brien", "col:value -x"])
    func userTextNeverCausesAnFTSSyntaxError(_ text: String) throws {
        _ = try seeded().search(SearchRequest(text: text))
    }

    @Test func aGUIDIsFoundAsAPhrase() throws {
        #expect(try seeded().search(SearchRequest(text: "5b7d6c1e-0f0a-4a55-9d1c-2f7f3f9e0a11")).count == 3)
    }

    @Test func filtersByKindTimeAndResource() throws {
        let db = try seeded()
        var r = SearchRequest(text: "ops")
        r.sinceUs = Timestamp.parse("2026-09-12T00:00:00Z")
        r.untilUs = Timestamp.parse("2026-09-13T00:00:00Z")
        #expect(try db.search(r).count == 1)
        r = SearchRequest(text: "ops")
        r.resource = "aoai-prod-eus2"
        #expect(try db.search(r).map { String($0.title.prefix(5)) } == ["local"])
        r = SearchRequest(text: "ops")
        r.kinds = ["incident"]
        #expect(try db.search(r).isEmpty)
        r = SearchRequest(text: "ops")
        r.limit = 2
        #expect(try db.search(r).count == 2)
    }
}
