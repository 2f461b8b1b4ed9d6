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
    /// The last `time` value written and its text: consecutive rows mostly share a time (a
    /// rollup has one row per minute and dimension), so most rows copy 27 bytes instead of
    /// formatting a date.
    private let lastTime = TimeText()

    private final class TimeText {
        var us: Int64 = .min
        var text: [UInt8] = []
    }

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
    /// - Returns: the `time` cell (the first column) when it is an integer (UTC microseconds),
    ///   so that the caller need not read it again.
    @discardableResult
    public func encode(_ statement: Statement, into out: inout [UInt8]) -> Int64? {
        guard format == .csv else {
            var s = ""
            encode(statement, into: &s)
            out.append(contentsOf: s.utf8)
            return statement.columnType(at: 0) == .integer ? statement.int64(at: 0) : nil
        }
        var time: Int64?
        for i in 0..<columns.count {
            if i > 0 { out.append(0x2C) }
            switch statement.columnType(at: i) {
            case .null: break
            case .integer where i == 0:
                let t = statement.int64(at: 0)
                time = t
                appendTime(t, to: &out)
            case .integer: Self.appendInteger(statement.int64(at: i), to: &out)
            case .real: out.append(contentsOf: SQLValue.real(statement.double(at: i)).displayText.utf8)
            case .text: statement.withTextBytes(at: i) { Self.appendCell($0, to: &out) }
            case .blob: out.append(contentsOf: "<blob>".utf8)
            }
        }
        out.append(0x0D)
        out.append(0x0A)
        return time
    }

    /// The `time` column (integer UTC microseconds) as `2026-11-23T04:05:06.123456Z`.
    @inline(__always) func appendTime(_ us: Int64, to out: inout [UInt8]) {
        let last = lastTime
        if us != last.us {
            last.us = us
            last.text = Array(Timestamp.iso(us).utf8)
        }
        out.append(contentsOf: last.text)
    }

    /// Decimal digits of `v`, written in place (no string).
    @inline(__always) static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(0x2D) }
        var m = v.magnitude
        if m < 10 {
            out.append(UInt8(truncatingIfNeeded: m) &+ 0x30)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, least significant first
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while m > 0 {
                d[n] = UInt8(truncatingIfNeeded: m % 10) &+ 0x30
                m /= 10
                n += 1
            }
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }

    /// One CSV cell from UTF-8 bytes, with the same rules as `CSV.cell`: a formula-looking
    /// text (leading `=`, `+`, `-`, `@`, tab, CR) that is not a number gets a leading `'`;
    /// a cell holding `,` `"` CR or LF is quoted with quotes doubled.
    @inline(__always) static func appendCell(_ b: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        guard let first = b.first else { return }
        let formula = (first == 0x3D || first == 0x2B || first == 0x2D || first == 0x40 || first == 0x09 || first == 0x0D) && !looksNumeric(b)
        if !needsQuotes(b) {
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

    /// True when `b` holds `,` `"` LF or CR. Eight bytes at a time: a byte of `v` equals `c`
    /// exactly when `v ^ c·0x0101…01` has a zero byte, and `(x − 0x0101…01) & ~x & 0x8080…80` is
    /// non-zero exactly when `x` has a zero byte.
    @inline(__always) static func needsQuotes(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        var i = 0
        if n >= 8, let base = b.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
            @inline(__always) func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & high != 0 }
            while i + 8 <= n {
                let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if hasZero(v ^ (0x2C &* ones)) || hasZero(v ^ (0x22 &* ones)) || hasZero(v ^ (0x0A &* ones)) || hasZero(v ^ (0x0D &* ones)) { return true }
                i += 8
            }
        }
        while i < n {
            let c = b[i]
            if c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D { return true }
            i += 1
        }
        return false
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
