import AuditCore
import Foundation

/// The Azure side of the local simulator: a pure request handler (no sockets) that answers
/// every endpoint family the collectors call, from one base URL.
///
/// Routing is by path only (the host is ignored, except by the data plane, which reads the
/// account from `<account>.openai.azure.com`), so `cloud.arm`, `cloud.login`,
/// `cloud.log_analytics` and a blob `account_url` may all point at the same `127.0.0.1` port:
///
/// | route | family |
/// |---|---|
/// | `POST /{tenant}/oauth2/v2.0/token` | Entra client credentials (secret or workload-identity assertion) |
/// | `GET /subscriptions/{sub}/providers/microsoft.insights/eventtypes/management/values` | Activity Log (`$filter`, `$select`, `nextLink`) |
/// | `GET /{scope}/providers/Microsoft.Authorization/roleAssignments` | role assignments (`atScope()`, `principalId eq`, `assignedTo()`) |
/// | `GET /{scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]` | built-in role definitions |
/// | `GET /{scope}/providers/Microsoft.Authorization/permissions` | the caller's effective actions at a scope (SimAzurePermissions.swift) |
/// | `GET /subscriptions/{sub}[/resourceGroups/{rg}]/providers/Microsoft.CognitiveServices/accounts[/{name}]` | accounts (list, GET; `POST …/listKeys`) |
/// | `POST /v1/workspaces/{id}/query` | Log Analytics (the collector's two KQL shapes) |
/// | `GET /status/{azure.rss,openai.atom,incidents.json}` | status feeds (ETag, Last-Modified, 304) |
/// | `POST /openai/deployments/{d}/{chat/completions,completions,embeddings}` | Azure OpenAI data plane |
/// | `GET|HEAD /{storageAccount}/{container}[/{blob}]` | Blob service (List Blobs, Get Blob with ranges, properties) |
///
/// Path matching is case-insensitive where Azure's is (ARM, the data plane); blob names are
/// case-sensitive. Paths of the Azure Monitor export layout
/// (`resourceId=/SUBSCRIPTIONS/…/y=2026/m=09/d=14/h=01/m=00/PT1H.json`) are served as-is.
///
/// ```swift
/// let azure = try SimAzure(scenario: "/tmp/scenario-7", options: SimAzureOptions())
/// let server = SimHTTPServer(handler: azure.handler)
/// ```
///
/// Thread safety: `@unchecked Sendable` is sound because every mutable field lives in one
/// value (`state`) that is read and written only while `lock` (an `NSLock`) is held; each
/// public member takes the lock for its whole run and never calls out while holding it, so
/// concurrent `handle(_:)` calls from connection threads and test mutations serialize. Nothing
/// blocks under the lock: faults such as delays are returned in `SimResponse.fault` for the
/// server to act on.
public final class SimAzure: @unchecked Sendable {
    private let lock = NSLock()
    private var state: SimAzureState

    /// A simulator serving the scenario folder written by `PlantedScenario.write(to:options:)`.
    ///
    /// Reads `activity/rest-page-*.json` (Activity Log events), `activity/PT1H-*.json` (the
    /// `insights-activity-logs` container, split per subscription),
    /// `diagnostics/<account>/PT1H-*.json[.gz]` (the `insights-logs-requestresponse` container,
    /// Log Analytics rows, accounts, deployments and Entra callers), `status/*` (feeds) and
    /// `truth.json` (window end, original-case account ids) when present.
    ///
    /// Also reads the export layout of `aoai-audit generate` (`ScenarioGenerator`):
    /// `diagnostics/resourceId=/…/PT1H.json` become blobs of `insights-logs-requestresponse`
    /// and `activity/resourceId=/…/PT1H.json` blobs of `insights-activity-logs`, each named by
    /// its path under `diagnostics/` or `activity/`. These are **file-backed**: only name, size,
    /// ETag and creation time (the hour in the path) are kept, and each Get Blob reads its
    /// range from the file, so a data set of any size loads in well under a second and does not
    /// sit in memory. Their records become Log Analytics rows only when
    /// `SimAzureOptions.indexDiagnosticsForLogAnalytics` is `true`. Appending to a file-backed
    /// blob (`appendToBlob`) first copies the file's content into memory; the file is never
    /// written.
    ///
    /// - Throws: `SimAzureError.badScenario` when the folder or one of its files is unreadable.
    public init(scenario directory: String, options: SimAzureOptions = SimAzureOptions()) throws(SimAzureError) {
        var s = SimAzureState(options: options)
        try s.load(scenario: directory)
        s.finishLoading()
        state = s
    }

    /// A simulator with an empty estate, for tests that fill it through the mutation APIs.
    public init(options: SimAzureOptions = SimAzureOptions()) {
        var s = SimAzureState(options: options)
        s.finishLoading()
        state = s
    }

