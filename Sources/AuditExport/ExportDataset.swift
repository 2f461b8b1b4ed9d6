import AuditCore
import AuditSQL

/// One export dataset: a documented query over the store with a stable, explicit column list
/// (`exports/<name>.export.sql`).
///
/// The header comment declares what the exporter needs:
/// ```sql
/// -- name: changes
/// -- description: Derived changes that can break authentication.
/// -- schema_version: 1
/// -- table: changes              (the table whose rows the dataset exports)
/// -- time_column: time_us        (event time in µs; the first output column `time` formats it)
/// -- sequence_column: id         (optional: a value that only grows as rows are inserted)
/// -- settle: 5m                  (incremental exports stop this long before now)
/// ```
/// The query takes `:from`/`:to` (event time, `to` exclusive) and, with a sequence column,
/// `:seq_from`/`:seq_to` (`seq_from` exclusive, `seq_to` inclusive).
public struct ExportDataset: Sendable, Equatable {
    public var name: String
    public var description: String
    /// The dataset's own schema version: a new column goes at the end and bumps it.
    public var schemaVersion: Int
    public var table: String
    public var timeColumn: String
    /// The insertion-sequence column, or nil when the table has none (request_rollup).
    public var sequenceColumn: String?
    /// How far behind now an incremental export stops, in microseconds.
    public var settleUs: Int64
    public var sql: String

    /// Parses a dataset file; `fallbackName` is the file name without `.export.sql`.
    public static func parse(_ sql: String, fallbackName: String) throws(ExportError) -> ExportDataset {
        var fields: [String: String] = [:]
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingSpaces
            guard t.hasPrefix("--") else { if t.isEmpty { continue } else { break } }
            let body = t.dropFirst(2).trimmingSpaces
            guard let colon = body.firstIndex(of: ":") else { continue }
            let key = String(body[..<colon]).trimmingSpaces
            guard !key.contains(" "), fields[key] == nil else { continue }
            fields[key] = String(body[body.index(after: colon)...]).trimmingSpaces
        }
        let name = fields["name"].flatMap { $0.isEmpty ? nil : $0 } ?? fallbackName
        func need(_ key: String) throws(ExportError) -> String {
            guard let v = fields[key], !v.isEmpty else { throw .badDataset(name: name, message: "the header lacks `-- \(key):`") }
            return v
        }
        guard let version = Int(try need("schema_version")), version > 0 else {
            throw .badDataset(name: name, message: "`-- schema_version:` must be a positive integer")
        }
        let settleText = fields["settle"] ?? "5m"
        guard let settle = TimeArgument.parse(settleText, now: 0).map({ -$0 }), settle >= 0, settleText.last?.isLetter == true else {
            throw .badDataset(name: name, message: "`-- settle:` must be a duration such as 5m or 3h")
        }
        let sequence = fields["sequence_column"].flatMap { $0.isEmpty ? nil : $0 }
        let dataset = ExportDataset(
            name: name, description: fields["description"] ?? "", schemaVersion: version, table: try need("table"),
            timeColumn: try need("time_column"), sequenceColumn: sequence, settleUs: settle, sql: sql)
        for identifier in [dataset.table, dataset.timeColumn] + (sequence.map { [$0] } ?? []) where !Self.isIdentifier(identifier) {
            throw .badDataset(name: name, message: "'\(identifier)' is not a plain SQL identifier")
        }
        for p in [":from", ":to"] + (sequence == nil ? [] : [":seq_from", ":seq_to"]) where !sql.contains(p) {
            throw .badDataset(name: name, message: "the query does not use \(p)")
        }
        return dataset
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}

/// The built-in export datasets (`exports/*.export.sql`), in name order.
public struct ExportCatalog: Sendable {
    public var datasets: [ExportDataset]

    /// Parses every embedded dataset file.
    /// - Throws: `ExportError.badDataset` when a file's header is incomplete.
    public init() throws(ExportError) {
        var list: [ExportDataset] = []
        for (file, sql) in SQLFiles.exports {
            list.append(try ExportDataset.parse(sql, fallbackName: String(file.dropLast(".export.sql".count))))
        }
        datasets = list.sorted { $0.name < $1.name }
    }

    public var names: [String] { datasets.map(\.name) }

    /// The datasets named (all of them when `names` is empty), in catalog order.
    /// - Throws: `ExportError.unknownDataset` naming the valid datasets.
    public func select(_ names: [String]) throws(ExportError) -> [ExportDataset] {
        if names.isEmpty { return datasets }
        for n in names where !datasets.contains(where: { $0.name == n }) {
            throw .unknownDataset(name: n, available: self.names)
        }
        return datasets.filter { names.contains($0.name) }
    }
}
