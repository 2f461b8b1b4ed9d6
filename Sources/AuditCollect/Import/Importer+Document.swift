import AuditCore
import AuditStore
import Foundation

extension Importer {
    /// A single JSON document: a bare array (`az monitor activity-log list`, Event Grid), an
    /// ARM page `{"value":[…]}`, an Event Hub body `{"records":[…]}` — all streamed element by
    /// element — or a small object (Log Analytics `{"tables":…}`, Statuspage JSON) whose
    /// members are gathered and handled whole.
    func importDocument(reader: ChunkReader, first: [UInt8], path: String, index: Int, stamp: String, outcome: inout FileOutcome) throws {
        let splitter = DocumentSplitter(reader: reader, maxRecordBytes: options.maxRecordBytes)
        splitter.unread(first)
        let router = RecordRouter(forced: options.kind, location: path)
        var pending: [RawRecord] = []
        var members: [(key: String, value: JSONValue)] = []
        var streamed = false
        var extra = RecordBatch()
        var lastOffset: Int64 = 0
        func flush(complete: Bool = false) throws {
            var batch = parse(pending, router: router)
            batch.append(extra)
            extra = RecordBatch()
            pending.removeAll(keepingCapacity: true)
            try write(batch, path: path, index: index, stamp: stamp, format: outcome.format, outcome: &outcome, complete: complete, offset: complete ? reader.delivered : lastOffset)
        }
        do {
            while let item = try splitter.next() {
                switch item {
                case .record(let r):
                    streamed = true
                    lastOffset = r.offset
                    pending.append(r)
                    if pending.count >= options.batchRecords { try flush() }
                case .oversized(let line, let offset, let length, let head):
                    extra.read += 1
                    router.quarantine(head, line: line, offset: offset, reason: "element of \(length) bytes is longer than the \(options.maxRecordBytes)-byte limit (--max-record-bytes)", into: &extra)
                case .member(let key, let bytes):
                    if bytes == Array("[]".utf8) && (key == "records" || key == "value") { streamed = true; continue }
                    do {
                        members.append((key, try JSONParser.parse(bytes)))
                    } catch {
                        extra.read += 1
                        router.quarantine(bytes, line: nil, offset: nil, reason: "member '\(key)' is malformed JSON: \(error.reason)", into: &extra)
                    }
                }
            }
        } catch let error as InputError {
            try flush()
            outcome.error = error.description
            return
        }
        if let damage = splitter.damage {
            extra.read += 1
            router.quarantine([], line: nil, offset: reader.delivered, reason: "document damaged: \(damage); the elements before it were loaded", into: &extra)
        }
        if !streamed && !members.isEmpty {
            // Not a record array: the object itself is the record (or a wrapper such as tables).
            var batch = RecordBatch()
            batch.read = 1  // the document itself; a wrapper replaces it with its rows/incidents
            router.route(.object(JSONObject(members)), bytes: nil, line: 1, offset: 0, into: &batch)
            extra.append(batch)
        }
        try flush(complete: true)
    }

    /// RSS or Atom status feeds (XML, read whole up to the record limit).
    func importFeed(reader: ChunkReader, first: [UInt8], path: String, index: Int, stamp: String, outcome: inout FileOutcome) throws {
        guard options.kind == nil || options.kind == .statusFeed else {
            outcome.error = "\(path) is XML (a status feed?), not \(options.kind?.rawValue ?? "")"
            return
        }
        var bytes = first
        while let c = try reader.next() {
            bytes += c
            if bytes.count > options.maxRecordBytes {
                outcome.error = "\(path): feed larger than the \(options.maxRecordBytes)-byte limit (--max-record-bytes)"
                return
            }
        }
        guard let result = StatusFeedParser.parse(bytes, source: path) else {
            outcome.error = "\(path): XML that is neither RSS nor Atom"
            return
        }
        outcome.format = result.format
        var batch = RecordBatch()
        batch.incidents = result.incidents
        batch.quarantine = result.quarantine
        batch.read = result.incidents.count + result.quarantine.count
        try write(batch, path: path, index: index, stamp: stamp, format: outcome.format, outcome: &outcome, complete: true, offset: Int64(bytes.count))
    }
}