    /// Answers one request (the `SimHandler`). Safe to call from any thread.
    ///
    /// A Get Blob of a file-backed blob reads its range from the file after the lock is
    /// released, so large reads from several connections run in parallel.
    public func handle(_ request: SimRequest) -> SimResponse {
        let (answer, fileRead) = locked { s -> (SimResponse, SimFileRead?) in
            let r = s.handle(request)
            defer { s.pendingFileRead = nil }
            return (r, s.pendingFileRead)
        }
        guard let fileRead else { return answer }
        var response = answer
        guard let bytes = fileRead.read() else {
            return locked { s in
                s.blobError(
                    500, "InternalError", "The simulator could not read the file behind this blob (\(fileRead.path)): it was removed or shortened.",
                    request: request)
            }
        }
        response.body = bytes
        return response
    }

    /// `handle(_:)` as a `SimHandler`, for `SimHTTPServer(handler:)`.
    public var handler: SimHandler { { [self] request in self.handle(request) } }

    /// Runs `body` with the state locked (the only way the family files reach `state`).
    func locked<T>(_ body: (inout SimAzureState) throws(SimAzureError) -> T) throws(SimAzureError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }

    func locked<T>(_ body: (inout SimAzureState) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }

    // MARK: - Options, clock, counters

    /// Changes options (fault knobs, paging, identity) while the simulator runs.
    public func updateOptions(_ change: (inout SimAzureOptions) -> Void) {
        locked { change(&$0.options) }
    }

    /// The options in force.
    public var options: SimAzureOptions { locked { $0.options } }

    /// The simulator's current time, UTC microseconds.
    public var now: Int64 { locked { $0.now } }

    /// Moves the simulator's clock forward (token expiry, SAS expiry, Log Analytics ingestion,
    /// the 90-day limit) without waiting.
    public func advanceClock(seconds: Double) {
        locked { $0.clockOffset += Int64(seconds * 1_000_000) }
    }

    /// Requests handled so far, every family.
    public var requestCount: Int { locked { $0.requestCount } }

    /// Requests handled so far in one family.
    public func requestCount(_ family: SimAzureFamily) -> Int { locked { $0.familyCounts[family] ?? 0 } }

    /// Every request handled, oldest first, as `METHOD /path` (no query string, headers or
    /// body, so no secrets). A long-running simulator keeps the newest 100,000–200,000.
    public func requestLog() -> [String] { locked { $0.log } }

    // MARK: - What the estate holds (for configs pointing at the simulator)

    /// Subscription ids (lower case, sorted) of the accounts and the Activity Log events.
    public var subscriptions: [String] {
        locked { s in
            var subs = Set(s.accounts.values.map { $0.subscription.lowercased() })
            for e in s.activity where !e.subscription.isEmpty { subs.insert(e.subscription) }
            return subs.filter { !$0.isEmpty }.sorted()
        }
    }

    /// Status feed names served under `/status/` (`azure.rss`, …), sorted.
    public var feedNames: [String] { locked { $0.feeds.keys.sorted() } }

    /// Container names of the Blob service, sorted.
    public var containerNames: [String] { locked { $0.containers.keys.sorted() } }
}

/// Everything a `SimAzure` knows and counts. A value type mutated only under `SimAzure`'s
/// lock; each endpoint family extends it in its own file.
struct SimAzureState {
    var options: SimAzureOptions
    var ids: SimIDs

    // Clock: `baseNow` at `started`, then the real monotonic clock plus `clockOffset`.
    let started = ContinuousClock.now
    var baseNow: Int64 = 0
    var clockOffset: Int64 = 0
    /// End of the scenario window (truth.json `end`, else after its newest record).
    var scenarioEnd: Int64?

    /// The request log keeps at most this many entries (the newest) on a long-running server.
    static let logLimit = 200_000

    // Counters.
    var requestCount = 0
    var familyCounts: [SimAzureFamily: Int] = [:]
    var log: [String] = []
    /// ARM, blob and Log Analytics requests (`throttleEvery`).
    var throttleCounter = 0
    /// Get Blob requests (`serverErrorEvery`, `truncateEvery`, `resetEvery`).
    var blobGetCounter = 0
    /// Log Analytics queries received (`partialErrorEvery`) and answered with 200.
    var laQueriesReceived = 0
    var laQueriesServed = 0
    /// Data-plane requests (`dataPlaneThrottleEvery`).
    var dataPlaneCounter = 0
    /// ARM reads so far (the `x-ms-ratelimit-remaining-subscription-reads` countdown).
    var armReads = 0
    /// The id of the request being handled (`x-ms-request-id` of ARM and storage answers).
    var currentRequestID = ""

    // Entra.
    var clients: [String: SimClient] = [:]
    var tokens: [String: SimToken] = [:]

    // Activity Log, newest first (`eventTimestamp` descending, then load order).
    var activity: [SimActivityEvent] = []
    var activitySequence = 0

    // Blob service: container → blob name → blob.
    var containers: [String: [String: SimBlob]] = [:]
    /// Set by a Get Blob of a file-backed blob: the range `SimAzure.handle` reads into the body.
    var pendingFileRead: SimFileRead?

    // Log Analytics `AzureDiagnostics` rows.
    var diagnostics: [SimDiagnosticRecord] = []

    // Status feeds by file name.
    var feeds: [String: SimFeed] = [:]

