import AuditCore
import AuditNet
import AuditStore
import Foundation

/// A source that pulls records over HTTP (or git) into the store. One file per collector,
/// registered in `CollectorRegistry`. A collector reads its cursors from
/// `context.checkpoints`, and commits every batch together with the cursors that cover it
/// through `context.store` (one transaction), so a crash never loses or duplicates data.
public protocol Collector: Sendable {
    /// The config `type:` (contracts.md).
    static var type: String { get }
    /// Keys this type takes besides `name`, `type`, `tenant` and `auth`.
    static var keys: [String] { get }
    /// Whether the collector needs Azure bearer tokens (status feeds and git do not).
    static var needsCredentials: Bool { get }

    /// Validates the config entry; errors name the line and key.
    init(source: SourceConfig) throws(ConfigError)

    /// Runs once. Throws only for errors that stop the whole source (auth, 403, unreachable);
    /// a bad record is quarantined and counted instead.
    func collect(_ context: CollectContext) throws -> SourceOutcome
}

/// What a collector gets for one run.
public struct CollectContext: Sendable {
    public var source: SourceConfig
    public var http: any HTTPTransport
    /// nil for collectors that need none.
    public var tokens: (any TokenProvider)?
    public var endpoints: CloudEndpoints
    /// `--since`, UTC microseconds (first run: 7 days back when nil).
    public var since: Int64?
    /// The run's notion of "now", UTC microseconds.
    public var now: Int64
    /// This source's cursors as they were when the run started.
    public var checkpoints: [String: String]
    public var store: SourceStore
    /// Progress and diagnostics for `--verbose` (never secrets): called on any thread.
    public var log: @Sendable (String) -> Void

    public init(source: SourceConfig, http: any HTTPTransport, tokens: (any TokenProvider)?, endpoints: CloudEndpoints, since: Int64?, now: Int64, checkpoints: [String: String], store: SourceStore, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.source = source
        self.http = http
        self.tokens = tokens
        self.endpoints = endpoints
        self.since = since
        self.now = now
        self.checkpoints = checkpoints
        self.store = store
        self.log = log
    }

    /// `Authorization: Bearer …` for `scope`.
    public func bearer(_ scope: String) throws -> (name: String, value: String) {
        guard let tokens else { throw CollectError.noCredentials(source: source.name) }
        return ("Authorization", "Bearer " + (try tokens.token(scope: scope)).value)
    }
}

/// One window (or blob, page range, feed fetch) a source asked for, and how many records came
/// back: `status` shows "fetched and empty" apart from "never fetched".
public struct CoverageWindow: Sendable, Equatable {
    public var scope: String
    public var fromUs: Int64
    public var toUs: Int64
    public var records: Int

    public init(scope: String, fromUs: Int64, toUs: Int64, records: Int) {
        self.scope = scope
        self.fromUs = fromUs
        self.toUs = toUs
        self.records = records
    }
}

/// What one source did in one run.
public struct SourceOutcome: Sendable {
    public var name: String
    public var type: String
    /// Pages, blobs or feed documents fetched.
    public var pages = 0
    /// Records read (good and bad).
    public var records = 0
    public var counts = WriteCounts()
    public var http = HTTPStats()
    /// Newest record time vs the end of the fetched window, in seconds.
    public var lagSeconds: Int64?
    /// The error that stopped the source (one line, no secret).
    public var error: String?
    /// Anything worth a line that did not stop it (e.g. a partial Log Analytics result).
    public var warnings: [String] = []

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }

    public var failed: Bool { error != nil }
}

/// Errors of the collect framework itself.
public enum CollectError: Error, Sendable, CustomStringConvertible {
    case noCredentials(source: String)
    case unknownSource(String, valid: [String])
    /// An HTTP answer the collector cannot go on from: status, the URL without secrets, the
    /// service's code/message, and what to do.
    case service(source: String, url: String, status: Int, code: String?, message: String, hint: String)
    case since(String)

    public var description: String {
        switch self {
        case .noCredentials(let s): return "source '\(s)': no credentials; set AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or `auth:` in the config"
        case .unknownSource(let s, let valid): return "no source named '\(s)' in the config (sources: \(valid.joined(separator: ", ")))"
        case .service(let s, let url, let status, let code, let message, let hint):
            return "source '\(s)': \(url): HTTP \(status)" + (code.map { " \($0)" } ?? "") + (message.isEmpty ? "" : ": \(message)") + (hint.isEmpty ? "" : "; \(hint)")
        case .since(let m): return m
        }
    }
}

/// The store as concurrent sources share it: one connection, one writer, one transaction at a
/// time. Every write commits the rows, the cursors that cover them and the coverage windows
/// together.
public final class SourceStore: @unchecked Sendable {
    private let database: Database
    private let writer: StoreWriter
    private let lock = NSLock()
    public let runID: Int64?

    public init(database: Database, runID: Int64?) {
        self.database = database
        writer = StoreWriter(database: database)
        self.runID = runID
    }

    /// Writes `batch`, the `checkpoints` and the `coverage` of `source` in one transaction,
    /// with pre-counted `summaries` (rolled up, deduped through `request_seen`) and whatever
    /// `extra` writes (e.g. the RBAC snapshot state) in that same transaction.
    @discardableResult
    public func write(_ batch: RecordBatch, source: String, checkpoints: [(key: String, value: String)] = [], coverage: [CoverageWindow] = [],
                      summaries: RequestSummaries? = nil, extra: ((Connection) throws -> Void)? = nil) throws -> WriteCounts {
        lock.lock(); defer { lock.unlock() }
        return try writer.write(batch, summaries: summaries, source: source, runID: runID, checkpoints: checkpoints) { db in
            let now = TimeArgument.nowMicros()
            for w in coverage {
                try db.run("INSERT INTO coverage(source, scope, from_us, to_us, records, fetched_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(source, scope, from_us, to_us) DO UPDATE SET records = excluded.records, fetched_us = excluded.fetched_us",
                           [.text(source), .text(w.scope), .integer(w.fromUs), .integer(w.toUs), .integer(Int64(w.records)), .integer(now)])
            }
            try extra?(db)
        }
    }

    /// Runs `body` on the shared connection under the store's lock (reads, or writes the
    /// caller wraps in a transaction, such as the RBAC snapshot state).
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        return try body(database.connection)
    }

    /// Derives api-version changes once every source has written (needs all request rows).
    public func deriveAPIVersionChanges(source: String) throws -> Int {
        lock.lock(); defer { lock.unlock() }
        return try writer.deriveAPIVersionChanges(source: source)
    }
}
