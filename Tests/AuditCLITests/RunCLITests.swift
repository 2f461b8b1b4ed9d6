import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// `aoai-audit run` (the cron run) and `aoai-audit schedule`, with the built CLI.
@Suite(.serialized) struct RunCLITests {
    /// A CLI with Samples data imported and a config whose exports go to `<dir>/exports`.
    func prepared(schedule: String = "daily", extra: String = "") throws -> (CLI, String, String) {
        let cli = CLI()
        let records = try cli.write(Samples.rest + "\n", "rest.json")
        let requests = try cli.write((0..<30).map { Samples.request($0, status: $0 % 3 == 0 ? 401 : 200) }.joined(separator: "\n") + "\n", "PT1H.json")
        let imported = try cli.run(["import", records, requests])
        #expect(imported.status == 0, "\(imported.stderr)")
        let config = try cli.write("exports:\n  dir: exports\n  schedule: \(schedule)\n  keep: 90d\n" + extra, "aoai-audit.yaml")
        return (cli, config, cli.dir.appendingPathComponent("exports").path)
    }

    func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func runExportsWhenDueAndNotAgainInTheSamePeriod() throws {
        let (cli, config, out) = try prepared()
        let first = try cli.run(["run", "--config", config])
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("collect: skipped: no sources configured"), "\(first.stdout)")
        #expect(first.stdout.contains("correlate: ok: "), "\(first.stdout)")
        #expect(first.stdout.contains("export: ok: 4 files"), "\(first.stdout)")
        #expect(first.stdout.contains("prune: ok: 0 files removed"), "\(first.stdout)")
        #expect(first.stdout.contains("run: ok: "), "\(first.stdout)")
        let written = files(out)
        #expect(written.count == 9 && written.first == "_SUCCESS", "\(written)")  // 4 data files + 4 manifests + _SUCCESS
        #expect(written.allSatisfy { !$0.hasPrefix(".") })

