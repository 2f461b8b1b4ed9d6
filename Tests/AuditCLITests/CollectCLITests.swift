import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// `aoai-audit collect`, `status` with sources, and the collect step of `run`, with the built CLI.
@Suite(.serialized) struct CollectCLITests {
    static let gitPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { String($0) + "/git" }.first(where: { FileManager.default.isExecutableFile(atPath: $0) })

    /// A repository `app` in the CLI's folder with two lockfile versions.
    func makeRepo(_ cli: CLI) throws -> String {
        let path = cli.dir.appendingPathComponent("app").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        func git(_ args: [String], at seconds: Int = 1_767_225_600) throws {
            let r = try TestSupport.run("/usr/bin/env", ["git", "-C", path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c", "commit.gpgsign=false"] + args,
                                        environment: ["GIT_AUTHOR_DATE": "@\(seconds) +0000", "GIT_COMMITTER_DATE": "@\(seconds) +0000"])
            #expect(r.status == 0, "git \(args): \(r.stderr)")
        }
        try git(["-c", "init.defaultBranch=main", "init", "-q"])
        try TestSupport.write("openai==1.35.0\n", to: URL(fileURLWithPath: path), name: "requirements.txt")
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", "init"])
        try TestSupport.write("openai==1.40.0\n", to: URL(fileURLWithPath: path), name: "requirements.txt")
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", "bump"], at: 1_767_312_000)
        return path
    }

    static let sdkConfig = """
        sources:
          - name: sdks
            type: sdk-versions
            repos: [app]
          - name: feed
            type: status-feed
            url: https://127.0.0.1:9/feed.rss
        """

    @Test func configErrorsPrintFileAndLineAndExitOne() throws {
        let cli = CLI()
        let config = try cli.write("database: audit.db\nsources:\n  - name: a\n    type: status-feed\n    uri: https://status.example.com/feed\n", "aoai-audit.yaml")
        let r = try cli.run(["collect", "--config", config])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("\(config):5: source 'a': unknown key 'uri' for type status-feed; did you mean 'url'?"), "\(r.stderr)")

        let top = try cli.write("sources: []\nexport:\n  dir: out\n", "top.yaml")
        let t = try cli.run(["collect", "--config", top])
        #expect(t.status == 1 && t.stderr.contains("\(top):2: unknown key 'export'; did you mean 'exports'?"), "\(t.stderr)")

        let unset = try cli.write("sources:\n  - name: a\n    type: status-feed\n    url: ${AOAI_AUDIT_TEST_UNSET_URL}\n", "unset.yaml")
        let u = try cli.run(["collect", "--config", unset])
        #expect(u.status == 1 && u.stderr.contains("\(unset):4: ") && u.stderr.contains("AOAI_AUDIT_TEST_UNSET_URL is not set"), "\(u.stderr)")
    }

