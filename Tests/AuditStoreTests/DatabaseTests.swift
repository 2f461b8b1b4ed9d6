import AuditCore
import AuditSQL
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@Suite struct DatabaseTests {
    func tempPath() -> String { TestSupport.makeTempDirectory().appendingPathComponent("a.db").path }

    @Test func createsMigratesAndRecordsTheSchema() throws {
        let path = tempPath()
        let db = try Database(path: path)
        #expect(db.schemaVersion == Database.latestVersion)
        #expect(try db.connection.scalar("PRAGMA application_id")?.integer == Database.applicationID)
        #expect(try db.connection.scalar("PRAGMA journal_mode")?.text == "wal")
        #expect(try db.connection.scalar("SELECT count(*) FROM schema_migrations")?.integer == Int64(Database.migrations.count))
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        // Opening again migrates nothing and changes nothing.
        let again = try Database(path: path)
        #expect(again.schemaVersion == Database.latestVersion)
    }

    @Test func refusesANewerSchemaWithoutWriting() throws {
        let path = tempPath()
        _ = try Database(path: path)
        let raw = try Connection(path: path)
        try raw.execute("PRAGMA user_version = 999")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: StoreError.newerSchema(path: path, found: 999, supported: Database.latestVersion)) { try Database(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func refusesSomeoneElsesDatabase() throws {
        let path = tempPath()
        let other = try Connection(path: path)
        try other.execute("CREATE TABLE notes(x)")
        #expect(throws: StoreError.notOurDatabase(path: path)) { try Database(path: path) }
    }

    @Test func refusesAFileThatIsNotSQLite() throws {
        let dir = TestSupport.makeTempDirectory()
        let path = try TestSupport.write("this is not a database, it is a text file with enough bytes", to: dir, name: "x.db")
        #expect(throws: StoreError.self) { try Database(path: path) }
        do { _ = try Database(path: path) } catch { #expect("\(error)".contains("not a readable database")) }
    }

    @Test func aDamagedDatabaseIsOneClearErrorNotACrash() throws {
        let path = tempPath()
        do {
            let db = try Database(path: path)
            var b = RecordBatch()
            for i in 0..<3000 {
                b.changes.append(ChangeRecord(dedupeKey: "k\(i)", timeUs: Int64(i), kind: "key_listed", resourceId: "/r/\(i)", actor: nil,
                                              summary: String(repeating: "x", count: 200), detail: nil, sourceKind: "t", sourceId: nil, correlationId: nil))
            }
            _ = try StoreWriter(database: db).write(b, source: "t")
            try db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        // Overwrite everything after the first pages with garbage.
        let h = try #require(FileHandle(forUpdatingAtPath: path))
        try h.seek(toOffset: 8192)
        h.write(Data(repeating: 0xA5, count: 200_000))
        try h.close()
        do {
            let db = try Database(path: path, readOnly: true)
            _ = try db.run(sql: "SELECT count(*), max(length(summary)) FROM changes")
            Issue.record("a damaged database was read without an error")
        } catch {
            let e = error
            #expect("\(e)".contains("not a readable database") || "\(e)".contains("malformed"), "\(e)")
        }
    }

    @Test func readOnlyConnectionRefusesWrites() throws {
        let path = tempPath()
        _ = try Database(path: path)
        let ro = try Database(path: path, readOnly: true)
        #expect(throws: StoreError.self) { try ro.run(sql: "DELETE FROM changes") }
        do {
            _ = try ro.run(sql: "INSERT INTO runs(command, started_us) VALUES ('x', 1)")
            Issue.record("write was accepted")
        } catch {
            #expect("\(error)".contains("read-only"))
        }
        #expect(try ro.run(sql: "SELECT count(*) AS n FROM runs").rows == [[.integer(0)]])
    }

    @Test func sqlErrorsCarryTheSQLButNotTheValues() throws {
        let db = try Database(path: tempPath())
        do {
            try db.connection.run("SELECT * FROM no_such_table WHERE x = ?", [.text("secret-value")])
            Issue.record("expected an error")
        } catch {
            let text = "\(error)"
            #expect(text.contains("no_such_table"))
            #expect(!text.contains("secret-value"))
        }
    }

    @Test func embeddedSQLListsMatchTheFoldersOnDisk() throws {
        let root = TestSupport.repositoryRoot
        for (folder, list) in [("migrations", SQLFiles.migrations), ("queries", SQLFiles.queries), ("exports", SQLFiles.exports)] {
            let onDisk = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path).filter { $0.hasSuffix(".sql") }.sorted()
            #expect(list.map(\.name).sorted() == onDisk, "update Sources/AuditSQL/SQLFiles.swift for \(folder)/")
            for item in list {
                let text = try String(contentsOfFile: root.appendingPathComponent(folder).appendingPathComponent(item.name).path, encoding: .utf8)
                #expect(text == item.sql, "\(item.name) embedded copy is stale")
            }
        }
    }
}
