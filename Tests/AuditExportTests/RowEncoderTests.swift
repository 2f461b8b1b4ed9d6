import AuditCore
import AuditExport
import AuditStore
import AuditTestSupport
import Foundation
import Testing

@Suite struct RowEncoderTests {
    func encode(_ format: ExportFormat) throws -> String {
        let db = try Database(path: TestSupport.makeTempDirectory().appendingPathComponent("a.db").path)
        let s = try db.connection.prepare("SELECT '=HYPERLINK(\"http://x\")' AS time, -5 AS n, '-5' AS t, 'a,b' AS c, NULL AS z, 'line\nnext' AS l, '@SUM(1)' AS at, 1.5 AS r", cached: false)
        let enc = RowEncoder(format: format, columns: s.columnNames)
        var out = enc.header
        #expect(try s.step())
        enc.encode(s, into: &out)
        return out
    }

    @Test func csvCellsAreRFC4180WithFormulasNeutralised() throws {
        #expect(try encode(.csv) == "time,n,t,c,z,l,at,r\r\n\"'=HYPERLINK(\"\"http://x\"\")\",-5,-5,\"a,b\",,\"line\nnext\",'@SUM(1),1.5\r\n")
    }

    func csvRows(_ sql: String) throws -> [String] {
        let db = try Database(path: TestSupport.makeTempDirectory().appendingPathComponent("a.db").path)
        let s = try db.connection.prepare(sql, cached: false)
        let enc = RowEncoder(format: .csv, columns: s.columnNames)
        var rows: [String] = []
        while try s.step() {
            var out: [UInt8] = []
            enc.encode(s, into: &out)
            rows.append(String(decoding: out, as: UTF8.self))
        }
        return rows
    }

    @Test func integersAreWrittenAsSwiftWritesThem() throws {
        let values: [Int64] = [0, -1, 9, 10, -10, 99, 100, 1_234_567_890, .max, .min]
        let rows = try csvRows("SELECT 'x' AS time, " + values.enumerated().map { "\($0.element) AS c\($0.offset)" }.joined(separator: ", "))
        #expect(rows == ["x," + values.map { String($0) }.joined(separator: ",") + "\r\n"])
    }

    /// Quoting is decided eight bytes at a time: each special byte at every position of a long
    /// cell (whole words and the tail), and long cells without any, in UTF-8 too.
    @Test func longCellsAreQuotedExactlyWhenTheyHoldASpecialByte() throws {
        let plain = "/subscriptions/sub0/resourcegroups/rg0/providers/microsoft.cognitiveservices/accounts/é-ü-aoai"
        #expect(try csvRows("SELECT 'x' AS time, '\(plain)' AS c") == ["x,\(plain)\r\n"])
        for special in [",", "\"", "\n", "\r"] {
            for at in 0..<19 {
                var cell = Array("abcdefghijklmnopqrs")
                cell[at] = Character(special)
                let text = String(cell)
                let sqlText = text.replacingOccurrences(of: "'", with: "''")
                let row = try csvRows("SELECT 'x' AS time, '\(sqlText)' AS c").first
                #expect(row == "x," + CSV.cell(text) + "\r\n", "special \(special.debugDescription) at \(at)")
                #expect(row?.hasPrefix("x,\"") == true)
            }
        }
    }

    /// The `time` text is cached between rows: rows that share a time and rows that do not.
    @Test func integerTimesAreISOTextRowAfterRow() throws {
        let t0: Int64 = 1_788_220_800_000_000
        let rows = try csvRows("SELECT column1 AS time, column2 AS n FROM (VALUES (\(t0), 1), (\(t0), 2), (\(t0 + 60_000_000), 3), (\(t0 + 123_456), 4), (\(t0), 5))")
        #expect(rows == ["2026-09-01T00:00:00.000000Z,1\r\n", "2026-09-01T00:00:00.000000Z,2\r\n", "2026-09-01T00:01:00.000000Z,3\r\n",
                         "2026-09-01T00:00:00.123456Z,4\r\n", "2026-09-01T00:00:00.000000Z,5\r\n"])
    }

    @Test func ndjsonIsOneObjectPerLineWithTypedValues() throws {
        #expect(try encode(.ndjson) == #"{"time":"=HYPERLINK(\"http://x\")","n":-5,"t":"-5","c":"a,b","z":null,"l":"line\nnext","at":"@SUM(1)","r":1.5}"# + "\n")
    }
}
