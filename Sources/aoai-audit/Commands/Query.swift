import ArgumentParser
import AuditCore
import AuditStore
import Foundation

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a named query or ad-hoc SQL on a read-only connection.",
        discussion: """
            Named queries live in queries/*.sql (built in) and in the folders of `queries_dirs` \
            (config) or --queries-dir; a user query with a built-in's name shadows it. Times in the \
            tables are integer UTC microseconds; iso_time(us) and iso_minute(us) format them.

            Examples:
              aoai-audit query --list
              aoai-audit query auth_failures_by_hour --param since=2026-09-14 --param until=2026-09-15
              aoai-audit query changes_before --param at=2026-09-14T05:52:00Z --param hours=6 --format markdown
              aoai-audit query --sql "SELECT kind, count(*) FROM changes GROUP BY kind" --format csv
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Name of the query (see --list).")
    var name: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter as k=v (repeatable).", valueName: "k=v"))
    var params: [String] = []

    @Option(help: ArgumentHelp("Ad-hoc SQL (read-only).", valueName: "sql"))
    var sql: String?

    @Flag(help: "List the named queries.")
    var list = false

    @Option(help: "Output format: table, csv, json, ndjson or markdown (default: table on a terminal, csv otherwise).")
    var format: OutputFormat?

    @Option(help: ArgumentHelp("Also read named queries from this folder (repeatable).", valueName: "dir"))
    var queriesDir: [String] = []

    @Option(help: ArgumentHelp("Shorthand for --param resource=R (an ARM id or an account name).", valueName: "R"))
    var resource: String?

    func validate() throws {
        if !list && name == nil && sql == nil { throw ValidationError("give a query name, --sql or --list") }
        if name != nil && sql != nil { throw ValidationError("give either a query name or --sql, not both") }
        for p in params where !p.contains("=") { throw ValidationError("--param '\(p)' must be k=v") }
    }

    mutating func run() throws {
        let output: String = try userFacing {
            let config = try global.loadConfig()
            let catalog = try QueryCatalog(extraDirectories: (config?.queriesDirs ?? []) + queriesDir)
            if list { return Self.listing(catalog) }
            let db = try Database(path: global.databasePath(config), readOnly: true)
            let fmt = format ?? (Terminal.stdoutIsTTY ? .table : .csv)
            if let sql {
                return try db.run(sql: sql).render(fmt)
            }
            let q = try catalog.query(named: name ?? "")
            var given: [String: String] = [:]
            for p in params {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                given[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
            if let resource { given["resource"] = resource }
            let bindings = try q.bindings(given, now: TimeArgument.nowMicros())
            return try db.run(sql: q.sql, bindings: bindings).render(fmt, extra: [("query", .string(q.name))])
        }
        Terminal.out(output)
    }

    static func listing(_ c: QueryCatalog) -> String {
        var out = ""
        for q in c.queries {
            out += q.name + (q.origin == "built-in" ? "" : "  (\(q.origin)\(c.shadowed.contains(q.name) ? ", shadows the built-in" : ""))") + "\n"
            if !q.description.isEmpty { out += "    \(q.description)\n" }
            for p in q.params {
                out += "    --param \(p.name)=<\(p.type)>" + (p.defaultValue.map { " (default \($0))" } ?? "") + (p.description.isEmpty ? "" : "  \(p.description)") + "\n"
            }
        }
        return out
    }
}
