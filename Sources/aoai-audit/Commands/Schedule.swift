import ArgumentParser
import AuditCore
import AuditExport
import Foundation

struct Schedule: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print or install the crontab entry (and systemd timer) for `aoai-audit run`.",
        discussion: """
            The entry runs `<this binary> run --quiet --config <config> --db <database>` with \
            absolute paths, weekly on Monday 06:00 UTC, or as config exports.schedule \
            (weekly|daily) and exports.weekday say.

            Examples:
              aoai-audit schedule print --config /etc/aoai-audit/aoai-audit.yaml
              aoai-audit schedule install --dry-run
              aoai-audit schedule install
            """,
        subcommands: [SchedulePrint.self, ScheduleInstall.self]
    )
}

/// What both subcommands need: the schedule and the command line, with absolute paths.
struct ScheduledCommand {
    var schedule: ExportSchedule
    var command: String

    init(_ global: GlobalOptions) throws {
        let config = try global.loadConfig()
        schedule = try ExportSchedule(ExportConfig(config: config))
        var args = [Self.binaryPath(), "run", "--quiet"]
        if let c = Self.configPath(global) { args += ["--config", Self.absolute(c)] }
        args += ["--db", Self.absolute(global.databasePath(config))]
        command = args.map(CrontabEditor.shellQuote).joined(separator: " ")
    }

    var cronLine: String { schedule.cronExpression + " " + command }

    static func configPath(_ global: GlobalOptions) -> String? {
        if let c = global.config { return c }
        if let e = ProcessInfo.processInfo.environment["AOAI_AUDIT_CONFIG"], !e.isEmpty { return e }
        return FileManager.default.fileExists(atPath: "aoai-audit.yaml") ? "aoai-audit.yaml" : nil
    }

    static func absolute(_ p: String) -> String {
        let url = URL(fileURLWithPath: p).standardizedFileURL
        return url.path
    }

    /// The running binary: `CommandLine.arguments[0]` made absolute (searched on PATH when it
    /// has no slash), symlinks resolved; `/proc/self/exe` when that fails.
    static func binaryPath() -> String {
        let arg0 = CommandLine.arguments.first ?? ""
        var candidate: String?
        if arg0.contains("/") {
            candidate = absolute(arg0)
        } else if !arg0.isEmpty {
            for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
                let p = String(dir) + "/" + arg0
                if access(p, X_OK) == 0 { candidate = absolute(p); break }
            }
        }
        if let c = candidate, let r = realpath(c, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        if let r = realpath("/proc/self/exe", nil) {
            defer { free(r) }
            return String(cString: r)
        }
        return candidate ?? arg0
    }
}

struct SchedulePrint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Print the crontab line and a systemd .service + .timer pair."
    )

    @OptionGroup var global: GlobalOptions

    mutating func run() throws {
        let s = try userFacing { try ScheduledCommand(global) }
        let user = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        Terminal.out("""
            # crontab (\(s.schedule.text), \(String(format: "%02d", s.schedule.hour)):00 UTC; cron reads the hour in the
            # system time zone: on a non-UTC host adjust it, or add CRON_TZ=UTC where cron supports it).
            # Install with: aoai-audit schedule install
            \(s.cronLine) \(CrontabEditor.marker)

            # /etc/systemd/system/aoai-audit.service
            [Unit]
            Description=aoai-audit run (collect, correlate, exports that are due)
            Wants=network-online.target
            After=network-online.target

            [Service]
            Type=oneshot
            User=\(user)
            ExecStart=\(s.command)

            # /etc/systemd/system/aoai-audit.timer
            [Unit]
            Description=aoai-audit run, \(s.schedule.text)

            [Timer]
            OnCalendar=\(s.schedule.onCalendar)
            Persistent=true

            [Install]
            WantedBy=timers.target

            # Enable with: systemctl daemon-reload && systemctl enable --now aoai-audit.timer

            """)
    }
}

struct ScheduleInstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Add (or replace) the marked `# aoai-audit` line in the user's crontab.",
        discussion: "Idempotent: an existing line ending in `# aoai-audit` is replaced, other lines are kept."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the new crontab instead of installing it.")
    var dryRun = false

    mutating func run() throws {
        let s = try userFacing { try ScheduledCommand(global) }
        guard let crontab = Self.findOnPath("crontab") else {
            Terminal.err("crontab is not installed (not on PATH): install cron (apt-get install cron), or use the systemd timer from `aoai-audit schedule print`")
            throw ExitCode(1)
        }
        let current = try Self.exec(crontab, ["-l"], input: nil)
        var existing = current.out
        if current.status != 0 {
            guard current.err.lowercased().contains("no crontab") else {
                throw CLIError(message: "crontab -l failed: \(current.err.trimmingCharacters(in: .whitespacesAndNewlines)); the crontab was not changed")
            }
            existing = ""
        }
        let merged = CrontabEditor.merge(existing: existing, line: s.cronLine)
        if dryRun {
            Terminal.out(merged)
            return
        }
        if merged == existing {
            if !global.quiet { Terminal.out("crontab already has the entry: \(s.cronLine)\n") }
            return
        }
        let w = try Self.exec(crontab, ["-"], input: merged)
        guard w.status == 0 else {
            throw CLIError(message: "crontab - failed: \(w.err.trimmingCharacters(in: .whitespacesAndNewlines)); the crontab was not changed")
        }
        if !global.quiet { Terminal.out("installed: \(s.cronLine) \(CrontabEditor.marker)\n") }
    }

    static func findOnPath(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = String(dir) + "/" + name
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    static func exec(_ path: String, _ args: [String], input: String?) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input == nil ? FileHandle.nullDevice : inp
        do { try p.run() } catch { throw CLIError(message: "cannot run \(path): \(error)") }
        if let input {
            inp.fileHandleForWriting.write(Data(input.utf8))
            try? inp.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
