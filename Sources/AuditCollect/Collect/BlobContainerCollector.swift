import AuditCore
import AuditNet
import AuditStore
import Foundation

/// `type: diagnostics-blobs` — Azure OpenAI resource logs (RequestResponse, Audit, …) that a
/// diagnostic setting writes to a storage container (default `insights-logs-requestresponse`).
public struct DiagnosticsBlobsCollector: Collector {
    public static let type = "diagnostics-blobs"
    public static let keys = BlobContainerReader.keys
    public static let needsCredentials = true
    let reader: BlobContainerReader

    public init(source: SourceConfig) throws(ConfigError) {
        reader = try BlobContainerReader(source: source, defaultContainer: "insights-logs-requestresponse", kind: .diagnostics)
    }

    public func collect(_ context: CollectContext) throws -> SourceOutcome { try reader.collect(context, type: Self.type) }
}

/// `type: activity-log-blobs` — the Activity Log export in storage (`insights-activity-logs`).
public struct ActivityLogBlobsCollector: Collector {
    public static let type = "activity-log-blobs"
    public static let keys = BlobContainerReader.keys
    public static let needsCredentials = true
    let reader: BlobContainerReader

    public init(source: SourceConfig) throws(ConfigError) {
        reader = try BlobContainerReader(source: source, defaultContainer: "insights-activity-logs", kind: .activityLog)
    }

    public func collect(_ context: CollectContext) throws -> SourceOutcome { try reader.collect(context, type: Self.type) }
}

/// The blobs left to read and the merged outcome, shared by the reading threads.
/// `@unchecked Sendable`: every member is read and written under `lock`.
private final class BlobWork: @unchecked Sendable {
    private let lock = NSLock()
    private let items: [BlobItem]
    private var next = 0
    private var outcome: SourceOutcome
    private var failure: (any Error)?

    init(items: [BlobItem], outcome: SourceOutcome) {
        self.items = items
        self.outcome = outcome
    }

    /// The next blob, or nil when all are taken or one failed.
    func take() -> BlobItem? {
        lock.lock(); defer { lock.unlock() }
        guard failure == nil, next < items.count else { return nil }
        next += 1
        return items[next - 1]
    }

    func fail(_ error: any Error) {
        lock.lock(); defer { lock.unlock() }
        if failure == nil { failure = error }
    }

    func merge(_ local: SourceOutcome) {
        lock.lock(); defer { lock.unlock() }
        outcome.pages += local.pages
        outcome.records += local.records
        outcome.counts += local.counts
        outcome.warnings += local.warnings
        if let l = local.lagSeconds { outcome.lagSeconds = min(outcome.lagSeconds ?? l, l) }
    }

    func result() throws -> SourceOutcome {
        lock.lock(); defer { lock.unlock() }
        if let failure { throw failure }
        return outcome
    }
}

/// Reads diagnostic-settings export blobs incrementally (formats.md §10).
///
/// `PT1H.json` blobs are append blobs that grow during their hour. Per blob the cursor keeps
/// the byte offset after the last complete line, the ETag and the creation time; a run lists
/// the container and reads only `[offset, length)` with a ranged GET guarded by `If-Match`, in
/// slices of `sliceBytes`, each slice's rows committed with the blob's new cursor. A partial
/// last line waits for the next run. A blob whose creation time changed, or that got shorter,
/// was re-created and is read again from 0 — its records dedupe against what was loaded.
struct BlobContainerReader: Sendable {
    static let keys = ["account_url", "container", "prefix", "sas_env", "concurrency"]
    static let storageVersion = "2023-11-03"
    static let sliceBytes: Int64 = 16 << 20

    let name: String
    let accountURL: String
    let container: String
    let prefix: String?
    let sasEnv: String?
    let kind: ImportKind
    let concurrency: Int

