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

    /// Appends the current row of `statement` to `out` as bytes. The CSV path reads SQLite's
    /// own buffers and copies each cell once (the export's hot loop: millions of rows).
    public func encode(_ statement: Statement, into out: inout [UInt8]) {
        guard format == .csv else {
            var s = ""
            encode(statement, into: &s)
            out.append(contentsOf: s.utf8)
            return
        }
        for i in 0..<columns.count {
            if i > 0 { out.append(0x2C) }
            switch statement.columnType(at: i) {
            case .null: break
            case .integer where i == 0: Self.appendISO(statement.int64(at: 0), to: &out)
            case .integer: Self.appendInteger(statement.int64(at: i), to: &out)
            case .real: out.append(contentsOf: SQLValue.real(statement.double(at: i)).displayText.utf8)
            case .text: statement.withTextBytes(at: i) { Self.appendCell($0, to: &out) }
            case .blob: out.append(contentsOf: "<blob>".utf8)
            }
        }
        out.append(0x0D)
        out.append(0x0A)
    }

    /// The `time` column (integer UTC microseconds) as `2026-11-23T04:05:06.123456Z`.
    @inline(__always) static func appendISO(_ us: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: Timestamp.iso(us).utf8)
    }

    /// Decimal digits of `v` (a small string: no allocation).
    @inline(__always) static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
    }

    /// One CSV cell from UTF-8 bytes, with the same rules as `CSV.cell`: a formula-looking
    /// text (leading `=`, `+`, `-`, `@`, tab, CR) that is not a number gets a leading `'`;
    /// a cell holding `,` `"` CR or LF is quoted with quotes doubled.
    @inline(__always) static func appendCell(_ b: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        guard let first = b.first else { return }
        let formula = (first == 0x3D || first == 0x2B || first == 0x2D || first == 0x40 || first == 0x09 || first == 0x0D) && !looksNumeric(b)
        var needsQuotes = false
        for c in b where c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D { needsQuotes = true; break }
        if !needsQuotes {
            if formula { out.append(0x27) }
            out.append(contentsOf: b)
            return
        }
        out.append(0x22)
        if formula { out.append(0x27) }
        for c in b {
            if c == 0x22 { out.append(0x22) }
            out.append(c)
        }
        out.append(0x22)
    }

    /// True for text that `Double(_:)` would accept as a plain decimal number.
    static func looksNumeric(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count <= 64 else { return false }
        return Double(String(decoding: b, as: UTF8.self)) != nil
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
                case .integer(let v) where i == 0: JSONValue.writeString(Timestamp.iso(v), to: &out)
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
