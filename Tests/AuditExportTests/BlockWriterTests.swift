import AuditExport
import AuditTestSupport
import CAuditZlib
import Foundation
import Testing

/// Collects what a `BlockWriter` emits (its sink runs on worker threads, one call at a time).
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data: [UInt8] = []
    private(set) var calls = 0
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return data }

    func append(_ b: UnsafeBufferPointer<UInt8>) {
        lock.lock()
        data.append(contentsOf: b)
        calls += 1
        lock.unlock()
    }
}

/// Decompresses gzip data with zlib's inflate, member after member: at the end of a member
/// the stream is reset and reading goes on with the next one, as `gzip -d` does.
/// - Returns: the bytes and the number of members.
func inflateMembers(_ gz: [UInt8]) throws -> (bytes: [UInt8], members: Int) {
    struct Failure: Error { let message: String }
    var s = z_stream()
    guard audit_inflateInit2(&s, MAX_WBITS + 16) == Z_OK else { throw Failure(message: "inflateInit2") }
    defer { inflateEnd(&s) }
    var out: [UInt8] = []
    var members = 0
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    try gz.withUnsafeBufferPointer { input in
        var offset = 0
        while offset < input.count {
            s.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + offset)
            s.avail_in = UInt32(input.count - offset)
            var rc: Int32 = Z_OK
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { c in
                    s.next_out = c.baseAddress
                    s.avail_out = UInt32(c.count)
                    rc = inflate(&s, Z_NO_FLUSH)
                    return c.count - Int(s.avail_out)
                }
                out.append(contentsOf: chunk[0..<produced])
                guard rc == Z_OK || rc == Z_STREAM_END else { throw Failure(message: "inflate returned \(rc) after \(out.count) bytes") }
            } while rc != Z_STREAM_END && s.avail_in > 0
            offset = input.count - Int(s.avail_in)
            guard rc == Z_STREAM_END else { throw Failure(message: "truncated: the member does not end") }
            members += 1
            // The next member, if any bytes follow (RFC 1952 §2.2: members are concatenated).
            guard inflateReset(&s) == Z_OK else { throw Failure(message: "inflateReset") }
        }
    }
    if gz.isEmpty { throw Failure(message: "no gzip data") }
    return (out, members)
}

/// CSV-looking rows of varying length: block boundaries fall in the middle of rows.
func sampleCSV(bytes: Int) -> [UInt8] {
    var out = Array("time,resource_id,caller,status,count\r\n".utf8)
    var i = 0
    while out.count < bytes {
        out.append(contentsOf: "2026-09-01T00:\(String(format: "%02d", i / 100 % 60)):00.000000Z,/subscriptions/sub\(i % 2)/providers/microsoft.cognitiveservices/accounts/aoai-\(i % 10),caller-\(i % 37),\(i % 97 == 0 ? 401 : 200),\(i * 7919 % 1000)\r\n".utf8)
        i += 1
    }
    return Array(out.prefix(bytes))
}

func gzipWithBlocks(_ input: [UInt8], workers: Int = 2, blockSize: Int, level: Int32 = 6, writeSize: Int = 10_000) throws -> (gz: [UInt8], sinkCalls: Int) {
    let c = Collected()
    let w = try BlockWriter(compression: .gzip(level: level), workers: workers, blockSize: blockSize) { c.append($0) }
    for start in stride(from: 0, to: input.count, by: writeSize) {
        try w.write(Array(input[start..<min(input.count, start + writeSize)]))
    }
    try w.finish()
    return (c.bytes, c.calls)
}

