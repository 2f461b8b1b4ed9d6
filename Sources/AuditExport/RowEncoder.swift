import AuditCore
import AuditStore

/// Turns result rows into CSV or NDJSON bytes.
///
/// CSV is RFC 4180: CRLF after every record, a field quoted when it holds `,` `"` CR or LF,
/// embedded quotes doubled, UTF-8 without BOM, a header row first. A text cell a spreadsheet
/// would evaluate (leading `=`, `+`, `-`, `@`, tab, CR) gets a leading `'` (`CSV.cell`); integer
/// and real cells are written as numbers and never prefixed. NULL is an empty field in CSV and
/// `null` in NDJSON. NDJSON writes one JSON object per line with the columns as keys, in order.
public struct RowEncoder {
    public let format: ExportFormat
    public let columns: [String]
    /// `"name":` per column, prebuilt for NDJSON.
    private let keys: [String]

    public init(format: ExportFormat, columns: [String]) {
        self.format = format
        self.columns = columns
        keys = columns.map { c in
            var s = ""
            JSONValue.writeString(c, to: &s)
            return s + ":"
        }
    }

    /// The header row (CSV) or nothing (NDJSON carries names in every line).
    public var header: String {
        format == .csv ? CSV.line(columns) : ""
    }

    /// Appends the current row of `statement` to `out`.
    public func encode(_ statement: Statement, into out: inout String) {
        switch format {
        case .csv:
            for i in 0..<columns.count {
                if i > 0 { out += "," }
                switch statement.value(at: i) {
                case .null: break
                case .integer(let v): out += String(v)
                case .real(let d): out += SQLValue.real(d).displayText
                case .text(let s): out += CSV.cell(s)
                case .blob(let b): out += "<\(b.count) bytes>"
                }
            }
            out += "\r\n"
        case .ndjson:
            out += "{"
            for i in 0..<columns.count {
                if i > 0 { out += "," }
                out += keys[i]
                switch statement.value(at: i) {
                case .null: out += "null"
                case .integer(let v): out += String(v)
                case .real(let d): out += d.isFinite ? String(d) : "null"
                case .text(let s): JSONValue.writeString(s, to: &out)
                case .blob(let b): JSONValue.writeString("<\(b.count) bytes>", to: &out)
                }
            }
            out += "}\n"
        }
    }
}
