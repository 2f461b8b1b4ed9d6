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

    @Test func ndjsonIsOneObjectPerLineWithTypedValues() throws {
        #expect(try encode(.ndjson) == #"{"time":"=HYPERLINK(\"http://x\")","n":-5,"t":"-5","c":"a,b","z":null,"l":"line\nnext","at":"@SUM(1)","r":1.5}"# + "\n")
    }
}
