import AuditCore
import AuditStore
import Dispatch
import Foundation

extension Importer {
    /// Fingerprint of a file's state: size and modification time.
    static func stamp(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }

    func importFile(_ path: String, index: Int, total: Int) throws -> FileOutcome {
        var outcome = FileOutcome(path: path, format: "unknown")
        let key = "file:" + path
        let stamp = Self.stamp(path) ?? ""
        // A file loaded completely before and unchanged since is not read again.
        if let previous = checkpoints[key],
           let ck = try? JSONParser.parse(previous).objectValue, ck["complete"]?.bool == true, ck["stamp"]?.text == stamp,
           ck["kind"]?.text == (options.kind?.rawValue ?? "auto")
        {
            outcome.unchanged = true
            outcome.format = ck["format"]?.text ?? "unknown"
            outcome.read = Int(ck["records"]?.int64 ?? 0)
            outcome.counts.duplicates = outcome.read
            return outcome
        }
        do {
            let reader = try ChunkReader(path: path)
            guard let first = try reader.next() else {
                outcome.format = "empty"
                try checkpoint(path: path, index: index, stamp: stamp, format: "empty", records: 0, complete: true, offset: 0)
                return outcome
            }
            let format = Self.sniff(first, isLastChunk: false)
            outcome.format = format.rawValue + (reader.isGzip ? " (gzip)" : "")
            switch format {
            case .jsonLines: try importLines(reader: reader, first: first, path: path, stamp: stamp, outcome: &outcome, index: index, total: total)
            case .document: try importDocument(reader: reader, first: first, path: path, index: index, stamp: stamp, outcome: &outcome)
            case .xml: try importFeed(reader: reader, first: first, path: path, index: index, stamp: stamp, outcome: &outcome)
            case .unknown:
                let head = String(decoding: first.prefix(40), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
                outcome.error = "\(path): unrecognized file (not JSON lines, a JSON document, RSS or Atom; it starts with \"\(head)\"); pass --kind if it is one of them"
            }
        } catch let error as InputError {
            outcome.error = error.description
        }
        return outcome
    }

    enum Format: String { case jsonLines = "json-lines", document = "json", xml = "xml", unknown }

    /// Decides the format from the first chunk.
    static func sniff(_ bytes: [UInt8], isLastChunk: Bool) -> Format {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        guard i < bytes.count else { return .jsonLines }  // only whitespace so far
        switch bytes[i] {
        case UInt8(ascii: "<"): return .xml
        case UInt8(ascii: "["): return .document
        case UInt8(ascii: "{"):
            // JSON lines when the first line is a complete JSON value by itself.
            guard let nl = bytes[i...].firstIndex(of: 0x0A) else {
                return (try? JSONParser.parse(Array(bytes[i...]))) != nil ? .jsonLines : .document
            }
            return (try? JSONParser.parse(Array(bytes[i..<nl]))) != nil ? .jsonLines : .document
        default: return .unknown
        }
    }

    // MARK: - JSON lines

    func importLines(reader: ChunkReader, first: [UInt8], path: String, stamp: String, outcome: inout FileOutcome, index: Int, total: Int) throws {
        let splitter = LineSplitter(reader: reader, maxRecordBytes: options.maxRecordBytes)
        splitter.unread(first)
        let router = RecordRouter(forced: options.kind, location: path)
        var pending: [RawRecord] = []
        var pendingBytes = 0
        var lastOffset: Int64 = 0
        var extra = RecordBatch()  // oversized records
        func flush(complete: Bool = false) throws {
            var batch = parse(pending, router: router)
            batch.append(extra)
            extra = RecordBatch()
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
            try write(batch, path: path, index: index, stamp: stamp, format: outcome.format, outcome: &outcome, complete: complete, offset: complete ? reader.delivered : lastOffset)
            options.progress?(ImportProgress(path: path, fileBytesDone: reader.consumed, fileBytesTotal: reader.fileSize, filesDone: index, filesTotal: total, recordsRead: outcome.read))
        }
        do {
            while let item = try splitter.next() {
                switch item {
                case .record(let r):
                    pendingBytes += r.bytes.count
                    lastOffset = r.offset
                    pending.append(r)
                case .oversized(let line, let offset, let length, let head):
                    extra.read += 1
                    router.quarantine(head, line: line, offset: offset, reason: "record of \(length) bytes is longer than the \(options.maxRecordBytes)-byte limit (--max-record-bytes)", into: &extra)
                case .member: break
                }
                if pending.count >= options.batchRecords || pendingBytes >= 32 << 20 { try flush() }
            }
        } catch let error as InputError {
            // Keep what was read before the damage, then report it.
            try flush()
            outcome.error = error.description
            return
        }
        // The last batch carries the "complete" checkpoint: one transaction per small file.
        try flush(complete: true)
    }

    /// Parses and normalizes records on `options.workers` threads, preserving input order.
    func parse(_ records: [RawRecord], router: RecordRouter) -> RecordBatch {
        let workers = records.count < 256 ? 1 : options.workers
        if workers == 1 {
            var batch = RecordBatch()
            for r in records { router.route(r.bytes, line: r.line, offset: r.offset, into: &batch) }
            return batch
        }
        let slots = BatchSlots(count: workers)
        let per = (records.count + workers - 1) / workers
        records.withUnsafeBufferPointer { buf in
            nonisolated(unsafe) let shared = buf  // read-only while the workers run
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var batch = RecordBatch()
                let lo = w * per, hi = min(records.count, lo + per)
                if lo < hi { for i in lo..<hi { router.route(shared[i].bytes, line: shared[i].line, offset: shared[i].offset, into: &batch) } }
                slots.set(w, batch)
            }
        }
        var out = RecordBatch()
        for w in 0..<workers { out.append(slots.get(w)) }
        return out
    }

    /// Queues a batch with the file's checkpoint (one transaction on the writer thread).
    func write(_ batch: RecordBatch, path: String, index: Int, stamp: String, format: String, outcome: inout FileOutcome, complete: Bool, offset: Int64) throws {
        outcome.read += batch.read
        outcome.skipped += batch.skipped
        let ck = Self.checkpointValue(stamp: stamp, format: format, records: outcome.read, complete: complete, offset: offset, kind: options.kind)
        try pipeline.submit(batch, input: index, checkpoint: ("file:" + path, ck))
    }

    func checkpoint(path: String, index: Int, stamp: String, format: String, records: Int, complete: Bool, offset: Int64) throws {
        let ck = Self.checkpointValue(stamp: stamp, format: format, records: records, complete: complete, offset: offset, kind: options.kind)
        try pipeline.submit(RecordBatch(), input: index, checkpoint: ("file:" + path, ck))
    }

    static func checkpointValue(stamp: String, format: String, records: Int, complete: Bool, offset: Int64, kind: ImportKind?) -> String {
        JSONValue.object(JSONObject([
            ("stamp", .string(stamp)), ("format", .string(format)), ("records", .number(String(records))),
            ("offset", .number(String(offset))), ("complete", .bool(complete)), ("kind", .string(kind?.rawValue ?? "auto")),
        ])).serialized
    }
}

/// One result slot per worker. Each index is written by exactly one worker inside
/// `concurrentPerform` and read only after it returns, which orders the accesses; the lock
/// makes that explicit for the checker.
final class BatchSlots: @unchecked Sendable {
    private var slots: [RecordBatch]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: RecordBatch(), count: count) }

    func set(_ i: Int, _ b: RecordBatch) { lock.lock(); slots[i] = b; lock.unlock() }
    func get(_ i: Int) -> RecordBatch { lock.lock(); defer { lock.unlock() }; return slots[i] }
}
