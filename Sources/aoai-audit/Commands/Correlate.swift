import ArgumentParser
import AuditCore
import AuditCorrelate
import AuditStore
import Foundation

struct Correlate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find every 401/403 burst and name the change that caused it, with evidence.",
        discussion: """
            Bursts are found per resource and caller against each caller's own baseline (a steady \
            trickle of 401s is not a burst). Each burst's candidate causes — key rotations, local-auth \
            toggles, role assignment removals, network rules, Key Vault secret versions, SDK and \
            api-version bumps, vendor incidents, manual marks — are scored by timing, scope and which \
            callers failed, and the best one is explained with its evidence ids. Results are stored \
            (tables bursts and findings) replacing an earlier run over the same window.

            Examples:
              aoai-audit correlate
              aoai-audit correlate --since 2026-09-14 --until 2026-09-15 --format json
              aoai-audit correlate --resource aoai-prod-eus --format markdown > incident.md

            Exit: 0 done; 10 with --fail-on-new-bursts when bursts not seen by an earlier run were found.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, markdown }

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("From this time (inclusive): ISO date/time or duration (default 7d).", valueName: "time"))
    var since: String = "7d"

    @Option(help: ArgumentHelp("Until this time (exclusive; default now).", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Only this resource (ARM id or account name).", valueName: "R"))
    var resource: String?

    @Option(help: "Output format: table, json or markdown.")
    var format: Format = .table

    @Flag(help: "Exit 10 when bursts not found by an earlier run appear (for alerting from cron).")
    var failOnNewBursts = false

    @Flag(help: "Do not store the bursts and findings.")
    var dryRun = false

    mutating func run() throws {
        let (text, newBursts): (String, Int) = try userFacing {
            let (db, _) = try global.openDatabase()
            let now = TimeArgument.nowMicros()
            guard let s = try parseTime(since, name: "since") else { throw ValidationError("--since is required") }
            let u = try parseTime(until, name: "until") ?? now
            guard s < u else { throw ValidationError("--since must be before --until") }
            var options = CorrelationOptions(sinceUs: s, untilUs: u)
            options.resource = resource
            let report = try Correlator(database: db, options: options).analyze()
            let known = try Set(db.connection.rows("SELECT resource_id, start_us FROM bursts WHERE start_us >= ?1 AND start_us < ?2", [.integer(s), .integer(u)])
                .map { ($0[0].text ?? "") + "|" + String($0[1].integer ?? 0) })
            let fresh = report.bursts.filter { !known.contains($0.resourceID + "|" + String($0.startUs)) }.count
            if !dryRun {
                let run = try db.beginRun(command: "correlate")
                try report.store(in: db, resource: resource, runID: run)
                try db.finishRun(id: run, status: "ok", summary: "\(report.bursts.count) bursts, \(fresh) new, \(report.elapsedUs / 1000) ms")
            }
            switch format {
            case .json: return (ReportJSON.render(report), fresh)
            case .markdown: return (ReportText.markdown(report), fresh)
            case .table: return (ReportText.table(report), fresh)
            }
        }
        Terminal.out(text)
        if failOnNewBursts && newBursts > 0 { throw ExitCode(10) }
    }
}
