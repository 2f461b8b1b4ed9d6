import AuditExport
import AuditTestSupport
import Foundation
import Testing

@Suite struct GzipWriterTests {
    @Test func outputIsValidGzipThatRoundTrips() throws {
        let dir = TestSupport.makeTempDirectory()
        let path = dir.appendingPathComponent("x.csv.gz").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let h = try #require(FileHandle(forWritingAtPath: path))
        var text = ""
        for i in 0..<50_000 { text += "row \(i),value \(i * 7)\r\n" }
        let w = try GzipWriter { h.write(Data($0)) }
        for chunk in stride(from: 0, to: text.utf8.count, by: 10_000) {
            try w.write(Array(Array(text.utf8)[chunk..<min(text.utf8.count, chunk + 10_000)]))
        }
        try w.finish()
        try h.close()
        let check = try TestSupport.run("/bin/sh", ["-c", "gzip -t '\(path)' && gzip -dc '\(path)' | wc -c"])
        #expect(check.status == 0)
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(text.utf8.count))
    }

    @Test func repeatedLifecyclesDoNotCorruptState() throws {
        for _ in 0..<200 {
            var total = 0
            let w = try GzipWriter(level: 1) { total += $0.count }
            try w.write("hello, gzip")
            try w.finish()
            #expect(total > 20)
            #expect(throws: ExportError.self) { try w.write("after finish") }
        }
    }
}
