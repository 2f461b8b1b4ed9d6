import AuditCore
import AuditTestSupport
import Foundation
import Testing

@Suite struct InputStreamTests {
    func lines(_ path: String, max: Int = 1 << 20) throws -> [SplitItem] {
        let splitter = LineSplitter(reader: try ChunkReader(path: path, chunkSize: 7), maxRecordBytes: max)
        var out: [SplitItem] = []
        while let i = try splitter.next() { out.append(i) }
        return out
    }

    func texts(_ items: [SplitItem]) -> [String] {
        items.compactMap { if case .record(let r) = $0 { return String(decoding: r.bytes, as: UTF8.self) } else { return nil } }
    }

    @Test func splitsLinesAcrossTinyChunksWithCRLFAndNoTrailingNewline() throws {
        let dir = TestSupport.makeTempDirectory()
        let p = try TestSupport.write("{\"a\":1}\r\n\n  \n{\"b\":22}\n{\"c\":333}", to: dir, name: "x.json")
        let items = try lines(p)
        #expect(texts(items) == ["{\"a\":1}", "{\"b\":22}", "{\"c\":333}"])
        if case .record(let r) = items[1] { #expect(r.line == 4) }
        if case .record(let r) = items[2] { #expect(r.line == 5); #expect(r.offset == 22) }
    }

    @Test func oversizedLineIsSkippedWithoutBufferingAndTheNextOneStillLoads() throws {
        let dir = TestSupport.makeTempDirectory()
        let big = "{\"x\":\"" + String(repeating: "a", count: 5000) + "\"}"
        let p = try TestSupport.write("{\"a\":1}\n\(big)\n{\"b\":2}\n", to: dir, name: "x.json")
        let items = try lines(p, max: 1000)
        #expect(texts(items) == ["{\"a\":1}", "{\"b\":2}"])
        guard case .oversized(let line, _, let length, let head) = items[1] else { Issue.record("expected oversized"); return }
        #expect(line == 2)
        #expect(length == Int64(big.utf8.count))
        #expect(head.count <= 256)
    }

    @Test func readsGzipTransparentlyAndReportsTruncation() throws {
        let dir = TestSupport.makeTempDirectory()
        var text = ""
        for i in 0..<2000 { text += "{\"i\":\(i)}\n" }
        let p = try TestSupport.write(text, to: dir, name: "x.json")
        let gz = try TestSupport.gzip(p)
        #expect(try texts(lines(gz)).count == 2000)
        // Truncate the gzip: the records before the damage are delivered, then a clear error.
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        let cut = dir.appendingPathComponent("cut.json.gz")
        try data.prefix(data.count / 2).write(to: cut)
        let splitter = LineSplitter(reader: try ChunkReader(path: cut.path), maxRecordBytes: 1 << 20)
        var count = 0
        #expect(throws: InputError.self) { while let _ = try splitter.next() { count += 1 } }
        #expect(count > 100)
    }

    @Test func documentSplitterStreamsRecordArraysAndKeepsOtherMembers() throws {
        let dir = TestSupport.makeTempDirectory()
        let p = try TestSupport.write(#"{"value": [ {"a": "x,]}"}, {"b": [1, {"c": 2}]} ], "nextLink": "https://h/x?$skiptoken=1"}"#, to: dir, name: "d.json")
        let s = DocumentSplitter(reader: try ChunkReader(path: p, chunkSize: 5), maxRecordBytes: 1 << 20)
        var records: [String] = []
        var members: [String: String] = [:]
        while let i = try s.next() {
            switch i {
            case .record(let r): records.append(String(decoding: r.bytes, as: UTF8.self))
            case .member(let k, let b): members[k] = String(decoding: b, as: UTF8.self)
            case .oversized: Issue.record("unexpected oversized")
            }
        }
        #expect(records == [#"{"a": "x,]}"}"#, #"{"b": [1, {"c": 2}]}"#])
        #expect(members["nextLink"] == #""https://h/x?$skiptoken=1""#)
        #expect(s.damage == nil)
    }

    @Test func documentSplitterReportsTruncatedArrays() throws {
        let dir = TestSupport.makeTempDirectory()
        let p = try TestSupport.write(#"[{"a":1},{"b":2},{"c":"#, to: dir, name: "d.json")
        let s = DocumentSplitter(reader: try ChunkReader(path: p), maxRecordBytes: 1 << 20)
        var good = 0
        while let i = try s.next() { if case .record(let r) = i, (try? JSONParser.parse(r.bytes)) != nil { good += 1 } }
        #expect(good == 2)
    }
}
