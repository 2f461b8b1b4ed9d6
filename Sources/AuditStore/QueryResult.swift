import Foundation
import AuditCore

/// Rows of a query with their column names.
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[SQLValue]]

    public init(columns: [String], rows: [[SQLValue]]) { self.columns = columns; self.rows = rows }
}

/// Output formats of `query`, `search` and friends.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, csv, json, ndjson, markdown
}

extension SQLValue {
    /// Text for tables and CSV: NULL as empty.
    public var displayText: String {
        switch self {
        case .null: return ""
        case .integer(let i): return String(i)
        case .real(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .text(let s): return s
        case .blob(let b): return "<\(b.count) bytes>"
        }
    }

    var json: JSONValue {
        switch self {
        case .null: return .null
        case .integer(let i): return .number(String(i))
        case .real(let d): return d.isFinite ? .number(String(d)) : .null
        case .text(let s): return .string(s)
        case .blob(let b): return .string("<\(b.count) bytes>")
        }
    }
}

extension QueryResult {
    /// Renders the result. `table` aligns columns (cells cut at `maxCellWidth`).
    public func render(_ format: OutputFormat, maxCellWidth: Int = 80, extra: [(String, JSONValue)] = []) -> String {
        switch format {
        case .table: return renderTable(maxCellWidth: maxCellWidth)
        case .csv: return CSV.line(columns) + rows.map { CSV.line($0.map(\.displayText)) }.joined()
        case .ndjson:
            return rows.map { row in JSONValue.object(JSONObject(zip(columns, row).map { ($0, $1.json) })).serialized + "\n" }.joined()
        case .json:
            let items = rows.map { row in JSONValue.object(JSONObject(zip(columns, row).map { ($0, $1.json) })) }
            var members: [(key: String, value: JSONValue)] = [("schema_version", .number("1")), ("columns", .array(columns.map { .string($0) }))]
            members += extra.map { (key: $0.0, value: $0.1) }
            members.append(("rows", .array(items)))
            return JSONValue.object(JSONObject(members)).serialized + "\n"
        case .markdown:
            func esc(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
            var out = "| " + columns.map(esc).joined(separator: " | ") + " |\n"
            out += "|" + columns.map { _ in " --- |" }.joined() + "\n"
            for row in rows { out += "| " + row.map { esc($0.displayText) }.joined(separator: " | ") + " |\n" }
            return out
        }
    }

    private func renderTable(maxCellWidth: Int) -> String {
        func cell(_ s: String) -> String {
            let flat = s.replacingOccurrences(of: "\n", with: " ")
            return flat.count > maxCellWidth ? String(flat.prefix(maxCellWidth - 1)) + "…" : flat
        }
        let header = columns.map(cell)
        let body = rows.map { $0.map { cell($0.displayText) } }
        var widths = header.map(\.count)
        for r in body { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String], numeric: [Bool]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return numeric[i] ? pad + c : c + pad
            }.joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }
        let numeric = columns.indices.map { i in !rows.isEmpty && rows.allSatisfy { r in if case .text = r[i] { return false } else { return true } } }
        var out = line(header, numeric: numeric)
        out += line(widths.map { String(repeating: "-", count: $0) }, numeric: numeric)
        for r in body { out += line(r, numeric: numeric) }
        out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n"
        return out
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

/// RFC 4180 CSV with formula-injection-safe cells.
public enum CSV {
    /// One CSV line (CRLF-terminated, as RFC 4180 says).
    public static func line(_ cells: [String]) -> String { cells.map(cell).joined(separator: ",") + "\r\n" }

    /// A cell: quoted when needed; a leading `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`
    /// so spreadsheets never evaluate it (OWASP CSV injection), unless the cell is a number.
    public static func cell(_ s: String) -> String {
        var v = s
        if let f = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(f), Double(v) == nil {
            v = "'" + v
        }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }
}
