import AuditCore
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@Suite struct NamedQueryTests {
    @Test func everyBuiltInQueryIsDocumentedAndRunsOnAnEmptyDatabase() throws {
        let path = TestSupport.makeTempDirectory().appendingPathComponent("a.db").path
        _ = try Database(path: path)
        let db = try Database(path: path, readOnly: true)
        let catalog = try QueryCatalog()
        #expect(catalog.queries.count >= 9)
        for q in catalog.queries {
            #expect(!q.description.isEmpty, "\(q.name) has no description")
            let b = try q.bindings([:], now: Timestamp.parse("2026-11-30T00:00:00Z")!)
            _ = try db.run(sql: q.sql, bindings: b)
        }
    }

    @Test func parametersAreTypedAndUnknownOnesRefused() throws {
        let q = try QueryCatalog().query(named: "changes_before")
        let now = Timestamp.parse("2026-11-30T00:00:00Z")!
        let b = try q.bindings(["at": "2026-09-14T05:52:00Z", "hours": "6", "resource": "/SUBSCRIPTIONS/S/x"], now: now)
        #expect(b["at"] == .integer(Timestamp.parse("2026-09-14T05:52:00Z")!))
        #expect(b["hours"] == .integer(6))
        #expect(b["resource"] == .text("/subscriptions/s/x"))
        #expect(throws: StoreError.self) { try q.bindings(["nope": "1"], now: now) }
        #expect(throws: StoreError.self) { try q.bindings(["hours": "six"], now: now) }
        #expect(throws: StoreError.self) { try q.bindings(["at": "someday"], now: now) }
        #expect(throws: StoreError.self) { try QueryCatalog().query(named: "no_such") }
    }

    @Test func userFolderQueriesShadowBuiltIns() throws {
        let dir = TestSupport.makeTempDirectory()
        try TestSupport.write("-- name: key_rotations\n-- description: mine\nSELECT 1 AS one;\n", to: dir, name: "k.sql")
        let c = try QueryCatalog(extraDirectories: [dir.path])
        #expect(c.shadowed == ["key_rotations"])
        #expect(try c.query(named: "key_rotations").description == "mine")
    }

    @Test func rendersEveryFormat() {
        let r = QueryResult(columns: ["a", "b"], rows: [[.integer(1), .text("x,\"y\"")], [.null, .text("=cmd()")]])
        #expect(r.render(.csv) == "a,b\r\n1,\"x,\"\"y\"\"\"\r\n,'=cmd()\r\n")
        #expect(r.render(.ndjson) == "{\"a\":1,\"b\":\"x,\\\"y\\\"\"}\n{\"a\":null,\"b\":\"=cmd()\"}\n")
        #expect(r.render(.json).hasPrefix("{\"schema_version\":1,"))
        #expect(r.render(.markdown).hasPrefix("| a | b |\n| --- | --- |\n"))
        #expect(r.render(.table).contains("(2 rows)"))
    }
}
