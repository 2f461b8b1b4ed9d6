import AuditCore

/// What `ScenarioGenerator.write(to:options:)` produces: how much traffic, over which window,
/// for how large an estate, and from which seed.
///
/// The same options always give byte-identical files.
public struct GeneratorOptions: Sendable, Equatable {
    /// Seed of every random choice (topology, requests and activity use separate streams).
    public var seed: UInt64 = 1
    /// First hour of traffic, UTC microseconds (a `Timestamp`); rounded down to the hour.
    /// Default 2026-09-01T00:00:00Z.
    public var start: Int64 = Timestamp.daysFromCivil(2026, 9, 1) * Timestamp.microsPerDay
    /// Length of the window in days.
    public var days: Int = 30
    /// Total `RequestResponse` records across all accounts and hours (written exactly).
    public var requestRecords: Int = 100_000
    /// Number of Azure OpenAI accounts.
    public var accounts: Int = 4
    /// Number of subscriptions the accounts are spread over.
    public var subscriptions: Int = 2
    /// Share of requests that fail with 401 in the background (a stale key somewhere).
    public var failureRate: Double = 0.0025
    /// Administrative Activity Log events per day (BeginRequest/EndRequest pairs, so rounded
    /// down to an even number); a few ServiceHealth events come on top.
    public var activityEventsPerDay: Int = 40
    /// Must stay `false`: the generator writes plain JSON; scripts compress with `gzip(1)`.
    public var gzip: Bool = false

    /// Default options: 30 days from 2026-09-01, 100,000 requests over 4 accounts in 2 subscriptions.
    public init() {}

    /// Checks the ranges the generator relies on.
    /// - Throws: `GeneratorError.invalidOptions` naming the first bad option.
    public func validate() throws(GeneratorError) {
        if days < 1 || days > 3660 { throw .invalidOptions("days must be between 1 and 3660, got \(days)") }
        if requestRecords < 0 { throw .invalidOptions("requestRecords must not be negative, got \(requestRecords)") }
        if accounts < 1 || accounts > 1000 {
            throw .invalidOptions("accounts must be between 1 and 1000, got \(accounts)")
        }
        if subscriptions < 1 || subscriptions > 100 {
            throw .invalidOptions("subscriptions must be between 1 and 100, got \(subscriptions)")
        }
        if !(failureRate >= 0 && failureRate <= 0.5) {
            throw .invalidOptions("failureRate must be between 0 and 0.5, got \(failureRate)")
        }
        if activityEventsPerDay < 0 || activityEventsPerDay > 100_000 {
            throw .invalidOptions("activityEventsPerDay must be between 0 and 100000, got \(activityEventsPerDay)")
        }
        if gzip { throw .invalidOptions("gzip output is not built in; compress the files with gzip(1)") }
        if start < 0 { throw .invalidOptions("start must not be before 1970") }
    }
}

/// What was written.
public struct GeneratorSummary: Sendable, Equatable {
    /// Files written (diagnostics blobs, REST pages and export blobs).
    public var files: Int
    /// `RequestResponse` records written (equals `GeneratorOptions.requestRecords`).
    public var requestRecords: Int
    /// Activity Log events, counted once (each is in both the REST pages and the export blobs).
    public var activityEvents: Int
    /// Total bytes written.
    public var bytes: Int64

    /// A summary from its counts.
    public init(files: Int, requestRecords: Int, activityEvents: Int, bytes: Int64) {
        self.files = files
        self.requestRecords = requestRecords
        self.activityEvents = activityEvents
        self.bytes = bytes
    }
}
