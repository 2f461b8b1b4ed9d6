import AuditCollect
import AuditCore
import Foundation
import Testing

/// Builds throw-away git repositories with fixed dates and checks the exact `sdk_bump` records.
@Suite struct LockfileHistoryTests {
    /// The repository root (`Tests/AuditCollectTests/<file>` is three levels down; symlinks
    /// resolved so that scratch packages linking this file find the same fixtures).
    static let repoRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let scenario = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/scenario-1")
    static let gitPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { String($0) + "/git" }.first(where: { FileManager.default.isExecutableFile(atPath: $0) })

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func threeCommitsYieldAnAdditionAndABump() throws {
        let repo = try TempRepo()
        defer { repo.remove() }
        try repo.commit(
            ["requirements.txt": "fastapi==0.115.0\nopenai==1.35.0\n"], message: "initial", at: 1_767_225_600)
        let c1 = try repo.head()
        try repo.commit(["requirements.txt": "fastapi==0.115.0\nopenai==1.40.0\n"], message: "bump", at: 1_767_312_000)
        let c2 = try repo.head()
        try repo.commit(
            ["requirements.txt": "fastapi==0.116.1\nopenai==1.40.0\n"], message: "unrelated", at: 1_767_398_400)

        let records = try LockfileHistory(repository: repo.path).read()
        let repoPath = URL(fileURLWithPath: repo.path).standardizedFileURL.path
        func detail(_ old: String?, _ new: String, _ commit: String) -> String {
            let oldText = old.map { "\"\($0)\"" } ?? "null"
            return #"{"package":"openai","old":"# + oldText + #","new":""# + new
                + #"","file":"requirements.txt","repository":""#
                + repoPath + #"","commit":""# + commit + #""}"#
        }
        let app = URL(fileURLWithPath: repo.path).lastPathComponent
        #expect(
            records == [
                ChangeRecord(
                    dedupeKey: "git:\(app):\(c1):requirements.txt:openai", timeUs: 1_767_225_600_000_000, kind: "sdk_bump",
                    resourceId: "",
                    actor: "dev@example.com", summary: "\(app): added openai 1.35.0 (requirements.txt)",
                    detail: detail(nil, "1.35.0", c1), sourceKind: "git", sourceId: c1, correlationId: nil, app: app),
                ChangeRecord(
                    dedupeKey: "git:\(app):\(c2):requirements.txt:openai", timeUs: 1_767_312_000_000_000, kind: "sdk_bump",
                    resourceId: "",
                    actor: "dev@example.com", summary: "\(app): openai 1.35.0 → 1.40.0 (requirements.txt)",
                    detail: detail("1.35.0", "1.40.0", c2), sourceKind: "git", sourceId: c2, correlationId: nil,
                    app: app),
            ])
    }

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func mergesRenamesAndDeletionsFollowTheMainline() throws {
        let repo = try TempRepo()
        defer { repo.remove() }
        try repo.commit(
            ["requirements.txt": "openai==1.0.0\n", "README.md": "x\n"], message: "init", at: 1_700_000_000)
        try repo.git(["checkout", "-q", "-b", "feature"])
        try repo.commit(["requirements.txt": "openai==2.0.0\n"], message: "try 2.0", at: 1_700_000_100)
        try repo.commit(["requirements.txt": "openai==2.1.0\n"], message: "then 2.1", at: 1_700_000_200)
        try repo.git(["checkout", "-q", "main"])
        try repo.commit(["README.md": "y\n"], message: "docs", at: 1_700_000_300)
        try repo.git(["merge", "-q", "--no-ff", "-m", "merge feature", "feature"], at: 1_700_000_400)
        let merge = try repo.head()
        try repo.git(["mv", "requirements.txt", "requirements-prod.txt"])
        try repo.commit(
            ["web/package.json": #"{"dependencies":{"openai":"^4.70.0"}}"#], message: "rename + web", at: 1_700_000_500)
        let renamed = try repo.head()
        try repo.git(["rm", "-q", "requirements-prod.txt"])
        try repo.commit([:], message: "drop python", at: 1_700_000_600)
        let dropped = try repo.head()

        let records = try LockfileHistory(repository: repo.path, app: "web-app").read()
        #expect(
            records.map(\.summary) == [
                "web-app: added openai 1.0.0 (requirements.txt)",
                "web-app: openai 1.0.0 → 2.1.0 (requirements.txt)",
                "web-app: added openai ^4.70.0 (web/package.json)",
                "web-app: removed openai 2.1.0 (requirements-prod.txt)",
            ])
        #expect(records.map(\.sourceId) == [records.first?.sourceId, merge, renamed, dropped])
        #expect(records[1].timeUs == 1_700_000_400_000_000)
        #expect(records[3].detail?.contains(#""old":"2.1.0","new":null"#) == true)
        #expect(records.allSatisfy { $0.app == "web-app" && $0.kind == ChangeKind.sdkBump && $0.sourceKind == "git" })
    }

    /// Visual Studio may save project files as UTF-16 with a byte-order mark.
    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func utf16ProjectFilesAreDecoded() throws {
        let repo = try TempRepo()
        defer { repo.remove() }
        func utf16(_ version: String) -> Data {
            let xml =
                #"<Project><ItemGroup><PackageReference Include="Azure.AI.OpenAI" Version=""# + version
                + #"" /></ItemGroup></Project>"#
            return Data([0xFF, 0xFE] + xml.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        }
        try repo.commit(bytes: ["src/Api/Api.csproj": utf16("2.0.0")], message: "add", at: 1_700_000_000)
        try repo.commit(bytes: ["src/Api/Api.csproj": utf16("2.1.0")], message: "bump", at: 1_700_000_100)
        let records = try LockfileHistory(repository: repo.path, app: "api").read()
        #expect(
            records.map(\.summary) == [
                "api: added Azure.AI.OpenAI 2.0.0 (src/Api/Api.csproj)",
                "api: Azure.AI.OpenAI 2.0.0 → 2.1.0 (src/Api/Api.csproj)",
            ])
    }

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func repositoryWithoutCommitsYieldsNothing() throws {
        let repo = try TempRepo()
        defer { repo.remove() }
        #expect(try LockfileHistory(repository: repo.path).read().isEmpty)
    }

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func plainFolderIsNotARepository() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lockfile-plain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: LockfileHistoryError.notARepository(dir.path)) {
            try LockfileHistory(repository: dir.path).read()
        }
        let missing = dir.appendingPathComponent("nope").path
        #expect(throws: LockfileHistoryError.notARepository(missing)) {
            try LockfileHistory(repository: missing).read()
        }
    }

    @Test func appDefaultsToTheFolderName() {
        #expect(LockfileHistory(repository: "/src/app-search").app == "app-search")
        #expect(LockfileHistory(repository: "/src/app-search/").app == "app-search")
        #expect(LockfileHistory(repository: "/src/app-search/.git").app == "app-search")
        #expect(LockfileHistory(repository: "/srv/git/app-search.git").app == "app-search")
        #expect(LockfileHistory(repository: "/src/x", app: "named").app == "named")
    }

    /// Conformance: the planted SDK bump of scenario-1 (`truth.json`) is found. Skipped when
    /// `../shared/fixtures/scenario-1` is absent (the fixtures are not part of the repository).
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: scenario.appendingPathComponent("repos.tar.gz").path)
                && gitPath != nil,
            "needs ../shared/fixtures/scenario-1/repos.tar.gz and git"))
    func scenarioOneBumpIsFound() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lockfile-scenario-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xzf", Self.scenario.appendingPathComponent("repos.tar.gz").path, "-C", dir.path]
        try tar.run()
        tar.waitUntilExit()
        try #require(tar.terminationStatus == 0)

        let commit = "713f95fec1cbbd07eb55b789fdefd6da42cc3b85"
        let records = try LockfileHistory(repository: dir.appendingPathComponent("repos/app-search").path).read()
        let bump = try #require(records.first { $0.sourceId == commit })
        #expect(bump.app == "app-search")
        #expect(bump.summary == "app-search: openai 1.40.0 → 1.51.0 (requirements.txt)")
        #expect(bump.dedupeKey == "git:app-search:\(commit):requirements.txt:openai")
        #expect(bump.timeUs == Timestamp.parse("2026-09-14T10:29:47Z"))
        let detail = try JSONParser.parse(try #require(bump.detail))
        #expect(
            detail["package"]?.text == "openai" && detail["old"]?.text == "1.40.0" && detail["new"]?.text == "1.51.0")
    }
}