    init(source: SourceConfig, defaultContainer: String, kind: ImportKind) throws(ConfigError) {
        name = source.name
        var url = try source.string("account_url", required: true) ?? ""
        while url.hasSuffix("/") { url.removeLast() }
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "https" || scheme == "http", c.host != nil else {
            throw source.invalid("account_url", "'\(url)' is not an https:// URL of a storage account (e.g. https://mystorage.blob.core.windows.net)")
        }
        guard c.query == nil else {
            throw source.invalid("account_url", "put the SAS in an environment variable named by `sas_env`, not in account_url")
        }
        accountURL = url
        container = try source.string("container") ?? defaultContainer
        prefix = try source.string("prefix")
        sasEnv = try source.string("sas_env")
        if let n = try source.string("concurrency") {
            guard let v = Int(n), (1...16).contains(v) else { throw source.invalid("concurrency", "'\(n)' must be a number from 1 to 16") }
            concurrency = v
        } else {
            concurrency = 4
        }
        self.kind = kind
    }

    /// The cursor of one blob: `created|etag|offset|lines`.
    struct BlobCursor: Equatable {
        var created: Int64?
        var etag: String
        var offset: Int64
        var lines: Int

        init(created: Int64?, etag: String, offset: Int64, lines: Int) {
            self.created = created; self.etag = etag; self.offset = offset; self.lines = lines
        }

        init?(_ text: String?) {
            guard let parts = text?.split(separator: "|", omittingEmptySubsequences: false), parts.count == 4,
                  let offset = Int64(parts[2]), let lines = Int(parts[3]) else { return nil }
            created = Int64(parts[0])
            etag = String(parts[1])
            self.offset = offset
            self.lines = lines
        }

        var text: String { "\(created.map(String.init) ?? "")|\(etag)|\(offset)|\(lines)" }
    }

