import AuditCore
import AuditNet
import AuditStore
import Foundation

/// Builds the token provider for an `auth:` method (nil: the default chain) and a tenant
/// (nil: from the environment). The CLI passes `Credentials.make`; tests pass a fake.
public typealias CredentialsFactory = @Sendable (AuthMethod?, String?) throws(AuthError) -> any TokenProvider

/// What `CollectRunner.run()` reports as it goes (on any thread).
public enum CollectProgress: Sendable {
    case started(name: String, type: String)
    case finished(SourceOutcome)
}

/// What one `collect` did: one outcome per selected source, in config order.
public struct CollectSummary: Sendable {
    public var outcomes: [SourceOutcome]
    /// api-version changes derived after the sources that loaded requests.
    public var derivedChanges = 0

    public init(outcomes: [SourceOutcome], derivedChanges: Int = 0) {
        self.outcomes = outcomes
        self.derivedChanges = derivedChanges
    }

    public var hasFailures: Bool { outcomes.contains { $0.failed } }
    public var failed: [SourceOutcome] { outcomes.filter(\.failed) }
    public var quarantined: Int { outcomes.reduce(0) { $0 + $1.counts.quarantined } }
    /// A source failed or records were quarantined (exit 3).
    public var hasLosses: Bool { hasFailures || quarantined > 0 }
}

/// Runs the configured sources: config checked for every selected source before any runs,
/// then each source's collector on a bounded set of threads. A failing source does not stop
/// the others; its one-line error (redacted) lands in its outcome and in `sources`.
///
/// ```swift
/// let runner = CollectRunner(database: db, config: config, http: CurlHTTPClient(),
///                            credentials: { m, t throws(AuthError) in try Credentials.make(method: m, tenant: t, login: config.cloud.login, environment: env, http: client) })
/// let summary = try runner.run()   // throws ConfigError / CollectError before anything runs
/// ```
public final class CollectRunner {
    /// `--since` may reach this far back (the Activity Log keeps 90 days).
    public static let maxSinceDays: Int64 = 90
    /// Source types that load request records (api-version switches are derived after them).
    static let requestSourceTypes: Set<String> = [DiagnosticsBlobsCollector.type, LogAnalyticsCollector.type]

    public let database: Database
    public let config: Config
    public let http: any HTTPTransport
    public let credentials: CredentialsFactory
    /// `--since`, UTC microseconds (nil: each source from its checkpoints).
    public var since: Int64?
    /// How `--since` was written, for its error message.
    public var sinceText: String?
    public var now: Int64
    /// `--source` names (empty: every configured source).
    public var selected: [String]
    public var maxConcurrency: Int
    /// `runs` row the records are attributed to (quarantine).
    public var runID: Int64?
    /// Diagnostics (`--verbose`), never secrets; called on any thread.
    public var log: @Sendable (String) -> Void = { _ in }
    public var progress: @Sendable (CollectProgress) -> Void = { _ in }

    public init(database: Database, config: Config, http: any HTTPTransport, credentials: @escaping CredentialsFactory,
                since: Int64? = nil, sinceText: String? = nil, now: Int64 = TimeArgument.nowMicros(),
                sources selected: [String] = [], maxConcurrency: Int = 4, runID: Int64? = nil) {
        self.database = database
        self.config = config
        self.http = http
        self.credentials = credentials
        self.since = since
        self.sinceText = sinceText
        self.now = now
        self.selected = selected
        self.maxConcurrency = maxConcurrency
        self.runID = runID
    }

    // MARK: - Checks

    /// Parses and checks a `--since` value against `now`.
    /// - Throws: `CollectError.since` for a value that is not a time, is in the future, or is
    ///   more than 90 days back.
    public static func parseSince(_ text: String, now: Int64) throws(CollectError) -> Int64 {
        guard let v = TimeArgument.parse(text, now: now) else {
            throw .since("--since '\(text)' is not a time: use an ISO date/time (2026-11-23, 2026-11-23T04:00:00Z) or a duration (7d, 36h, 90m)")
        }
        try checkSince(v, text: text, now: now)
        return v
    }

    /// - Throws: `CollectError.since` when `since` is after `now` or more than 90 days before it.
    public static func checkSince(_ since: Int64, text: String?, now: Int64) throws(CollectError) {
        let shown = text ?? Timestamp.isoSeconds(since)
        if since > now { throw .since("--since \(shown) is in the future") }
        if now - since > maxSinceDays * Timestamp.microsPerDay {
            throw .since("--since \(shown) is more than \(maxSinceDays) days back; the Activity Log keeps \(maxSinceDays) days — use `aoai-audit import` for older exports")
        }
    }

