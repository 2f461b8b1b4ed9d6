import AuditCore

/// The manifest written beside each data file as `<data file name>.manifest.json`.
///
/// ```json
/// {"schema_version": 1, "dataset": "changes", "dataset_schema_version": 1, "file": "changes_….csv.gz",
///  "format": "csv", "compression": "gzip", "columns": ["time", …], "rows": 42, "bytes": 1234,
///  "sha256": "…", "min_event_time": "…Z", "max_event_time": "…Z", "late_rows": 0,
///  "mode": "incremental", "window": {"from": "…Z", "to": "…Z"},
///  "watermark": {"from": {"time": "…Z", "sequence": 10}, "to": {"time": "…Z", "sequence": 52}},
///  "tool_version": "0.1.0", "created": "…Z"}
/// ```
/// `watermark` is null for an explicit `--since/--until` export (which moves no watermark).
public struct ExportManifest: Sendable, Equatable {
    public var dataset: String
    public var datasetSchemaVersion: Int
    public var file: String
    public var format: ExportFormat
    public var compression: ExportCompression
    public var columns: [String]
    public var rows: Int64
    public var bytes: Int64
    public var sha256: String
    public var minEventTime: String?
    public var maxEventTime: String?
    /// Rows whose event time is before the window: loaded after the previous export.
    public var lateRows: Int64
    public var windowFromUs: Int64
    public var windowToUs: Int64
    public var watermarkFrom: ExportWatermark?
    public var watermarkTo: ExportWatermark?
    public var toolVersion: String
    public var createdUs: Int64

    public var isIncremental: Bool { watermarkTo != nil }

    /// The manifest as one line of JSON.
    public var json: String {
        func mark(_ w: ExportWatermark?) -> JSONValue {
            guard let w else { return .null }
            return .object(JSONObject([("time", .string(Timestamp.iso(w.toUs))), ("time_us", .number(String(w.toUs))), ("sequence", w.sequence.map { .number(String($0)) } ?? .null)]))
        }
        let watermark: JSONValue = isIncremental ? .object(JSONObject([("from", mark(watermarkFrom)), ("to", mark(watermarkTo))])) : .null
        let members: [(key: String, value: JSONValue)] = [
            ("schema_version", .number("1")),
            ("dataset", .string(dataset)),
            ("dataset_schema_version", .number(String(datasetSchemaVersion))),
            ("file", .string(file)),
            ("format", .string(format.rawValue)),
            ("compression", .string(compression.rawValue)),
            ("columns", .array(columns.map { .string($0) })),
            ("rows", .number(String(rows))),
            ("bytes", .number(String(bytes))),
            ("sha256", .string(sha256)),
            ("min_event_time", minEventTime.map { .string($0) } ?? .null),
            ("max_event_time", maxEventTime.map { .string($0) } ?? .null),
            ("late_rows", .number(String(lateRows))),
            ("mode", .string(isIncremental ? "incremental" : "window")),
            ("window", .object(JSONObject([("from", .string(Timestamp.iso(windowFromUs))), ("to", .string(Timestamp.iso(windowToUs))),
                                           ("from_us", .number(String(windowFromUs))), ("to_us", .number(String(windowToUs)))]))),
            ("watermark", watermark),
            ("tool_version", .string(toolVersion)),
            ("created", .string(Timestamp.iso(createdUs))),
        ]
        return JSONValue.object(JSONObject(members)).serialized + "\n"
    }

    /// Reads a manifest written by `json`.
    public static func parse(_ text: String) -> ExportManifest? {
        guard let v = try? JSONParser.parse(text), v["schema_version"]?.int64 == 1,
              let dataset = v["dataset"]?.text, let file = v["file"]?.text,
              let format = v["format"]?.text.flatMap(ExportFormat.init(rawValue:)),
              let compression = v["compression"]?.text.flatMap(ExportCompression.init(rawValue:)),
              let window = v["window"], let from = window["from_us"]?.int64, let to = window["to_us"]?.int64 else { return nil }
        func mark(_ m: JSONValue?) -> ExportWatermark? {
            guard let m, !m.isNull, let t = m["time_us"]?.int64 else { return nil }
            return ExportWatermark(toUs: t, sequence: m["sequence"].flatMap { $0.isNull ? nil : $0.int64 })
        }
        return ExportManifest(
            dataset: dataset, datasetSchemaVersion: Int(v["dataset_schema_version"]?.int64 ?? 1), file: file, format: format,
            compression: compression, columns: v["columns"]?.arrayValue?.compactMap(\.text) ?? [], rows: v["rows"]?.int64 ?? 0,
            bytes: v["bytes"]?.int64 ?? 0, sha256: v["sha256"]?.text ?? "", minEventTime: v["min_event_time"]?.text,
            maxEventTime: v["max_event_time"]?.text, lateRows: v["late_rows"]?.int64 ?? 0, windowFromUs: from, windowToUs: to,
            watermarkFrom: mark(v["watermark"]?["from"]), watermarkTo: mark(v["watermark"]?["to"]),
            toolVersion: v["tool_version"]?.text ?? "", createdUs: v["created"]?.text.flatMap(Timestamp.parse) ?? 0)
    }
}

/// Where a dataset's incremental exports stand: every row with event time before `toUs` and
/// insertion sequence at most `sequence` has been published (checkpoints table, source
/// `export`, key `dataset:<name>`).
public struct ExportWatermark: Sendable, Equatable {
    public var toUs: Int64
    /// The highest insertion sequence covered; nil for datasets without one (request_rollup).
    public var sequence: Int64?

    public init(toUs: Int64, sequence: Int64?) {
        self.toUs = toUs
        self.sequence = sequence
    }

    /// The checkpoint value: `{"to":"…Z","to_us":N,"sequence":M}`.
    public var text: String {
        JSONValue.object(JSONObject([("to", .string(Timestamp.iso(toUs))), ("to_us", .number(String(toUs))),
                                     ("sequence", sequence.map { .number(String($0)) } ?? .null)])).serialized
    }

    public init?(text: String) {
        guard let v = try? JSONParser.parse(text), let t = v["to_us"]?.int64 else { return nil }
        toUs = t
        sequence = v["sequence"].flatMap { $0.isNull ? nil : $0.int64 }
    }
}
