/// `truth.json` of a planted scenario, in scenario-1's format (its keys, key order, one-space
/// indentation and 7-digit fractional times):
///
/// ```text
/// seed, start, end, diagnostics_records, activity_events,
/// accounts: [ARM id],
/// apps: [{name, resource_id, entra, object_id, ip}],
/// bursts: [{kind, resource_id, start, evidence, (caller | app, package, old, new | fleet), correlation_ids}]
/// ```
///
/// One entry per burst and account, ordered by `start`, the time of its first failed request
/// (exactly a record's `time`). A vendor incident has one entry per account of its region, each
/// with `fleet: true` and the Service Health event of that account's subscription as evidence.
struct PlantedTruth {
    /// A JSON value, written the way Python's `json.dumps(indent=1)` writes it.
    indirect enum Value {
        case string(String)
        case int(Int64)
        case unsigned(UInt64)
        case bool(Bool)
        case array([Value])
        case object([(String, Value)])
    }

    let root: Value
    let burstCount: Int

    init(
        seed: UInt64, plan: PlantedPlan, activity: PlantedActivity, commits: [Int: String], diagnosticsRecords: Int,
        activityEvents: Int
    ) {
        let estate = plan.estate
        var entries: [(start: Int64, value: Value)] = []
        for (i, b) in plan.bursts.enumerated() {
            for a in b.accounts {
                guard let start = plan.firstFailure(burst: i, account: a) else { continue }
                var members: [(String, Value)] = [
                    ("kind", .string(b.kind.rawValue)),
                    ("resource_id", .string(estate.accounts[a].resourceId)),
                    ("start", .string(GeneratorBuffer.isoText(start))),
                ]
                var evidence: [Value] = []
                var correlations: [Value] = []
                switch b.kind {
                case .sdkBump:
                    if let commit = commits[i] {
                        evidence = [.string(commit)]
                        correlations = [.string("")]
                    }
                case .unexplained:
                    break
                default:
                    if let e = activity.evidence[i][a] {
                        evidence = [.string(e.eventDataId.text)]
                        correlations = [.string(e.correlationId.text)]
                    }
                }
                members.append(("evidence", .array(evidence)))
                switch b.kind {
                case .roleAssignmentRemoved:
                    members.append(("caller", .string(estate.apps[b.app!].objectId)))
                case .sdkBump:
                    members.append(("app", .string(estate.apps[b.app!].name)))
                    members.append(("package", .string("openai")))
                    members.append(("old", .string(b.oldPin)))
                    members.append(("new", .string(b.newPin)))
                case .vendorIncident:
                    members.append(("fleet", .bool(true)))
                default:
                    break
                }
                members.append(("correlation_ids", .array(correlations)))
                entries.append((start, .object(members)))
            }
        }
        entries.sort { $0.start < $1.start }
        burstCount = entries.count

        let apps: [Value] = estate.apps.map { app in
            .object([
                ("name", .string(app.name)),
                ("resource_id", .string(estate.accounts[app.account].resourceId)),
                ("entra", .bool(app.entra)),
                ("object_id", .string(app.objectId)),
                ("ip", .string(app.ip)),
            ])
        }
        root = .object([
            ("seed", .unsigned(seed)),
            ("start", .string(GeneratorBuffer.isoText(plan.windowStart))),
            ("end", .string(GeneratorBuffer.isoText(plan.windowEnd))),
            ("diagnostics_records", .int(Int64(diagnosticsRecords))),
            ("activity_events", .int(Int64(activityEvents))),
            ("accounts", .array(estate.accounts.map { .string($0.resourceId) })),
            ("apps", .array(apps)),
            ("bursts", .array(entries.map(\.value))),
        ])
    }

    /// The file's bytes (with a final newline).
    func render() -> GeneratorBuffer {
        var out = GeneratorBuffer(capacity: 16_384)
        Self.append(root, indent: 0, into: &out)
        out.raw("\n")
        return out
    }

    private static func append(_ value: Value, indent: Int, into out: inout GeneratorBuffer) {
        func newline(_ level: Int, _ out: inout GeneratorBuffer) {
            out.raw("\n")
            out.raw(String(repeating: " ", count: level))
        }
        switch value {
        case .string(let s): out.string(s)
        case .int(let n): out.int(n)
        case .unsigned(let n): out.raw(String(n))
        case .bool(let b): out.raw(b ? "true" : "false")
        case .array(let items):
            if items.isEmpty { out.raw("[]"); return }
            out.raw("[")
            for (k, item) in items.enumerated() {
                if k > 0 { out.raw(",") }
                newline(indent + 1, &out)
                append(item, indent: indent + 1, into: &out)
            }
            newline(indent, &out)
            out.raw("]")
        case .object(let members):
            if members.isEmpty { out.raw("{}"); return }
            out.raw("{")
            for (k, member) in members.enumerated() {
                if k > 0 { out.raw(",") }
                newline(indent + 1, &out)
                out.string(member.0)
                out.raw(": ")
                append(member.1, indent: indent + 1, into: &out)
            }
            newline(indent, &out)
            out.raw("}")
        }
    }
}