    func collect(_ context: CollectContext, type: String) throws -> SourceOutcome {
        var outcome = SourceOutcome(name: name, type: type)
        let auth = try authorization(context)
        let blobs = try list(context, auth: auth, outcome: &outcome)
        // Blobs with nothing new are skipped without a request.
        let work = blobs.filter { b in
            guard let cursor = BlobCursor(context.checkpoints["blob:" + b.name]) else { return true }
            if let c = b.created, let was = cursor.created, c != was { return true }
            return b.length != cursor.offset
        }
        context.log("\(blobs.count) blobs listed, \(work.count) with new bytes")

        let shared = BlobWork(items: work, outcome: outcome)
        let threads = max(1, min(concurrency, work.count))
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var local = SourceOutcome(name: name, type: type)
                while let item = shared.take() {
                    do {
                        try read(item, context: context, auth: auth, outcome: &local)
                    } catch {
                        shared.fail(error)
                    }
                }
                shared.merge(local)
            }
        }
        group.wait()
        return try shared.result()
    }

    /// Either the SAS query (from the environment variable `sas_env` names) or a bearer header.
    private func authorization(_ context: CollectContext) throws -> (sas: String?, header: (name: String, value: String)?) {
        if let sasEnv {
            guard var sas = ProcessInfo.processInfo.environment[sasEnv], !sas.isEmpty else {
                throw CollectError.service(source: name, url: accountURL, status: 0, code: nil, message: "the environment variable \(sasEnv) (sas_env) is not set",
                                           hint: "export \(sasEnv)='sv=…&sp=rl&sig=…' (a SAS with read and list on the container)")
            }
            if sas.hasPrefix("?") { sas.removeFirst() }
            return (sas, nil)
        }
        return (nil, try context.bearer(CloudEndpoints.storageScope))
    }

    private func url(_ path: String, query: [String], auth: (sas: String?, header: (name: String, value: String)?)) -> String {
        var q = query
        if let sas = auth.sas { q.append(sas) }
        return accountURL + path + (q.isEmpty ? "" : "?" + q.joined(separator: "&"))
    }

    private func headers(_ auth: (sas: String?, header: (name: String, value: String)?)) -> [(name: String, value: String)] {
        var h: [(name: String, value: String)] = [("x-ms-version", Self.storageVersion)]
        if let a = auth.header { h.append(a) }
        return h
    }

    private func list(_ context: CollectContext, auth: (sas: String?, header: (name: String, value: String)?), outcome: inout SourceOutcome) throws -> [BlobItem] {
        var out: [BlobItem] = []
        var marker: String?
        repeat {
            var query = ["restype=container", "comp=list", "maxresults=5000"]
            if let prefix { query.append("prefix=" + AzureResponses.encodeQueryValue(prefix)) }
            if let marker { query.append("marker=" + AzureResponses.encodeQueryValue(marker)) }
            let u = url("/" + Self.encodePath(container), query: query, auth: auth)
            let response = try context.http.send(HTTPRequest(url: u, headers: headers(auth)))
            outcome.pages += 1
            guard response.status == 200 else { throw AzureResponses.storageFailure(source: name, url: u, response: response) }
            let page = BlobListParser.parse(response.body)
            if let e = page.error {
                throw CollectError.service(source: name, url: HTTPRequest.display(u), status: 200, code: nil, message: "the blob listing could not be read: \(e)", hint: "check account_url points at a blob endpoint")
            }
            out += page.blobs.filter { $0.name.hasSuffix(".json") }
            marker = page.nextMarker
        } while marker != nil
        return out.sorted { $0.name < $1.name }
    }

    /// Reads the new bytes of one blob.
    private func read(_ listed: BlobItem, context: CollectContext, auth: (sas: String?, header: (name: String, value: String)?), outcome: inout SourceOutcome) throws {
        var item = listed
        var cursor = BlobCursor(context.checkpoints["blob:" + item.name]) ?? BlobCursor(created: item.created, etag: item.etag, offset: 0, lines: 0)
        if (item.created != nil && cursor.created != nil && item.created != cursor.created) || item.length < cursor.offset {
            context.log("\(item.name) was re-created; reading it again from the start")
            cursor = BlobCursor(created: item.created, etag: item.etag, offset: 0, lines: 0)
        }
        let router = RecordRouter(forced: kind, location: "\(name): \(container)/\(item.name)")
        let hour = BlobHour.start(of: item.name)
        let scope = container + ":" + (item.name.range(of: "/y=").map { String(item.name[..<$0.lowerBound]) } ?? item.name)
        var pending: [UInt8] = []     // bytes after the last complete line
        var attempts = 0
        let blobURL = url("/" + Self.encodePath(container) + "/" + Self.encodePath(item.name), query: [], auth: auth)
        var wholeDocument: [UInt8]? = nil
        var position = cursor.offset  // bytes fetched so far (cursor.offset + pending.count)
        while position < item.length {
            let end = min(position + Self.sliceBytes, item.length) - 1
            var h = headers(auth)
            h.append(("x-ms-range", "bytes=\(position)-\(end)"))
            if !item.etag.isEmpty { h.append(("If-Match", "\"\(item.etag)\"")) }
            var request = HTTPRequest(url: blobURL, headers: h)
            request.noRetryStatuses = [412]
            let response = try context.http.send(request)
            outcome.pages += 1
            var chunk: [UInt8]
            switch response.status {
            case 206:
                chunk = response.body
            case 200:
                // A server that ignores ranges sends it all.
                chunk = Array(response.body.dropFirst(Int(position)))
            case 416:
                chunk = []
                item.length = position
            case 412, 404:
                // Changed (or gone) since the listing: look again, at most a few times.
                attempts += 1
                guard attempts <= 3, let fresh = try properties(blobURL, auth: auth, context: context), response.status == 412 else {
                    if response.status == 404 { context.log("\(item.name) disappeared while being read"); return }
                    throw AzureResponses.storageFailure(source: name, url: blobURL, response: response)
                }
                if let c = fresh.created, let was = cursor.created, c != was || fresh.length < cursor.offset {
                    cursor = BlobCursor(created: fresh.created, etag: fresh.etag, offset: 0, lines: 0)
                    pending = []
                    position = 0
                }
                item.etag = fresh.etag
                item.length = fresh.length
                item.created = fresh.created ?? item.created
                continue
            default:
                throw AzureResponses.storageFailure(source: name, url: blobURL, response: response)
            }
            if chunk.isEmpty { break }
            position += Int64(chunk.count)
            // The pre-2018 format: one `{"records":[…]}` document per blob, read whole.
            if cursor.offset == 0 && pending.isEmpty && wholeDocument == nil && Self.startsWithRecordsWrapper(chunk) { wholeDocument = [] }
            if wholeDocument != nil {
                wholeDocument! += chunk
                continue
            }
            pending += chunk
            let atEnd = position >= item.length
            var batch = RecordBatch()
            consumeLines(&pending, cursor: &cursor, router: router, atEnd: atEnd, into: &batch)
            try commit(batch, item: item, cursor: cursor, scope: scope, hour: hour, context: context, outcome: &outcome)
        }
        if let doc = wholeDocument {
            var batch = RecordBatch()
            router.route(doc, line: 1, offset: 0, into: &batch)
            cursor.offset += Int64(doc.count)
            cursor.lines += 1
            try commit(batch, item: item, cursor: cursor, scope: scope, hour: hour, context: context, outcome: &outcome)
        } else if cursor.etag != item.etag || cursor.created != item.created {
            // Nothing complete to read, but remember what was seen.
            cursor.etag = item.etag
            cursor.created = item.created ?? cursor.created
            try commit(RecordBatch(), item: item, cursor: cursor, scope: scope, hour: hour, context: context, outcome: &outcome)
        }
    }

    private func commit(_ batch: RecordBatch, item: BlobItem, cursor: BlobCursor, scope: String, hour: Int64?, context: CollectContext, outcome: inout SourceOutcome) throws {
        var c = cursor
        c.etag = item.etag
        c.created = item.created ?? cursor.created
        let coverage = hour.map { [CoverageWindow(scope: scope, fromUs: $0, toUs: $0 + Timestamp.microsPerHour, records: c.lines)] } ?? []
        outcome.records += batch.read
        outcome.counts += try context.store.write(batch, source: name, checkpoints: [("blob:" + item.name, c.text)], coverage: coverage)
        let newest = batch.requests.map(\.timeUs).max() ?? batch.activity.map(\.timeUs).max()
        if let newest { outcome.lagSeconds = min(outcome.lagSeconds ?? Int64.max, max(0, (context.now - newest) / Timestamp.microsPerSecond)) }
    }

    /// Routes every complete line of `pending` (and, at the end of the blob, a last line without
    /// a newline that is complete JSON), advancing the cursor past what was consumed.
    private func consumeLines(_ pending: inout [UInt8], cursor: inout BlobCursor, router: RecordRouter, atEnd: Bool, into batch: inout RecordBatch) {
        var start = 0
        pending.withUnsafeBufferPointer { buf in
            var i = 0
            while i < buf.count {
                if buf[i] == 0x0A {
                    var s = start, e = i
                    while s < e, buf[s] == 0x20 || buf[s] == 0x09 || buf[s] == 0x0D { s += 1 }
                    while e > s, buf[e - 1] == 0x20 || buf[e - 1] == 0x09 || buf[e - 1] == 0x0D { e -= 1 }
                    cursor.lines += 1
                    if e > s { router.route(Array(buf[s..<e]), line: cursor.lines, offset: cursor.offset + Int64(start), into: &batch) }
                    start = i + 1
                }
                i += 1
            }
        }
        cursor.offset += Int64(start)
        pending.removeFirst(start)
        if atEnd && !pending.isEmpty {
            let tail = pending.filter { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }
            if tail.isEmpty || (try? JSONParser.parse(pending)) != nil {
                cursor.lines += 1
                if !tail.isEmpty { router.route(pending, line: cursor.lines, offset: cursor.offset, into: &batch) }
                cursor.offset += Int64(pending.count)
                pending.removeAll()
            }
        }
    }

    private func properties(_ blobURL: String, auth: (sas: String?, header: (name: String, value: String)?), context: CollectContext) throws -> BlobItem? {
        let response = try context.http.send(HTTPRequest(method: "HEAD", url: blobURL, headers: headers(auth)))
        guard response.status == 200 else { return nil }
        return BlobItem(name: "", etag: (response[header: "etag"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\"")),
                        length: Int64(response[header: "content-length"] ?? "") ?? 0,
                        created: response[header: "x-ms-creation-time"].flatMap(Timestamp.parse), blobType: response[header: "x-ms-blob-type"] ?? "")
    }

    static func startsWithRecordsWrapper(_ bytes: [UInt8]) -> Bool {
        var i = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return false }
        let head = String(decoding: bytes[i..<min(bytes.count, i + 64)], as: UTF8.self).replacingOccurrences(of: " ", with: "")
        return head.hasPrefix("{\"records\":")
    }

    /// Percent-encodes a blob path, keeping `/` and `=` (diagnostic export names are full of both).
    static func encodePath(_ s: String) -> String {
        s.split(separator: "/", omittingEmptySubsequences: false)
            .map { AzureResponses.encodeQueryValue(String($0)).replacingOccurrences(of: "%3D", with: "=") }
            .joined(separator: "/")
    }
}