    @Test func usageErrorsExitOne() throws {
        let cli = CLI()
        let config = try cli.write(Self.sdkConfig, "cfg.yaml")  // not ./aoai-audit.yaml: `collect` alone must find none
        let unknown = try cli.run(["collect", "--config", config, "--source", "nope"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no source named 'nope' in the config (sources: sdks, feed)"), "\(unknown.stderr)")
        let old = try cli.run(["collect", "--config", config, "--since", "120d"])
        #expect(old.status == 1 && old.stderr.contains("more than 90 days back") && old.stderr.contains("aoai-audit import"), "\(old.stderr)")
        let none = try cli.run(["collect"])
        #expect(none.status == 1 && none.stderr.contains("no config file"), "\(none.stderr)")
    }

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func collectsAnSDKVersionsSourceAndStatusShowsCoverage() throws {
        let cli = CLI()
        let repo = URL(fileURLWithPath: try makeRepo(cli)).standardizedFileURL.path
        let config = try cli.write(Self.sdkConfig, "aoai-audit.yaml")
        let r = try cli.run(["collect", "--config", config, "--source", "sdks"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("sdks") }.map(String.init) ?? ""
        #expect(line.contains("sdk-versions") && line.contains("pages 1") && line.contains("records 2") && line.contains("new 2")
                && line.contains("duplicates 0") && line.contains("retries 0") && line.contains("lag 0s") && line.hasSuffix("ok"), "\(r.stdout)")
        #expect(r.stdout.contains("collect: 1 source, none failed, 2 new records"), "\(r.stdout)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")  // not a terminal: no progress

        let again = try cli.run(["collect", "--config", config, "--source", "sdks", "--format", "json"])
        #expect(again.status == 0, "\(again.stderr)")
        let doc = try JSONParser.parse(again.stdout)
        #expect(doc["schema_version"]?.int64 == 1)
        let s = try #require(doc["sources"]?.arrayValue?.first)
        #expect(s["name"]?.text == "sdks" && s["status"]?.text == "ok" && s["new"]?.int64 == 0 && s["pages"]?.int64 == 0)

        let status = try cli.run(["status", "--format", "json", "--config", config])
        #expect(status.status == 0, "\(status.stderr)")
        let st = try JSONParser.parse(status.stdout)
        let sources = st["sources"]?.arrayValue ?? []
        let sdks = try #require(sources.first { $0["name"]?.text == "sdks" })
        #expect(sdks["type"]?.text == "sdk-versions")
        #expect(sdks["last_success"]?.text?.hasSuffix("Z") == true && sdks["last_error"]?.isNull == true)
        #expect(sdks["lag_seconds"]?.int64 == 0)
        #expect(sdks["checkpoint"]?.text?.hasPrefix("head:\(repo) = ") == true, "\(status.stdout)")
        let coverage = sdks["coverage"]?.arrayValue ?? []
        #expect(coverage.count == 1, "\(status.stdout)")
        #expect(coverage.first?["scope"]?.text == repo)
        #expect(coverage.first?["from"]?.text?.hasPrefix("2026-01-01T00:00:00") == true, "\(status.stdout)")  // the first commit
        #expect(coverage.first?["windows"]?.int64 == 2 && coverage.first?["empty_windows"]?.int64 == 1 && coverage.first?["records"]?.int64 == 2)
        // Configured but never run.
        let feed = try #require(sources.first { $0["name"]?.text == "feed" })
        #expect(feed["type"]?.text == "status-feed" && feed["last_success"]?.isNull == true && feed["coverage"]?.arrayValue?.isEmpty == true)

        let table = try cli.run(["status", "--config", config])
        #expect(table.stdout.contains("feed [status-feed]: configured, never run"), "\(table.stdout)")
        #expect(table.stdout.contains("covered \(repo): "), "\(table.stdout)")
    }

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func aFailedSourceExitsThreeAndTheOthersLoad() throws {
        let cli = CLI()
        _ = try makeRepo(cli)
        let config = try cli.write("sources:\n  - name: sdks\n    type: sdk-versions\n    repos: [app]\n  - name: gone\n    type: sdk-versions\n    repos: [missing]\n", "aoai-audit.yaml")
        let r = try cli.run(["collect", "--config", config])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("FAILED: repository ") && r.stdout.contains("missing does not exist"), "\(r.stdout)")
        #expect(r.stdout.contains("collect: 2 sources, 1 failed (gone), 2 new records"), "\(r.stdout)")
        #expect(r.stderr.contains("error: source 'gone': repository "), "\(r.stderr)")
        #expect(try cli.counts()["changes"] == 2)

        let status = try JSONParser.parse(try cli.run(["status", "--format", "json"]).stdout)
        let gone = (status["sources"]?.arrayValue ?? []).first { $0["name"]?.text == "gone" }
        #expect(gone?["last_error"]?.text?.contains("does not exist") == true && gone?["last_success"]?.isNull == true)
    }

    @Test(.enabled(if: gitPath != nil, "needs git on PATH"))
    func runCollectsThenStillCorrelatesAndExportsWhenASourceFails() throws {
        let cli = CLI()
        _ = try makeRepo(cli)
        let ok = try cli.write("exports:\n  dir: exports\n  schedule: daily\nsources:\n  - name: sdks\n    type: sdk-versions\n    repos: [app]\n", "ok.yaml")
        let good = try cli.run(["run", "--config", ok])
        #expect(good.status == 0, "\(good.stdout)\n\(good.stderr)")
        #expect(good.stdout.contains("collect: ok: 1 source, none failed, 2 new records"), "\(good.stdout)")

        let bad = try cli.write("exports:\n  dir: exports\n  schedule: daily\nsources:\n  - name: sdks\n    type: sdk-versions\n    repos: [app]\n  - name: gone\n    type: sdk-versions\n    repos: [missing]\n", "bad.yaml")
        let r = try cli.run(["run", "--config", bad, "--force-exports"])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("collect: failed: 2 sources, 1 failed: gone (repository "), "\(r.stderr)")
        #expect(r.stdout.contains("correlate: ok: "), "\(r.stdout)")
        #expect(r.stdout.contains("export: ok: ") && r.stdout.contains("collect failed for gone"), "\(r.stdout)")
        #expect(r.stderr.contains("run: failed: 1 of 4 steps failed (collect)"), "\(r.stderr)")
    }
}
