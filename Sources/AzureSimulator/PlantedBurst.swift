/// The true cause of a planted burst, spelled as `truth.json` spells it.
enum PlantedKind: String, CaseIterable, Sendable {
    case keyRotation = "key_rotation"
    case localAuthDisabled = "local_auth_disabled"
    case roleAssignmentRemoved = "role_assignment_removed"
    case sdkBump = "sdk_bump"
    case vendorIncident = "vendor_incident"
    case unexplained
}

/// One planted auth-failure burst: its cause, where and when it hits, and how it ends.
///
/// Times are 100-ns ticks since the Unix epoch. A vendor incident hits every account of a
/// region (`accounts` holds them all); every other kind hits one account.
struct PlantedBurst {
    var kind: PlantedKind
    var accounts: [Int]
    /// When the cause happened: the operation's EndRequest, the commit, or the incident's impact start.
    var cause: Int64
    /// The first failure (of the first account hit).
    var onset: Int64
    /// When the last affected caller stopped failing (may lie past the window end).
    var end: Int64
    /// The app involved: the principal losing its role, the app whose SDK was bumped, or the
    /// existing caller of an `unexplained` burst; nil otherwise.
    var app: Int?

    /// `sdk_bump`: the `openai` pins and the api-versions before and after.
    var oldPin = "", newPin = "", oldAPIVersion = "", newAPIVersion = ""
    /// `sdk_bump` reverted by a commit, `role_assignment_removed` restored by a new assignment,
    /// `local_auth_disabled` re-enabled by an account write — at `end`, when true.
    var undone = false
    /// `unexplained`: a new caller appears (true) or an existing app fails (false).
    var newcomer = false
    /// `vendor_incident`: when the Service Health "Active" communication is posted.
    var posted: Int64 = 0
    /// `vendor_incident`: the Service Health tracking id.
    var trackingId = ""
}

/// Failures planted on one caller of one account: requests logged in `[from, to)` fail with
/// `status` with `probability`; the request at exactly `from` is always there and always fails,
/// so a burst's first failure is known exactly.
struct PlantedEffect {
    var burst: Int
    var account: Int
    var caller: Int
    var from: Int64
    var to: Int64
    var status: Int
    var probability: Double
    var responseLength: Int64
}

/// A caller that uses another api-version in `[from, to)` (an SDK bump deployed, until reverted).
struct PlantedVersionSwitch {
    var account: Int
    var caller: Int
    var from: Int64
    var to: Int64
    var apiVersion: String
}

/// A caller whose traffic exists only in `[from, to)` at a constant rate (an `unexplained`
/// newcomer: failing until its burst ends, then succeeding for a few minutes, then gone).
struct PlantedExtraTraffic {
    var account: Int
    var caller: Int
    var from: Int64
    var to: Int64
    var perMinute: Double
}

/// Error body lengths of formats.md §5, as `responseLength` carries them.
enum PlantedErrorBody {
    static let key = Int64(RequestResponseWriter.keyErrorLength)
    static let token = Int64(RequestResponseWriter.tokenErrorLength)
    static let disabled = Int64(RequestResponseWriter.disabledLength)
    static let permissionDenied = Int64(
        #"{"error":{"code":"PermissionDenied","message":"Principal does not have access to API/Operation."}}"#.utf8.count)
    static let throttled = Int64(RequestResponseWriter.throttledLength)

    /// The 401 body a caller gets when its credential is refused: the key error or the token error.
    static func unauthorized(_ caller: PlantedEstate.Caller) -> Int64 { caller.usesKey ? key : token }
}

/// Tick arithmetic shared by the planted-scenario files.
enum PlantedTime {
    static let second: Int64 = 10_000_000
    static let minute: Int64 = 600_000_000
    static let hour: Int64 = 36_000_000_000
    static let day: Int64 = 864_000_000_000
}