    // Accounts (by lower-cased resource id) and role assignments.
    var accounts: [String: SimAccount] = [:]
    var assignments: [SimRoleAssignment] = []
    /// Original-case ARM ids from truth.json and the Activity Log, by lower-cased id.
    var knownIDs: [String: String] = [:]

    init(options: SimAzureOptions) {
        self.options = options
        ids = SimIDs(seed: options.seed)
        clients[options.clientID.lowercased()] = SimClient(
            id: options.clientID, secret: options.clientSecret, objectID: options.clientObjectID,
            assertion: options.federatedAssertion)
    }

    /// Sets the clock and builds what depends on the whole scenario (accounts, assignments).
    mutating func finishLoading() {
        baseNow = options.now ?? scenarioEnd.map { $0 + Timestamp.microsPerHour } ?? TimeArgument.nowMicros()
        stampLoadedFeeds()
        buildEstate()
    }

    /// The simulator's current time, UTC microseconds.
    var now: Int64 {
        let elapsed = ContinuousClock.now - started
        let (seconds, attoseconds) = elapsed.components
        return baseNow + clockOffset + seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    // MARK: - Routing

    /// Which family answers `request`.
    static func family(of request: SimRequest) -> SimAzureFamily {
        let lower = request.path.lowercased()
        let segments = lower.split(separator: "/")
        guard let first = segments.first else { return .unknown }
        if segments.count == 4, segments[1] == "oauth2", segments[2] == "v2.0", segments[3] == "token" { return .token }
        if first == "status" { return .statusFeeds }
        if first == "openai" { return .dataPlane }
        if first == "v1", segments.count == 4, segments[1] == "workspaces", segments[3] == "query" { return .logAnalytics }
        if first == "subscriptions" || first == "providers" {
            if lower.contains("/providers/microsoft.insights/eventtypes/management/values") { return .activityLog }
            if lower.contains("/providers/microsoft.authorization/") { return .rbac }
            if lower.contains("/providers/microsoft.cognitiveservices/accounts") { return .accounts }
            return .unknown
        }
        return segments.count >= 2 ? .blobs : .unknown
    }

    mutating func handle(_ request: SimRequest) -> SimResponse {
        requestCount += 1
        currentRequestID = ids.guid()
        let family = Self.family(of: request)
        familyCounts[family, default: 0] += 1
        log.append(request.method + " " + request.path)
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit / 2) }

        let metered = family == .activityLog || family == .rbac || family == .accounts || family == .blobs || family == .logAnalytics
        let lowerPath = request.path.lowercased()
        let isARM = family == .activityLog || family == .rbac || family == .accounts
            || (family == .unknown && (lowerPath.hasPrefix("/subscriptions") || lowerPath.hasPrefix("/providers")))
        var isThrottled = false
        if metered {
            throttleCounter += 1
            if let n = options.throttleEvery, n > 0, throttleCounter % n == 0 { isThrottled = true }
        }
        var response: SimResponse
        if isThrottled {
            response = throttled(request, family: family)
        } else {
            switch family {
            case .token: response = handleToken(request)
            case .activityLog: response = handleActivity(request)
            case .blobs: response = handleBlob(request)
            case .logAnalytics: response = handleLogAnalytics(request)
            case .statusFeeds: response = handleFeed(request)
            case .rbac: response = Self.isPermissionsPath(request.path) ? handlePermissions(request) : handleRBAC(request)
            case .accounts: response = handleAccounts(request)
            case .dataPlane: response = handleDataPlane(request)
            case .unknown:
                response = isARM
                    ? armError(404, "InvalidResourceType", "The resource type could not be found for the path '\(request.path)'.")
                    : SimResponse.json(404, #"{"error":{"code":"NotFound","message":"The simulator serves no resource at this path."}}"#)
            }
        }
        if isARM { addARMHeaders(&response, request: request, throttled: isThrottled) }
        if metered, response.fault == nil, let delay = options.slowSeconds, delay > 0 {
            response.fault = .delay(seconds: delay)
        }
        return response
    }

    /// The 429 of `throttleEvery`, in the family's own error shape.
    mutating func throttled(_ request: SimRequest, family: SimAzureFamily) -> SimResponse {
        let retry = options.retryAfterSeconds
        switch family {
        case .blobs:
            var r = blobError(
                429, "ServerBusy", "Operations per second is over the account limit.", request: request)
            r.headers.append(("Retry-After", retry))
            return r
        case .logAnalytics:
            return SimResponse.json(
                429,
                #"{"error":{"code":"ThrottledError","message":"Your request was throttled. Please retry after \#(retry) seconds.","correlationId":"\#(ids.guid())"}}"#,
                headers: [("Retry-After", retry)])
        default:
            let segments = request.path.split(separator: "/")
            let sub = segments.count >= 2 && segments[0].lowercased() == "subscriptions" ? String(segments[1]) : ""
            let actor = bearerToken(request).flatMap { tokens[$0]?.objectID } ?? ""
            let message = "Number of 'read' requests for subscription '\(sub)' actor '\(actor)' exceeded. Please try again after '\(retry)' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information."
            var r = armError(429, "SubscriptionRequestsThrottled", message)
            r.headers.append(("Retry-After", retry))
            return r
        }
    }
}