/// `gzip -dc` of `data` written to a temp file.
func systemGunzip(_ gz: [UInt8]) throws -> (status: Int32, bytes: [UInt8]) {
    let dir = TestSupport.makeTempDirectory("aoai-audit-gz")
    let path = dir.appendingPathComponent("x.gz").path
    let out = dir.appendingPathComponent("x.out").path
    #expect(FileManager.default.createFile(atPath: path, contents: Data(gz)))
    let r = try TestSupport.run("/bin/sh", ["-c", "gzip -t '\(path)' && gzip -dc '\(path)' > '\(out)'"])
    return (r.status, Array((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()))
}

/// Single-stream gzip of `input` at `level` (the reference size).
func singleStream(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
    let c = Collected()
    let w = try GzipWriter(level: level) { b in b.withUnsafeBufferPointer { c.append($0) } }
    try w.write(input)
    try w.finish()
    return c.bytes
}

@Suite struct BlockWriterTests {
    /// 0 bytes, 1 byte, exactly one block, one block and one byte, and many blocks (with the
    /// block smaller and larger than deflate's 32 KiB window) whose boundaries cut rows.
    @Test(arguments: [(0, 65_536), (1, 65_536), (65_536, 65_536), (65_537, 65_536), (1_000_000, 4_096), (3_000_000, 65_536), (3_000_000, 1 << 20)])
    func decompressesToExactlyTheInput(size: Int, blockSize: Int) throws {
        let input = sampleCSV(bytes: size)
        let (gz, _) = try gzipWithBlocks(input, blockSize: blockSize)
        let (bytes, members) = try inflateMembers(gz)
        #expect(bytes == input)
        #expect(members == 1, "one gzip member, however many blocks")
        let system = try systemGunzip(gz)
        #expect(system.status == 0)
        #expect(system.bytes == input)
        // The trailer: CRC-32 and length of all the input.
        let trailer = Array(gz.suffix(8))
        let crc = input.withUnsafeBufferPointer { UInt32(crc32_z(0, $0.baseAddress, $0.count)) }
        #expect(trailer == [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: crc >> $0) } + [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: UInt32(input.count) >> $0) })
    }

    @Test func theHeaderIsZlibsAndEmptyInputIsTheSameTwentyBytesAsGzip() throws {
        let (gz, _) = try gzipWithBlocks([], blockSize: 1 << 20)
        #expect(gz == (try singleStream([])))
        #expect(gz.count == 20)
        for level: Int32 in [1, 6, 9] {
            let one = try gzipWithBlocks(Array("x".utf8), blockSize: 1 << 20, level: level).gz
            #expect(Array(one.prefix(10)) == Array((try singleStream(Array("x".utf8), level: level)).prefix(10)), "level \(level)")
        }
    }

    /// Blocks are primed with the previous 32 KiB, so at the default block size the file stays
    /// within a fraction of a percent of one deflate stream's size.
    @Test func theRatioStaysCloseToASingleStream() throws {
        let input = sampleCSV(bytes: 6_000_000)
        let single = try singleStream(input).count
        let chained = try gzipWithBlocks(input, blockSize: BlockWriter.defaultBlockSize).gz.count
        #expect(Double(chained) <= Double(single) * 1.005, "chained \(chained) vs single \(single)")
    }

    /// The in-test reader (and `gzip -dc`) read on across member boundaries: checked on two
    /// members concatenated, so that `members == 1` above is a real finding.
    @Test func theInflateLoopReadsConcatenatedMembers() throws {
        let a = sampleCSV(bytes: 70_000), b = Array("tail,row\r\n".utf8)
        let joined = try singleStream(a) + (try gzipWithBlocks(b, blockSize: 65_536).gz)
        let (bytes, members) = try inflateMembers(joined)
        #expect(members == 2 && bytes == a + b)
        #expect(try systemGunzip(joined).bytes == a + b)
    }

    /// The output depends on the block size only: the same bytes with 1, 2 or 4 workers and
    /// whatever the sizes of the writes.
    @Test func theOutputIsTheSameWhateverTheWorkersAndWrites() throws {
        let input = sampleCSV(bytes: 2_000_000)
        let reference = try gzipWithBlocks(input, workers: 1, blockSize: 100_000).gz
        let head = Array(input.prefix(250_000))
        #expect(try gzipWithBlocks(head, workers: 2, blockSize: 100_000, writeSize: 1).gz == (try gzipWithBlocks(head, workers: 1, blockSize: 100_000).gz))
        for workers in [2, 4] {
            for writeSize in [777, 65_536, 3_000_000] {
                #expect(try gzipWithBlocks(input, workers: workers, blockSize: 100_000, writeSize: writeSize).gz == reference, "workers \(workers) writes \(writeSize)")
            }
        }
    }

    @Test func plainBlocksAreWrittenUnchanged() throws {
        let input = sampleCSV(bytes: 300_001)
        let c = Collected()
        let w = try BlockWriter(compression: .none, blockSize: 4_096) { c.append($0) }
        for start in stride(from: 0, to: input.count, by: 5_000) { try w.write(Array(input[start..<min(input.count, start + 5_000)])) }
        try w.finish()
        #expect(c.bytes == input)
    }

    @Test func aFailingSinkFailsTheWriterWithoutHanging() throws {
        struct Full: Error {}
        let input = sampleCSV(bytes: 2_000_000)
        let w = try BlockWriter(compression: .gzip(level: 6), workers: 2, blockSize: 16_384) { _ in throw Full() }
        #expect(throws: Full.self) {
            for start in stride(from: 0, to: input.count, by: 8_192) { try w.write(Array(input[start..<min(input.count, start + 8_192)])) }
            try w.finish()
        }
    }

    @Test func anAbandonedWriterStopsItsThreads() throws {
        for _ in 0..<50 {
            let w = try BlockWriter(compression: .gzip(level: 1), workers: 2, blockSize: 4_096) { _ in }
            try w.write(sampleCSV(bytes: 50_000))
            w.abandon()
        }
    }

    /// Many writers one after another (each with its own threads and zlib state): every one
    /// round-trips, and a finished writer refuses more bytes.
    @Test func repeatedLifecyclesDoNotCorruptState() throws {
        for i in 0..<200 {
            let c = Collected()
            let w = try BlockWriter(compression: .gzip(level: 1), workers: 1 + i % 3, blockSize: 4_096) { c.append($0) }
            let input = Array("hello, gzip \(i)\r\n".utf8)
            try w.write(input)
            try w.finish()
            #expect(try inflateMembers(c.bytes).bytes == input)
            #expect(throws: ExportError.self) { try w.write(input) }
        }
    }

    /// Through `AtomicFile`: the published file decompresses to the input, and the SHA-256 and
    /// byte count returned are those of the file on disk.
    @Test func anAtomicFileHashesTheCompressedBytesItWrote() throws {
        let dir = TestSupport.makeTempDirectory("aoai-audit-atomic").path
        let input = sampleCSV(bytes: 1_500_000)
        let f = try AtomicFile(directory: dir, finalName: "x.csv.gz", gzipLevel: 6, workers: 2, blockSize: 100_000)
        for start in stride(from: 0, to: input.count, by: 65_536) { try f.write(bytes: Array(input[start..<min(input.count, start + 65_536)])) }
        let sha = try f.finish()
        let path = try f.publish()
        let (fileSHA, fileBytes) = try AtomicFile.sha256(ofFile: path)
        #expect(sha == fileSHA && f.bytes == fileBytes)
        let gz = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(try inflateMembers(gz).bytes == input)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["x.csv.gz"])
    }
}
