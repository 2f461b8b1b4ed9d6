import ArgumentParser
import AuditCollect
import AuditCore
import AuditStore
import Foundation

struct Mark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a change the logs cannot see (a deploy, an SDK bump, a config change).",
        discussion: """
            Correlation weighs marks as `manual_change` candidates for bursts that follow them on the \
            same resource (or any resource when none is given).

            Examples:
              aoai-audit mark --kind deploy --at 2026-11-23T09:12:00Z --app checkout --note "release 4.2"
              aoai-audit mark --kind config-change --at 30m --resource aoai-prod-eus --note "rotated key in app settings"
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("deploy, sdk-bump, config-change or other.", valueName: "kind"))
    var kind: String

    @Option(help: ArgumentHelp("When it happened: ISO date/time, or a duration back from now (default now).", valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("The application it concerns.", valueName: "A"))
    var app: String?

    @Option(help: ArgumentHelp("The resource it concerns (ARM id or account name).", valueName: "R"))
    var resource: String?

    @Option(help: "What changed.")
    var note: String

    func validate() throws {
        guard ManualChange.kinds.contains(kind) else { throw ValidationError("--kind must be one of \(ManualChange.kinds.joined(separator: ", "))") }
        guard !note.trimmingSpaces.isEmpty else { throw ValidationError("--note must say what changed") }
    }

    mutating func run() throws {
        let line: String = try userFacing {
            let (db, _) = try global.openDatabase()
            let when = try parseTime(at, name: "at") ?? TimeArgument.nowMicros()
            let author = ProcessInfo.processInfo.environment["USER"]
            var batch = RecordBatch()
            batch.changes = [ManualChange.make(kind: kind, atUs: when, app: app, resource: resource, note: note, author: author)]
            let counts = try StoreWriter(database: db).write(batch, source: "mark")
            return counts.changes == 1 ? "recorded \(kind) at \(Timestamp.isoSeconds(when))\n" : "already recorded (same mark)\n"
        }
        Terminal.out(line)
    }
}
