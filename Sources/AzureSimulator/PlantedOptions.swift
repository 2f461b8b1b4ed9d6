import AuditCore

/// What `PlantedScenario.write(to:options:)` produces: the window, the traffic rate and the seed.
///
/// The same options always give the same scenario: identical `truth.json`, diagnostics and
/// activity bytes, and git repositories with identical commit ids.
public struct PlantedOptions: Sendable, Equatable {
    /// Seed of every random choice (estate, plan, traffic, activity and repositories use separate streams).
    public var seed: UInt64 = 1
    /// Start of the window, UTC microseconds (a `Timestamp`); rounded down to the hour.
    /// Default 2026-09-14T00:00:00Z, the day of scenario-1.
    public var start: Int64 = Timestamp.daysFromCivil(2026, 9, 14) * Timestamp.microsPerDay
    /// Length of the window in hours (2…744).
    public var hours: Int = 24
    /// Mean requests per minute of each account, all its callers together (before the diurnal curve).
    public var requestsPerMinute: Int = 60
    /// `aoai-audit demo`'s story: exactly one planted burst, a `key_rotation` near the middle of
    /// the window on an account with a key caller, and the usual decoys (rotations and key
    /// listings elsewhere, role assignments of other principals, old and harmless SDK bumps,
    /// incidents of other regions and services, the stale-key 401 trickle). False (the default)
    /// plans 4–7 bursts of every kind; the same options give the same scenario either way.
    public var demo = false

    /// Scenario-1's shape: 24 hours from 2026-09-14, 60 requests a minute per account.
    public init() {}

    /// Checks the ranges the generator relies on.
    /// - Throws: `GeneratorError.invalidOptions` naming the first bad option.
    public func validate() throws(GeneratorError) {
        if hours < 2 || hours > 744 { throw .invalidOptions("hours must be between 2 and 744, got \(hours)") }
        if requestsPerMinute < 1 || requestsPerMinute > 100_000 {
            throw .invalidOptions("requestsPerMinute must be between 1 and 100000, got \(requestsPerMinute)")
        }
        if start < 0 { throw .invalidOptions("start must not be before 1970") }
    }
}

/// What `PlantedScenario.write(to:options:)` wrote.
public struct PlantedSummary: Sendable, Equatable {
    /// Planted auth-failure bursts, as listed in `truth.json` (a vendor incident counts once
    /// per account it hit).
    public var bursts: Int
    /// `RequestResponse` records written (truth's `diagnostics_records`).
    public var requestRecords: Int
    /// Activity Log events, counted once (truth's `activity_events`; each is in the REST pages
    /// and in the export blobs, some also in Event Hub bodies and the `az` listing).
    public var activityEvents: Int

    /// A summary from its counts.
    public init(bursts: Int, requestRecords: Int, activityEvents: Int) {
        self.bursts = bursts
        self.requestRecords = requestRecords
        self.activityEvents = activityEvents
    }
}

/// Why a planted scenario could not be written.
public enum PlantedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The target folder holds files but no `truth.json`: not a scenario folder, left alone.
    case notAScenarioFolder(String)
    /// An external program (`git`, `gzip`) is missing or failed: program, arguments, its stderr.
    case commandFailed(program: String, arguments: [String], message: String)

    /// A one-line explanation naming the folder or command.
    public var description: String {
        switch self {
        case .notAScenarioFolder(let path):
            return "\(path) is not empty and holds no truth.json; write a planted scenario to a new or empty folder"
        case .commandFailed(let program, let arguments, let message):
            return "\(program) \(arguments.joined(separator: " ")) failed: \(message)"
        }
    }
}