    /// The configured sources `--source` selects (all when none), in config order.
    /// - Throws: `CollectError.unknownSource` naming the valid names; `ConfigError` when the
    ///   config has no sources.
    public func selectedSources() throws -> [SourceConfig] {
        let all = config.sources
        guard !all.isEmpty else {
            throw ConfigError(path: config.path ?? "config", line: nil, message: "no 'sources:' in the config; add at least one (name:, type:, and the keys of its type)")
        }
        for name in selected where !all.contains(where: { $0.name == name }) {
            throw CollectError.unknownSource(name, valid: all.map(\.name))
        }
        return selected.isEmpty ? all : all.filter { selected.contains($0.name) }
    }

    /// A job per selected source, every config error found before anything runs.
    struct Job: Sendable {
        var source: SourceConfig
        var collector: any Collector
        var needsCredentials: Bool
        var method: AuthMethod?
        var tenant: String?
    }

    func jobs() throws -> [Job] {
        try selectedSources().map { source throws in
            let type = try CollectorRegistry.validate(source)
            let collector = try type.init(source: source)
            let auth = source.auth ?? config.auth
            var method: AuthMethod?
            if let auth {
                guard let m = AuthMethod(rawValue: auth) else {
                    throw source.invalid(nil, "auth '\(auth)' is not one of \(AuthMethod.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                method = m
            }
            return Job(source: source, collector: collector, needsCredentials: type.needsCredentials, method: method, tenant: source.tenant ?? config.tenant)
        }
    }

    // MARK: - Run

    /// Runs the selected sources and records each outcome in `sources`.
    /// - Throws: before any source runs: `CollectError.since`, `CollectError.unknownSource`,
    ///   `ConfigError` (file:line of the bad entry). A source's own failure is not thrown.
    public func run() throws -> CollectSummary {
        if let since { try Self.checkSince(since, text: sinceText, now: now) }
        let jobs = try jobs()
        let store = SourceStore(database: database, runID: runID)
        let results = Results(count: jobs.count)
        let cache = ProviderCache(factory: credentials)
        let next = Results.Counter()
        let http = self.http, endpoints = config.cloud, since = self.since, now = self.now, log = self.log, progress = self.progress
        let group = DispatchGroup()
        for _ in 0..<max(1, min(maxConcurrency, jobs.count)) {
            DispatchQueue.global(qos: .utility).async(group: group) {
                while let i = next.take(below: jobs.count) {
                    let outcome = Self.runOne(jobs[i], http: http, cache: cache, store: store, endpoints: endpoints, since: since, now: now, log: log, progress: progress)
                    results.set(i, outcome)
                }
            }
        }
        group.wait()
        var summary = CollectSummary(outcomes: results.all)
        // Blobs carry every request, Log Analytics per-minute totals of successes: the two cannot
        // be matched, so an account read through both is counted twice.
        let types = Set(summary.outcomes.map(\.type))
        if types.contains(DiagnosticsBlobsCollector.type), types.contains(LogAnalyticsCollector.type) {
            for i in summary.outcomes.indices where summary.outcomes[i].type == LogAnalyticsCollector.type {
                summary.outcomes[i].warnings.append("requests of an account read both from storage (diagnostics-blobs) and from this workspace are counted twice; read each account's resource logs from one of the two")
            }
        }
        // api-version switches need every request row: once per source that loaded requests, and
        // once per request source that ran cleanly — a run killed after its last commit but before
        // this step left request rows whose switches were never derived (deriving is idempotent).
        for i in summary.outcomes.indices where summary.outcomes[i].counts.requests > 0
            || (!summary.outcomes[i].failed && Self.requestSourceTypes.contains(summary.outcomes[i].type)) {
            do {
                summary.derivedChanges += try store.deriveAPIVersionChanges(source: summary.outcomes[i].name)
            } catch {
                summary.outcomes[i].warnings.append("api-version changes not derived: " + Self.oneLine(error, source: summary.outcomes[i].name))
            }
        }
        return summary
    }

    static func runOne(_ job: Job, http: any HTTPTransport, cache: ProviderCache, store: SourceStore, endpoints: CloudEndpoints,
                       since: Int64?, now: Int64, log: @escaping @Sendable (String) -> Void,
                       progress: @Sendable (CollectProgress) -> Void) -> SourceOutcome {
        let name = job.source.name
        progress(.started(name: name, type: job.source.type))
        let counting = CountingTransport(http)
        var outcome: SourceOutcome
        do {
            var tokens: (any TokenProvider)?
            if job.needsCredentials { tokens = try cache.provider(job.method, job.tenant) }
            let checkpoints = try store.withConnection { c in try c.checkpoints(source: name) }
            let context = CollectContext(source: job.source, http: counting, tokens: tokens, endpoints: endpoints, since: since, now: now,
                                         checkpoints: checkpoints, store: store, log: { log("\(name): " + $0) })
            outcome = try job.collector.collect(context)
        } catch {
            outcome = SourceOutcome(name: name, type: job.source.type)
            outcome.error = oneLine(error, source: name)
        }
        outcome.name = name
        outcome.type = job.source.type
        if counting.stats.requests > 0 { outcome.http = counting.stats }
        if let e = outcome.error { outcome.error = oneLine(e, source: name) }
        outcome.warnings = outcome.warnings.map { oneLine($0, source: name) }
        do {
            try store.withConnection { c in try c.recordSourceRun(record(outcome)) }
        } catch {
            outcome.warnings.append("outcome not recorded in the database: " + oneLine(error, source: name))
        }
        progress(.finished(outcome))
        return outcome
    }

    /// The row for `sources`.
    static func record(_ o: SourceOutcome) -> SourceRunRecord {
        SourceRunRecord(name: o.name, type: o.type, finishedUs: TimeArgument.nowMicros(), error: o.error, newRecords: o.counts.loaded,
                        lagUs: o.error == nil ? o.lagSeconds.map { $0 * Timestamp.microsPerSecond } : nil, summary: summaryJSON(o).serialized)
    }

    /// The per-source summary as `sources.summary` and `collect --format json` show it.
    public static func summaryJSON(_ o: SourceOutcome) -> JSONValue {
        func n(_ v: Int) -> JSONValue { .number(String(v)) }
        return .object(JSONObject([
            ("pages", n(o.pages)), ("records", n(o.records)), ("new", n(o.counts.loaded)), ("duplicates", n(o.counts.duplicates)),
            ("quarantined", n(o.counts.quarantined)), ("requests", n(o.http.requests)), ("retries", n(o.http.retries)),
            ("lag_seconds", o.lagSeconds.map { .number(String($0)) } ?? .null),
            ("error", o.error.map { .string($0) } ?? .null),
            ("warnings", .array(o.warnings.map { .string($0) })),
        ]))
    }

    /// One line, redacted, without a leading `source '<name>': ` (the summary names the source).
    static func oneLine(_ error: any Error, source: String) -> String {
        let text: String
        if let e = error as? any LocalizedError, let d = e.errorDescription {
            text = d
        } else {
            text = String(describing: error)
        }
        return oneLine(text, source: source)
    }

    static func oneLine(_ text: String, source: String) -> String {
        var t = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        let prefix = "source '\(source)': "
        if t.hasPrefix(prefix) { t = String(t.dropFirst(prefix.count)) }
        return Redactor.redact(t)
    }
}

// MARK: - Shared state of the worker threads

/// Outcomes by job index, and the next job to take.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [SourceOutcome?]

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ o: SourceOutcome) {
        lock.lock(); defer { lock.unlock() }
        outcomes[i] = o
    }

