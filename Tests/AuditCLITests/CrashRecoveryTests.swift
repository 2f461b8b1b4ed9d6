import AuditCore
import AuditTestSupport
import Foundation
import Testing

@Suite(.serialized) struct CrashRecoveryTests {
    /// kill -9 in the middle of an import, then import again: the same counts as one clean import.
    @Test func killDashNineThenReimportEqualsACleanImport() throws {
        let cli = CLI()
        let data = cli.dir.appendingPathComponent("estate").path
        let gen = try TestSupport.cli(["generate", "--out", data, "--records", "150000", "--days", "2", "--seed", "3"])
        #expect(gen.status == 0, "\(gen.stderr)")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.cliPath)
        p.arguments = ["import", data, "--db", cli.db]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until some batches have committed, then kill without warning.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, p.isRunning {
            if let n = try? TestSupport.run("/usr/bin/sqlite3", [cli.db, "SELECT count(*) FROM request_seen"]).stdout.trimmingSpaces, let v = Int(n), v > 20_000 { break }
            usleep(20_000)
        }
        let killedMidway = p.isRunning
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(killedMidway, "the import finished before it could be killed; make the data set larger")

        let again = try cli.run(["import", data])
        #expect(again.status == 0, "\(again.stderr)")
        let recovered = try cli.counts()

        let clean = CLI()
        #expect(try clean.run(["import", data]).status == 0)
        let expected = try clean.counts()
        #expect(recovered == expected)
        #expect(expected["requests"] == 150_000)
    }
}
