import ArgumentParser
import AuditCore
import AuditStore
import Foundation

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Full-text search over events, failures, changes and incidents, newest first.",
        discussion: """
            Every word must match (quotes, hyphens, colons and GUIDs are taken literally); end a word \
            with * for a prefix match. Matches are [bracketed] in the snippet.

            Examples:
              aoai-audit search regenerateKey
              aoai-audit search "PermissionDenied aoai-eval" --kind request --since 7d
              aoai-audit search "Azure OpenAI" --kind incident --format json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Words to look for.")
    var text: [String]

    @Option(help: ArgumentHelp("Only this kind: activity, request, change, incident or probe (repeatable).", valueName: "kind"))
    var kind: [String] = []

    @Option(help: ArgumentHelp("From this time (inclusive): ISO date/time or duration like 7d.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Until this time (exclusive).", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Only this resource (ARM id or account name).", valueName: "R"))
    var resource: String?

    @Option(help: "Most hits to show.")
    var limit = 20

    @Option(help: "Output format: table, csv, json, ndjson or markdown.")
    var format: OutputFormat?

    func validate() throws {
        for k in kind where !SearchKind.all.contains(k) {
            throw ValidationError("--kind '\(k)' is not one of \(SearchKind.all.joined(separator: ", "))")
        }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    mutating func run() throws {
        let output: String = try userFacing {
            let (db, _) = try global.openDatabase(readOnly: true)
            var req = SearchRequest(text: text.joined(separator: " "))
            req.kinds = kind
            req.sinceUs = try parseTime(since, name: "since")
            req.untilUs = try parseTime(until, name: "until")
            req.resource = resource
            req.limit = limit
            let hits = try db.search(req)
            let fmt = format ?? (Terminal.stdoutIsTTY ? .table : .csv)
            let result = QueryResult(
                columns: ["time", "kind", "id", "resource", "title", "snippet"],
                rows: hits.map { [.text(Timestamp.iso($0.timeUs)), .text($0.kind), .integer($0.refID), .text($0.resource), .text($0.title), .text($0.snippet)] })
            if fmt == .table && hits.isEmpty { return "no matches\n" }
            return result.render(fmt, maxCellWidth: 60, extra: [("query", .string(req.text))])
        }
        Terminal.out(output)
    }
}
