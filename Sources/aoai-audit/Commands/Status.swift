import ArgumentParser
import AuditCore
import AuditStore
import Foundation

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the database holds, per data kind and per source.",
        discussion: """
            Counts are source records represented: a request inside a per-minute rollup still counts.

            Examples:
              aoai-audit status
              aoai-audit status --format json --db /var/lib/aoai-audit/audit.db
              aoai-audit status --config /etc/aoai-audit/aoai-audit.yaml   # configured sources too

            Per source: its checkpoints, last success, last error, lag (newest record vs the end of \
            the window fetched at the last run), and coverage: per scope (subscription, container, \
            feed, repository), the stretches of time fetched without a gap, how many windows they \
            took and how many came back empty. Time outside those stretches was never fetched. \
            With a config, sources configured but never run are listed too.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup var global: GlobalOptions

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    mutating func run() throws {
        let text: String = try userFacing {
            let (db, config) = try global.openDatabase(readOnly: true)
            let counts = try db.counts()
            let sources = StatusReport.merge(try db.sources(), configured: config?.sources ?? [])
            let now = TimeArgument.nowMicros()
            switch format {
            case .json: return StatusReport.json(path: db.path, counts: counts, sources: sources, now: now)
            case .table: return StatusReport.table(path: db.path, schema: db.schemaVersion, counts: counts, sources: sources, now: now)
            }
        }
        Terminal.out(text)
    }
}

enum StatusReport {
    static func json(path: String, counts c: StoreCounts, sources: [SourceStatus], now: Int64) -> String {
        func n(_ v: Int64) -> JSONValue { .number(String(v)) }
        func t(_ v: Int64?) -> JSONValue { v.map { .string(Timestamp.iso($0)) } ?? .null }
        let abs = URL(fileURLWithPath: path).standardizedFileURL.path
        let doc: JSONValue = .object(JSONObject([
            ("schema_version", .number("1")),
            ("database", .string(abs)),
            ("counts", .object(JSONObject([
                ("activity", n(c.activity)), ("requests", n(c.requests)), ("request_failures", n(c.requestFailures)),
                ("changes", n(c.changes)), ("vendor_incidents", n(c.vendorIncidents)), ("quarantined", n(c.quarantined)),
            ]))),
            ("sources", .array(sources.map { s in
                .object(JSONObject([
                    ("name", .string(s.name)), ("type", .string(s.type)),
                    ("checkpoint", s.latestCheckpoint.map { .string(Redactor.redact($0)) } ?? .null),
                    ("last_success", t(s.lastSuccessUs)), ("last_run", t(s.lastRunUs)),
                    ("last_error", s.lastError.map { .string($0) } ?? .null),
                    ("lag_seconds", lagSeconds(s, now: now).map { .number(String($0)) } ?? .null),
                    ("records", n(s.records)), ("checkpoints", .number(String(s.checkpoints))),
                    ("cursors", .object(JSONObject(s.cursors.sorted { $0.key < $1.key }.map { ($0.key, .string(Redactor.redact($0.value))) }))),
                    ("coverage", .array(s.coverage.map { c in
                        .object(JSONObject([
                            ("scope", .string(c.scope)), ("from", .string(Timestamp.iso(c.fromUs))), ("to", .string(Timestamp.iso(c.toUs))),
                            ("windows", .number(String(c.windows))), ("empty_windows", .number(String(c.emptyWindows))), ("records", n(c.records)),
                        ]))
                    })),
                ]))
            })),
        ]))
        return doc.serialized + "\n"
    }

    static func table(path: String, schema: Int, counts c: StoreCounts, sources: [SourceStatus], now: Int64) -> String {
        var out = "database  \(URL(fileURLWithPath: path).standardizedFileURL.path) (schema \(schema))\n\n"
        let rows: [(String, Int64, String)] = [
            ("activity", c.activity, "Activity Log events, every category"),
            ("requests", c.requests, "Azure OpenAI requests (rolled up per minute)"),
            ("request_failures", c.requestFailures, "requests with status >= 400, kept whole"),
            ("changes", c.changes, "derived changes (keys, auth, roles, network, SDKs…)"),
            ("vendor_incidents", c.vendorIncidents, "status feed and ServiceHealth updates"),
            ("quarantined", c.quarantined, "records that could not be loaded"),
        ]
        let w = rows.map { String($0.1).count }.max() ?? 1
        for (name, v, note) in rows {
            let num = String(v)
            out += name.padding(toLength: 18, withPad: " ", startingAt: 0) + String(repeating: " ", count: w - num.count) + num + "  " + note + "\n"
        }
        out += "\nsources\n"
        if sources.isEmpty { out += "  (none yet: run `aoai-audit import` or `aoai-audit collect`)\n" }
        for s in sources {
            guard s.lastRunUs != nil || s.lastSuccessUs != nil || s.records > 0 || s.checkpoints > 0 else {
                out += "  \(s.name) [\(s.type)]: configured, never run (aoai-audit collect --source \(s.name))\n"
                continue
            }
            let ok = s.lastSuccessUs.map { "last success \(Timestamp.isoSeconds($0)) (\(ago(now - $0)) ago)" } ?? "never succeeded"
            let lag = s.lagUs.map { ", lag \(ago($0))" } ?? ""
            out += "  \(s.name) [\(s.type)]: \(ok), \(s.records) records, \(s.checkpoints) checkpoints\(lag)\n"
            if let e = s.lastError { out += "    last error: \(e)\n" }
            // A blob source holds one cursor per blob: show the last few (newest hours sort
            // last), and say how many more JSON lists.
            let cursors = s.cursors.sorted(by: { $0.key < $1.key })
            let shown = 4
            if cursors.count > shown { out += "    … \(cursors.count - shown) more checkpoints (status --format json lists them all)\n" }
            for (k, v) in cursors.suffix(shown) {
                out += "    checkpoint \(k.prefixForDisplay(140)) = \(Redactor.redact(v).prefixForDisplay(100))\n"
            }
            for c in s.coverage {
                out += "    covered \(c.scope): \(Timestamp.isoSeconds(c.fromUs)) – \(Timestamp.isoSeconds(c.toUs)), \(c.windows) window\(c.windows == 1 ? "" : "s") (\(c.emptyWindows) empty), \(c.records) records\n"
            }
        }
        return out
    }

    /// The lag recorded by the last collector run; for sources without one (`import`), the
    /// time since the last success.
    static func lagSeconds(_ s: SourceStatus, now: Int64) -> Int64? {
        if let lag = s.lagUs { return lag / 1_000_000 }
        return s.lastSuccessUs.map { (now - $0) / 1_000_000 }
    }

    /// Sources in the database, plus those configured but never run (empty state), by name.
    static func merge(_ stored: [SourceStatus], configured: [SourceConfig]) -> [SourceStatus] {
        var out = stored
        for c in configured where !stored.contains(where: { $0.name == c.name }) {
            out.append(SourceStatus(neverRun: c.name, type: c.type))
        }
        return out.sorted { $0.name < $1.name }
    }

    static func ago(_ us: Int64) -> String {
        let s = us / 1_000_000
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
