import AuditCore

/// The fixed vocabulary of causes (issue contract) and their buckets.
public enum CauseKind: String, Sendable, CaseIterable {
    case keyRotation = "key_rotation"
    case localAuthDisabled = "local_auth_disabled"
    case roleAssignmentRemoved = "role_assignment_removed"
    case networkRuleChange = "network_rule_change"
    case keyvaultSecretChange = "keyvault_secret_change"
    case sdkBump = "sdk_bump"
    case apiVersionChange = "api_version_change"
    case vendorIncident = "vendor_incident"
    case manualChange = "manual_change"
    case unexplained

    public var bucket: String {
        switch self {
        case .keyRotation, .localAuthDisabled, .roleAssignmentRemoved, .networkRuleChange, .keyvaultSecretChange, .manualChange:
            return "auth_config_drift"
        case .sdkBump, .apiVersionChange: return "sdk_api_version"
        case .vendorIncident: return "rate_quota_vendor"
        case .unexplained: return "unknown"
        }
    }
}

/// One piece of evidence a candidate cites.
public struct Evidence: Sendable, Equatable {
    /// eventDataId, feed/ServiceHealth id, commit id…
    public var sourceID: String
    public var correlationID: String?
    public var timeUs: Int64
    public var actor: String?
    public var summary: String
    public var url: String?
}

/// A candidate cause of a burst, scored.
public struct Candidate: Sendable, Equatable {
    public var kind: CauseKind
    public var score: Double
    public var explanation: String
    public var evidence: [Evidence]
    /// The change time (for ordering and the timeline).
    public var timeUs: Int64
}

/// A burst of 401/403 failures on one resource.
public struct Burst: Sendable, Equatable {
    public var resourceID: String
    public var startUs: Int64
    public var endUs: Int64
    public var peakPerMinute: Int
    public var failures: Int
    public var statusCodes: [Int: Int]
    /// Failing callers (object id or masked IP), most failures first.
    public var callers: [String]
    /// Callers with requests during the burst and no burst of their own.
    public var succeeding: [String]
    public var apiVersions: [String]
    /// key_error, token_error, permission_denied, auth_type_disabled or mixed.
    public var signature: String
    public var fleetID: String?
    /// Correlation ids of the first failing requests (for support tickets).
    public var sampleCorrelationIDs: [String]
    public var region: String?
    public var candidates: [Candidate] = []
    /// The latest `aoai-audit probe` of this resource from 5 minutes before the start to an
    /// hour after the end: evidence of what the service answers now, never a cause (it does
    /// not change any score).
    public var probe: ProbeConfirmation?

    public var topCause: Candidate? { candidates.first }
}

/// A stored data-plane probe seen during a burst, and whether it reproduces its signature.
public struct ProbeConfirmation: Sendable, Equatable {
    public var timeUs: Int64
    /// ok, invalid_key_or_endpoint, key_auth_disabled, token_rejected, no_data_plane_role, …
    public var probeClass: String
    public var status: Int
    public var apimRequestID: String?
    /// confirms, not_reproduced or differs (the same rule as the named query `probes`).
    public var verdict: String

    public init(timeUs: Int64, probeClass: String, status: Int, apimRequestID: String?, signature: String) {
        self.timeUs = timeUs
        self.probeClass = probeClass
        self.status = status
        self.apimRequestID = apimRequestID
        verdict = Self.verdict(probeClass: probeClass, status: status, signature: signature)
    }

    static func verdict(probeClass: String, status: Int, signature: String) -> String {
        switch (probeClass, signature) {
        case ("ok", _): return "not_reproduced"
        case ("invalid_key_or_endpoint", "key_error"), ("invalid_key_or_endpoint", "mixed"),
             ("key_auth_disabled", "auth_type_disabled"), ("key_auth_disabled", "mixed"),
             ("token_rejected", "token_or_permission_error"), ("token_rejected", "mixed"),
             ("no_data_plane_role", "token_or_permission_error"), ("no_data_plane_role", "mixed"):
            return "confirms"
        case ("other", "forbidden") where status == 403: return "confirms"
        default: return "differs"
        }
    }
}

/// What `correlate` returns.
public struct CorrelationReport: Sendable {
    public var sinceUs: Int64
    public var untilUs: Int64
    public var bursts: [Burst]
    /// Microseconds the analysis took.
    public var elapsedUs: Int64
    /// Callers that kept failing through the window without a burst of their own.
    public var steadyFailures: [SteadyFailure] = []
}

/// A caller whose requests to one resource failed with 401/403 all along (at least
/// `minShare` of them, at least `minFailures`) outside any burst: a forgotten job with a stale
/// key, an app that never got its role. No change explains it because nothing changed; it is
/// reported beside the bursts, never scored.
public struct SteadyFailure: Sendable, Equatable {
    public var resourceID: String
    /// Entra object id, or the masked IP of a key caller.
    public var caller: String
    public var requests: Int
    public var failures: Int
    public var statusCodes: [Int: Int]
    /// The first failing minute's start and the last failing minute's end.
    public var firstUs: Int64
    public var lastUs: Int64
    /// Distinct clock hours with a failure.
    public var hoursFailing: Int

    public static let minShare = 0.9
    public static let minFailures = 5

    public var isKeyCaller: Bool { caller.contains("*") }
}

/// Tuning of the detector and the scorer.
public struct CorrelationOptions: Sendable {
    public var sinceUs: Int64
    public var untilUs: Int64
    /// ARM id or account name; nil for all.
    public var resource: String?
    /// How far before a burst changes are considered.
    public var lookbackUs: Int64 = 24 * Timestamp.microsPerHour
    /// Minimum score for a cause; below it the burst is `unexplained`.
    public var threshold = 0.25
    /// Quiet minutes allowed inside one burst.
    public var maxGapMinutes = 2
    /// Bursts on several resources starting this close are one fleet event.
    public var fleetWindowUs: Int64 = 5 * Timestamp.microsPerMinute

    public init(sinceUs: Int64, untilUs: Int64) {
        self.sinceUs = sinceUs
        self.untilUs = untilUs
    }
}