        let second = try cli.run(["run", "--config", config])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("export: skipped: not due"), "\(second.stdout)")
        #expect(files(out) == written)

        let forced = try cli.run(["run", "--config", config, "--force-exports"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("export: ok: 0 files") && forced.stdout.contains("(forced)"), "\(forced.stdout)")
        #expect(files(out) == written)  // incremental: nothing new, nothing repeated

        let runs = try TestSupport.run("/usr/bin/sqlite3", [cli.db, "SELECT count(*) FROM runs WHERE command = 'run' AND status = 'ok'"]).stdout
        #expect(runs.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
    }

    @Test func forceExportsWritesNewRowsEvenWhenNotDue() throws {
        let (cli, config, out) = try prepared(schedule: "weekly")
        #expect(try cli.run(["run", "--config", config]).status == 0)
        let before = files(out)
        let more = try cli.write((30..<40).map { Samples.request($0, status: 401, minute: 5) }.joined(separator: "\n") + "\n", "PT1H-2.json")
        #expect(try cli.run(["import", more]).status == 0)
        let notDue = try cli.run(["run", "--config", config])
        #expect(notDue.stdout.contains("not due") && files(out) == before, "\(notDue.stdout)")
        let forced = try cli.run(["run", "--config", config, "--force-exports"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(files(out).count > before.count, "\(forced.stdout)")
    }

    @Test func anInvalidSourceFailsTheCollectStepWithItsLineAndTheOtherStepsStillRun() throws {
        let (cli, config, _) = try prepared(extra: "sources:\n  - name: activity\n    type: activity-log\n")
        let r = try cli.run(["run", "--config", config])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let all = r.stdout + r.stderr
        #expect(all.contains("collect: failed: ") && all.contains("source 'activity': 'subscriptions' is required"), "\(all)")
        #expect(all.contains("correlate: ok") && all.contains("prune: ok: "), "\(all)")
    }

    @Test func aFailingStepIsReportedAndTheNextStepsStillRun() throws {
        let cli = CLI()
        let config = try cli.write("exports:\n  dir: exports\n  format: xml\n  keep: 90d\n", "aoai-audit.yaml")
        let r = try cli.run(["run", "--config", config])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("export: failed: ") && r.stderr.contains("exports.format"), "\(r.stderr)")
        #expect(r.stdout.contains("prune: ok: "), "\(r.stdout)")
        #expect(r.stderr.contains("run: failed: 1 of 4 steps failed (export)"), "\(r.stderr)")
    }

    @Test func quietPrintsNothingOnSuccess() throws {
        let (cli, config, _) = try prepared()
        let r = try cli.run(["run", "--config", config, "--quiet"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty && r.stderr.isEmpty, "\(r.stdout)|\(r.stderr)")
    }

    @Test func aConcurrentRunExitsFourAtOnce() throws {
        let (cli, config, _) = try prepared()
        let path = cli.db + ".lock"
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        let r = try cli.run(["run", "--config", config])
        #expect(r.status == 4, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("another aoai-audit run holds \(path) (pid \(getpid()))"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stdout.isEmpty)
        flock(fd, LOCK_UN)
        #expect(try cli.run(["run", "--config", config, "--quiet"]).status == 0)
    }

    @Test func jsonLogLinesParse() throws {
        let (cli, config, _) = try prepared()
        let r = try cli.run(["run", "--config", config, "--log-format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        var steps: [String] = []
        for line in lines {
            let v = try JSONParser.parse(line)
            #expect(v["schema_version"]?.int64 == 1)
            #expect(v["status"]?.text != nil)
            steps.append(v["step"]?.text ?? "")
        }
        #expect(steps == ["collect", "correlate", "export", "prune", "run"])
        let export = try JSONParser.parse(lines[2])
        #expect(export["status"]?.text == "ok" && export["files"]?.int64 == 4)
    }

    /// A planted estate with stale-key jobs: the correlate step counts their steady failures
    /// as correlate lists them, and says where to look.
    @Test func theCorrelateStepCountsSteadyFailuresAsCorrelateListsThem() throws {
        let cli = CLI()
        let dir = cli.dir.appendingPathComponent("planted").path
        #expect(try TestSupport.cli(["generate", "--planted", "--out", dir, "--seed", "3", "--hours", "12", "--requests-per-minute", "12"]).status == 0)
        #expect(try cli.run(["import", dir + "/activity", dir + "/diagnostics"]).status == 0)
        let start = try #require(try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json"))))["start"]?.text)
        let r = try cli.run(["run", "--since", start, "--log-format", "json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let step = try #require(try r.stdout.split(separator: "\n").map { try JSONParser.parse(String($0)) }.first { $0["step"]?.text == "correlate" })
        let steady = try #require(step["steady_failures"]?.int64)
        #expect(steady > 0 && (step["message"]?.text ?? "").contains("\(steady) caller"), "\(r.stdout)")
        let c = try cli.run(["correlate", "--since", start, "--format", "json", "--dry-run"])
        let listed = try JSONParser.parse(c.stdout)["steady_failures"]?.arrayValue ?? []
        #expect(Int64(listed.count) == steady, "\(c.stdout)")
        #expect(listed.allSatisfy { $0["auth"]?.text == "key" && $0["failures"]?.int64 == $0["requests"]?.int64 }, "stale-key jobs: \(listed)")
    }

    @Test(.enabled(if: TestSupport.hasSharedFixtures, "../shared/fixtures is absent"))
    func failOnNewBurstsExitsTenOnceThenZero() throws {
        let cli = CLI()
        let scenario = try #require(TestSupport.sharedFixtures).appendingPathComponent("scenario-1")
        let r = try cli.run(["import", scenario.appendingPathComponent("activity").path, scenario.appendingPathComponent("diagnostics").path])
        #expect(r.status == 0 || r.status == 3, "\(r.stderr)")
        let first = try cli.run(["run", "--since", "2026-09-14", "--fail-on-new-bursts", "--quiet"])
        #expect(first.status == 10, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stderr.contains("correlate: ok: ") && first.stdout.isEmpty, "\(first.stderr)")
        let again = try cli.run(["run", "--since", "2026-09-14", "--fail-on-new-bursts", "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.isEmpty && again.stderr.isEmpty)
    }

    // MARK: - schedule

    @Test func schedulePrintNamesTheAbsoluteBinaryAndQuietRun() throws {
        let cli = CLI()
        let config = try cli.write("exports:\n  dir: exports\n", "aoai-audit.yaml")
        let r = try TestSupport.cli(["schedule", "print", "--config", "aoai-audit.yaml", "--db", "audit.db"], cwd: cli.dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let binary = URL(fileURLWithPath: TestSupport.cliPath).resolvingSymlinksInPath().path
        #expect(r.stdout.contains("0 6 * * 1 \(binary) run --quiet --config "), "\(r.stdout)")
        #expect(r.stdout.contains("--config \(URL(fileURLWithPath: config).standardizedFileURL.path)"), "\(r.stdout)")
        #expect(r.stdout.contains("--db \(cli.dir.appendingPathComponent("audit.db").standardizedFileURL.path)"), "\(r.stdout)")
        #expect(r.stdout.contains("OnCalendar=Mon *-*-* 06:00:00 UTC") && r.stdout.contains("ExecStart=\(binary) run --quiet"), "\(r.stdout)")

        let daily = try cli.write("exports:\n  dir: exports\n  schedule: daily\n", "daily.yaml")
        let d = try TestSupport.cli(["schedule", "print", "--config", daily], cwd: cli.dir.path)
        #expect(d.stdout.contains("0 6 * * * \(binary) run --quiet"), "\(d.stdout)")
        let friday = try cli.write("exports:\n  schedule: weekly\n  weekday: fri\n", "fri.yaml")
        let f = try TestSupport.cli(["schedule", "print", "--config", friday], cwd: cli.dir.path)
        #expect(f.stdout.contains("0 6 * * 5 ") && f.stdout.contains("OnCalendar=Fri *-*-* 06:00:00 UTC"), "\(f.stdout)")
    }

    @Test func scheduleInstallIsIdempotentWithAFakeCrontab() throws {
        let cli = CLI()
        _ = try cli.write("exports:\n  dir: exports\n", "aoai-audit.yaml")
        let bin = cli.dir.appendingPathComponent("fakebin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            f="$FAKE_CRONTAB"
            if [ "$1" = "-l" ]; then
              if [ -f "$f" ]; then cat "$f"; exit 0; fi
              echo "no crontab for tester" >&2; exit 1
            fi
            if [ "$1" = "-" ]; then cat > "$f"; exit 0; fi
            exit 2

            """
        let fake = try TestSupport.write(script, to: bin, name: "crontab")
        chmod(fake, 0o755)
        let tab = cli.dir.appendingPathComponent("crontab.txt").path
        let env = ["PATH": bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "FAKE_CRONTAB": tab]
        let args = ["schedule", "install", "--config", "aoai-audit.yaml", "--db", "audit.db"]

        // No crontab yet: dry-run twice shows one marked line and installs nothing.
        for _ in 0..<2 {
            let d = try TestSupport.cli(args + ["--dry-run"], environment: env, cwd: cli.dir.path)
            #expect(d.status == 0, "\(d.stderr)")
            #expect(d.stdout.split(separator: "\n").filter { $0.hasSuffix("# aoai-audit") }.count == 1, "\(d.stdout)")
            #expect(d.stdout.contains("run --quiet"))
        }
        #expect(!FileManager.default.fileExists(atPath: tab))

        try "MAILTO=ops@contoso.com\n0 1 * * * /bin/true\n".write(toFile: tab, atomically: true, encoding: .utf8)
        for _ in 0..<2 {
            let r = try TestSupport.cli(args, environment: env, cwd: cli.dir.path)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let text = try String(contentsOfFile: tab, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.hasSuffix("# aoai-audit") }.count == 1, "\(text)")
        #expect(lines.first == "MAILTO=ops@contoso.com" && lines.contains("0 1 * * * /bin/true"), "\(text)")

        // A changed schedule replaces the marked line.
        _ = try cli.write("exports:\n  dir: exports\n  schedule: daily\n", "aoai-audit.yaml")
        #expect(try TestSupport.cli(args, environment: env, cwd: cli.dir.path).status == 0)
        let after = try String(contentsOfFile: tab, encoding: .utf8).split(separator: "\n")
        #expect(after.filter { $0.hasSuffix("# aoai-audit") }.count == 1 && after.contains { $0.hasPrefix("0 6 * * * ") && $0.hasSuffix("# aoai-audit") }, "\(after)")
        #expect(after.count == 3)
    }

    @Test func scheduleInstallWithoutCrontabSaysSoInOneLine() throws {
        let cli = CLI()
        let empty = cli.dir.appendingPathComponent("nobin")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let r = try TestSupport.cli(["schedule", "install", "--db", "audit.db"], environment: ["PATH": empty.path], cwd: cli.dir.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("crontab is not installed") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