/// A git repository in a temporary folder; git runs with fixed identity and dates.
private struct TempRepo {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lockfile-repo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
        try git(["-c", "init.defaultBranch=main", "init", "-q"])
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `files` (repository-relative path → content), stages everything and commits.
    func commit(_ files: [String: String], message: String, at seconds: Int) throws {
        try commit(bytes: files.mapValues { Data($0.utf8) }, message: message, at: seconds)
    }

    /// Like `commit(_:message:at:)` with file contents as raw bytes.
    func commit(bytes files: [String: Data], message: String, at seconds: Int) throws {
        for (name, content) in files {
            let url = URL(fileURLWithPath: path).appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url)
        }
        try git(["add", "-A"])
        try git(["commit", "-q", "--allow-empty", "-m", message], at: seconds)
    }

    func head() throws -> String { try git(["rev-parse", "HEAD"]).trimmingSpaces }

    @discardableResult
    func git(_ arguments: [String], at seconds: Int = 1_600_000_000) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "git", "-C", path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c",
                "commit.gpgsign=false",
            ] + arguments
        var env = ProcessInfo.processInfo.environment
        env["GIT_AUTHOR_DATE"] = "@\(seconds) +0000"
        env["GIT_COMMITTER_DATE"] = "@\(seconds) +0000"
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()  // drain before waiting
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TempRepoError(arguments: arguments) }
        return String(decoding: data, as: UTF8.self)
    }
}

private struct TempRepoError: Error { var arguments: [String] }