    var all: [SourceOutcome] {
        lock.lock(); defer { lock.unlock() }
        return outcomes.compactMap { $0 }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0

        func take(below limit: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }
}

/// One token provider per (method, tenant), made on first use, so sources that share them
/// share a token cache. A failure is remembered too: every source that needs it fails alike.
final class ProviderCache: @unchecked Sendable {
    private let lock = NSLock()
    private let factory: CredentialsFactory
    private var providers: [String: Result<any TokenProvider, AuthError>] = [:]

    init(factory: @escaping CredentialsFactory) { self.factory = factory }

    func provider(_ method: AuthMethod?, _ tenant: String?) throws(AuthError) -> any TokenProvider {
        lock.lock(); defer { lock.unlock() }
        let key = (method?.rawValue ?? "default") + "|" + (tenant ?? "")
        if let r = providers[key] { return try r.get() }
        let r: Result<any TokenProvider, AuthError>
        do throws(AuthError) {
            r = .success(try factory(method, tenant))
        } catch {
            r = .failure(error)
        }
        providers[key] = r
        return try r.get()
    }
}

/// Counts one source's requests, retries and bytes on the shared client.
final class CountingTransport: HTTPTransport, @unchecked Sendable {
    private let base: any HTTPTransport
    private let lock = NSLock()
    private var counted = HTTPStats()

    init(_ base: any HTTPTransport) { self.base = base }

    var stats: HTTPStats {
        lock.lock(); defer { lock.unlock() }
        return counted
    }

    func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        do throws(HTTPError) {
            let r = try base.send(request)
            add(attempts: r.attempts, bytes: Int64(r.body.count))
            return r
        } catch {
            switch error {
            case .transport(_, _, let attempts), .exhausted(_, _, let attempts, _): add(attempts: attempts, bytes: 0)
            default: add(attempts: 1, bytes: 0)
            }
            throw error
        }
    }

    private func add(attempts: Int, bytes: Int64) {
        lock.lock(); defer { lock.unlock() }
        counted.requests += 1
        counted.retries += max(0, attempts - 1)
        counted.bytes += bytes
    }
}
