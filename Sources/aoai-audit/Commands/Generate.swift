import ArgumentParser
import AuditCore
import AzureSimulator
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic Azure OpenAI estate's logs (for demos, tests and benchmarks).",
        discussion: """
            Deterministic: the same options give byte-identical files. Writes Azure OpenAI \
            RequestResponse records as diagnostic-settings PT1H.json blobs, and Activity Log events in \
            both the REST page shape and the export shape.

            With --planted, writes instead a scenario in the layout of shared/fixtures/scenario-1:
            --hours of traffic with planted 401/403 bursts (key rotation, local auth disabled, role \
            assignment removed, SDK bump, vendor incident, unexplained), decoys, git repositories of \
            the apps, status feeds, and truth.json naming each burst's cause and evidence ids.

            Example:
              aoai-audit generate --out /tmp/estate --records 1000000 --days 30 --seed 7
              aoai-audit import /tmp/estate
              aoai-audit generate --planted --out /tmp/scenario-7 --seed 7 --hours 24
            """
    )

    @Option(help: ArgumentHelp("Output folder.", valueName: "dir"))
    var out: String

    @Option(help: "Total RequestResponse records.")
    var records = 100_000

    @Option(help: "Days of traffic.")
    var days = 30

    @Option(help: "Azure OpenAI accounts.")
    var accounts = 4

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Background 401 rate (stale keys somewhere).")
    var failureRate = 0.0025

    @Option(help: ArgumentHelp("First day (ISO date).", valueName: "date"))
    var start: String?

    @Flag(help: "Write a scenario with planted auth-failure bursts and its truth.json (scenario-1's layout).")
    var planted = false

    @Option(help: "Hours of traffic (with --planted).")
    var hours = 24

    @Option(help: "Requests per minute per account, on average (with --planted).")
    var requestsPerMinute = 60

    mutating func run() throws {
        if planted {
            try runPlanted()
            return
        }
        var o = GeneratorOptions()
        o.seed = seed
        o.days = days
        o.requestRecords = records
        o.accounts = accounts
        o.failureRate = failureRate
        if let s = try startMicros() { o.start = s }
        let options = o
        let dir = out
        let s = try userFacing { try ScenarioGenerator.write(to: dir, options: options) }
        Terminal.out("wrote \(s.files) files, \(s.requestRecords) request records, \(s.activityEvents) activity events, \(s.bytes) bytes to \(out)\n")
    }

    /// `--planted`: a scenario with planted bursts and its truth.json (`--records`, `--days`,
    /// `--accounts` and `--failure-rate` do not apply).
    private func runPlanted() throws {
        var o = PlantedOptions()
        o.seed = seed
        o.hours = hours
        o.requestsPerMinute = requestsPerMinute
        if let s = try startMicros() { o.start = s }
        let options = o
        let dir = out
        let s = try userFacing { try PlantedScenario.write(to: dir, options: options) }
        Terminal.out("wrote a planted scenario to \(out): \(s.bursts) bursts, \(s.requestRecords) request records, \(s.activityEvents) activity events; truth in \(out)/truth.json\n")
    }

    /// `--start` in microseconds, nil when not given.
    private func startMicros() throws -> Int64? {
        guard let start else { return nil }
        guard let s = Timestamp.parse(start) else { throw ValidationError("--start '\(start)' is not a date") }
        return s
    }
}
