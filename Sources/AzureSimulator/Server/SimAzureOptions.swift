import AuditCore
import Foundation

/// How a `SimAzure` behaves: the identity it accepts, paging, fault knobs and its clock.
///
/// Every knob defaults to "behave like a healthy Azure". Knobs named `…Every: N` fire on every
/// Nth request of the family they name (the Nth, 2Nth, …), counted from the simulator's start;
/// `nil` or a value below 1 turns them off. `SimAzure.updateOptions(_:)` changes them while the
/// simulator runs.
///
/// ```swift
/// var options = SimAzureOptions()
/// options.throttleEvery = 3        // every third ARM/blob/Log Analytics request answers 429
/// options.pageSize = 50
/// let azure = try SimAzure(scenario: "/tmp/scenario-7", options: options)
/// ```
public struct SimAzureOptions: Sendable {
    // MARK: - Identity

    /// The Entra tenant (`tid` of issued tokens; the token endpoint's `{tenant}` path segment).
    public var tenant = "99999999-8888-7777-6666-555555555555"
    /// The application (client) id the token endpoint knows.
    public var clientID = "12345678-aaaa-bbbb-cccc-1234567890ab"
    /// That application's client secret.
    public var clientSecret = "sim-client-secret-value"
    /// Object id of that application's service principal (`oid` of its tokens).
    public var clientObjectID = "dddddddd-1111-2222-3333-444444444444"
    /// The workload-identity assertion (`client_assertion`) accepted for `clientID`; nil: none.
    public var federatedAssertion: String?
    /// The `sig=` value a blob SAS must carry.
    public var sasSignature = "sim-sas-signature"
    /// Log Analytics workspace ids that exist; empty: every id does.
    public var workspaceIDs: Set<String> = []
    /// Account keys by account name (lower-cased), `[key1, key2]`; accounts not named here get
    /// deterministic 32-hex keys (`SimAzure.accountKeys(account:)`).
    public var accountKeys: [String: [String]] = [:]
    /// The account the data plane answers for when the `Host` is loopback (not
    /// `<account>.openai.azure.com`); nil: the first account by name.
    public var dataPlaneAccount: String?
    /// Principals (object ids) whose bearer tokens lack Storage Blob Data Reader: their blob
    /// requests get `403 AuthorizationPermissionMismatch`.
    public var blobForbiddenPrincipals: Set<String> = []
    /// Subscriptions whose Activity Log the caller may not read: `403 AuthorizationFailed`.
    public var activityForbidden: Set<String> = []

    // MARK: - Paging

    /// Items per page of ARM lists (Activity Log events, accounts, role assignments).
    public var pageSize = 200

    // MARK: - Faults

    /// Every Nth ARM, blob or Log Analytics request answers `429` with `Retry-After`.
    public var throttleEvery: Int?
    /// The `Retry-After` value (seconds) of every 429.
    public var retryAfterSeconds = "1"
    /// Every Nth Get Blob answers `503 ServerBusy`.
    public var serverErrorEvery: Int?
    /// Every Nth Get Blob sends half its body and closes (`SimFault.truncate`).
    public var truncateEvery: Int?
    /// Every Nth Get Blob is answered by a TCP reset (`SimFault.reset`).
    public var resetEvery: Int?
    /// Every ARM, blob and Log Analytics response waits this long (`SimFault.delay`).
    public var slowSeconds: Double?
    /// Every Nth Log Analytics query answers 200 with half its rows and a `PartialError`.
    public var partialErrorEvery: Int?
    /// Every Nth data-plane request answers `429` (the Azure OpenAI rate-limit body).
    public var dataPlaneThrottleEvery: Int?

    // MARK: - Time

    /// Lifetime of issued tokens in seconds (`expires_in` and the JWT `exp`); nil: 3599.
    public var expireTokensAfter: Double?
    /// The simulator's time at start, UTC microseconds; it then advances with the real clock
    /// (and `SimAzure.advanceClock(seconds:)`). nil: one hour after the scenario's end (its
    /// `truth.json` `end`, else the hour after its newest record), or the real clock for an
    /// empty estate.
    public var now: Int64?
    /// Each diagnostics record reaches Log Analytics this many seconds after its `time`
    /// (chosen per record, deterministically, within the range).
    public var ingestionLagSeconds: ClosedRange<Int> = 60...300
    /// Whether the scenario's `RequestResponse` records also become Log Analytics rows when it
    /// loads (each record parsed and kept in memory). nil (the default) decides by layout:
    /// yes for `PlantedScenario`'s `diagnostics/<account>/PT1H-*.json[.gz]`, no for the export
    /// layout `diagnostics/resourceId=/…/PT1H.json` that `aoai-audit generate` writes (a
    /// million records are ~800 MB; its blobs are served from the files and only the first MiB
    /// of each resource is read, for the estate). `true` indexes both, `false` neither (the
    /// planted blobs are still served and the estate still discovered).
    public var indexDiagnosticsForLogAnalytics: Bool?
    /// Seed of the ids the simulator hands out (request ids, ETags, token ids).
    public var seed: UInt64 = 1
    /// Region in `x-ms-routing-request-id` (`EASTUS:20240529T140211Z:<guid>`).
    public var routingRegion = "EASTUS"

    /// A healthy Azure with the default identity.
    public init() {}
}

/// The endpoint families the simulator serves, for per-family request counts.
public enum SimAzureFamily: String, Sendable, CaseIterable {
    /// `POST /{tenant}/oauth2/v2.0/token`.
    case token
    /// `…/providers/microsoft.insights/eventtypes/management/values`.
    case activityLog
    /// Blob service: List Blobs, Get Blob, HEAD.
    case blobs
    /// `POST /v1/workspaces/{id}/query`.
    case logAnalytics
    /// `/status/…` feeds.
    case statusFeeds
    /// `…/providers/Microsoft.Authorization/roleAssignments|roleDefinitions`.
    case rbac
    /// `…/providers/Microsoft.CognitiveServices/accounts…`.
    case accounts
    /// `/openai/deployments/{d}/…` (Azure OpenAI inference).
    case dataPlane
    /// Anything else (answered 404).
    case unknown
}

/// Why a simulator could not be built or fed.
public enum SimAzureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A scenario file or folder is missing or unreadable: path and reason.
    case badScenario(path: String, reason: String)
    /// A JSON document given to a mutation API does not parse or lacks a field.
    case badJSON(String)

    /// A one-line explanation naming the file or the problem.
    public var description: String {
        switch self {
        case .badScenario(let path, let reason): return "cannot load the simulator scenario at \(path): \(reason)"
        case .badJSON(let reason): return "simulator input is not usable JSON: \(reason)"
        }
    }
}
