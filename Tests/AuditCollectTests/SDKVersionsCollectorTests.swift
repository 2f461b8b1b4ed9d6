import AuditCore
import AuditNet
import AuditStore
import Foundation
import Testing

@testable import AuditCollect

/// `sdk-versions`: lockfile history of git repositories named in the config (relative to the
/// config file's folder), one HEAD cursor per repository.
@Suite struct SDKVersionsCollectorTests {
    static let noHTTP = FakeTransport { r throws(HTTPError) in throw .insecureURL(url: r.url) }

    @Test(.enabled(if: GitRepo.gitPath != nil, "needs git on PATH"))
    func readsHistoryOnceAndAgainWhenHeadMoves() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let repo = try GitRepo(at: f.dir.appendingPathComponent("checkout-service").path)
        try repo.commit(["requirements.txt": "openai==1.35.0\n"], message: "initial", at: 1_767_225_600)
        try repo.commit(["requirements.txt": "openai==1.40.0\n"], message: "bump", at: 1_767_312_000)
        let config = try f.config("sources:\n  - name: sdks\n    type: sdk-versions\n    repos: [checkout-service]\n")
        let path = URL(fileURLWithPath: repo.path).standardizedFileURL.path

        let first = try f.runner(config, http: Self.noHTTP).run().outcomes[0]
        #expect(first.error == nil, "\(first.error ?? "")")
        #expect(first.pages == 1 && first.records == 2 && first.counts.changes == 2)
        #expect(try f.database.connection.checkpoints(source: "sdks")["head:" + path] == (try repo.head()))
        #expect(try f.scalar("SELECT count(*) FROM changes WHERE kind = 'sdk_bump' AND source = 'sdks'")?.integer == 2)

        // HEAD unchanged: not read again.
        let second = try f.runner(config, http: Self.noHTTP).run().outcomes[0]
        #expect(second.error == nil && second.pages == 0 && second.records == 0 && second.counts.loaded == 0)

        // HEAD moved: read again; only the new bump is new.
        try repo.commit(["requirements.txt": "openai==1.51.0\n"], message: "bump again", at: 1_767_398_400)
        let third = try f.runner(config, http: Self.noHTTP).run().outcomes[0]
        #expect(third.pages == 1 && third.records == 3 && third.counts.changes == 1 && third.counts.duplicates == 2)

        let coverage = try f.database.coverage(source: "sdks")
        #expect(coverage.count == 1 && coverage[0].scope == path && coverage[0].windows == 3 && coverage[0].emptyWindows == 1, "\(coverage)")
        #expect(coverage[0].fromUs == 1_767_225_600_000_000)
        #expect(Self.noHTTP.requests.isEmpty)
    }

    @Test(.enabled(if: GitRepo.gitPath != nil, "needs git on PATH"))
    func aMissingRepositoryFailsTheSourceAfterTheOthersLoad() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let repo = try GitRepo(at: f.dir.appendingPathComponent("app").path)
        try repo.commit(["package.json": #"{"dependencies":{"openai":"^4.70.0"}}"#], message: "init", at: 1_700_000_000)
        let config = try f.config("sources:\n  - name: sdks\n    type: sdk-versions\n    repos:\n      - gone\n      - app\n")
        let o = try f.runner(config, http: Self.noHTTP).run().outcomes[0]
        let missing = f.dir.appendingPathComponent("gone").standardizedFileURL.path
        #expect(o.error?.contains("repository \(missing) does not exist") == true, "\(o.error ?? "")")
        #expect(o.error?.contains("aoai-audit.yaml:4") == true, "\(o.error ?? "")")
        #expect(try f.scalar("SELECT count(*) FROM changes WHERE source = 'sdks'")?.integer == 1)
        let status = try f.database.sources().first { $0.name == "sdks" }
        #expect(status?.lastError?.contains("does not exist") == true && status?.lastSuccessUs == nil)
    }

    @Test(.enabled(if: GitRepo.gitPath != nil, "needs git on PATH"))
    func aFolderThatIsNotARepositoryIsNamed() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        try FileManager.default.createDirectory(at: f.dir.appendingPathComponent("plain"), withIntermediateDirectories: true)
        let config = try f.config("sources:\n  - name: sdks\n    type: sdk-versions\n    repos: plain\n")
        let o = try f.runner(config, http: Self.noHTTP).run().outcomes[0]
        #expect(o.error?.contains("is not a git repository") == true, "\(o.error ?? "")")
    }

    @Test func reposIsRequired() throws {
        let c = try Config.parse("sources:\n  - name: sdks\n    type: sdk-versions\n", path: "/cfg/a.yaml", environment: [:])
        let e = #expect(throws: ConfigError.self) { _ = try CollectorRegistry.make(c.sources[0]) }
        #expect(e?.message.contains("'repos' is required") == true)
    }
}
