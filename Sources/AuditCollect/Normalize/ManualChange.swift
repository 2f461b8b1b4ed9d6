import AuditCore

/// A change the logs cannot see, recorded by hand (`aoai-audit mark`); correlation weighs it
/// as `manual_change`.
public enum ManualChange {
    /// The `--kind` values (contracts.md spelling).
    public static let kinds = ["deploy", "sdk-bump", "config-change", "other"]

    /// Builds the change record. The same mark given twice is one change.
    public static func make(kind: String, atUs: Int64, app: String?, resource: String?, note: String, author: String?) -> ChangeRecord {
        let res = resource.map(ResourceID.argument) ?? ""
        let what = [app.map { "app \($0)" }, res.isEmpty ? nil : ResourceID(res).shortName].compactMap { $0 }.joined(separator: ", ")
        let summary = Redactor.redact("\(kind)" + (what.isEmpty ? "" : " (\(what))") + ": \(note)")
        var detail: [(key: String, value: JSONValue)] = [("mark_kind", .string(kind)), ("note", .string(Redactor.redact(note)))]
        if let app { detail.append(("app", .string(app))) }
        let key = "manual:" + StableHash.hex(kind, String(atUs), app ?? "", res, note)
        return ChangeRecord(dedupeKey: key, timeUs: atUs, kind: ChangeKind.manual, resourceId: res, actor: author, summary: summary,
                            detail: JSONValue.object(JSONObject(detail)).serialized, sourceKind: "manual", sourceId: key, correlationId: nil, app: app)
    }
}
