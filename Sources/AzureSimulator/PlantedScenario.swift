import AuditCore
import Foundation

/// Writes a scenario like `../shared/fixtures/scenario-1` for any seed: an Azure OpenAI estate's
/// logs with auth-failure bursts planted on purpose, each with a realistic cause and effect, and
/// `truth.json` naming every burst's true cause and evidence. The correlation engine is measured
/// against it.
///
/// What a scenario holds (see the `Planted*` types for each part):
/// - 2 subscriptions, 3–5 accounts (`aoai-<word>-<region><n>`, two or more in one region), 4–8
///   apps each calling one account with an api key (`objectId` "") or an Entra identity;
/// - steady diurnal traffic (`requestsPerMinute` per account on average), a background 401
///   trickle of about 1 request in 400 (mostly one or two forgotten jobs with a stale key);
/// - 4–7 planted bursts of the kinds `key_rotation`, `local_auth_disabled`,
///   `role_assignment_removed`, `sdk_bump`, `vendor_incident` and `unexplained`: one starts within
///   30 minutes of an edge of the window, two on different accounts overlap, and bursts on one
///   account are at least 45 minutes apart;
/// - decoys: rotations and key listings with no failures after them, role assignments of
///   unrelated principals, old and harmless SDK bumps, incidents of other regions and services,
///   and everyday deployments, diagnostic settings and RAI policy writes.
///
/// ```swift
/// var options = PlantedOptions()
/// options.seed = 7
/// let summary = try PlantedScenario.write(to: "/tmp/scenario-7", options: options)
/// ```
public enum PlantedScenario {
    /// Writes the scenario under `directory`, in scenario-1's layout:
    ///
    /// - `activity/rest-page-NNN.json`, `activity/PT1H-YYYYMMDDHH.json` (export shape, the same
    ///   events), `activity/eventhub-YYYYMMDDHH.json` for some hours, `activity/az-activity-log-list.json`;
    /// - `diagnostics/<account>/PT1H-YYYYMMDDHH.json.gz` — `RequestResponse` JSON lines, compressed
    ///   with the system `gzip -n` (plain `.json` when no `gzip` is on `PATH`);
    /// - `status/azure.rss`, `status/openai.atom`, `status/incidents.json`;
    /// - `repos/<app>/` — git repositories made with the `git` binary (required);
    /// - `truth.json`.
    ///
    /// `directory` must be missing, empty, or an earlier scenario (it holds `truth.json`; its
    /// `activity`, `diagnostics`, `status` and `repos` folders are then replaced).
    ///
    /// - Returns: the counts written (equal to truth's).
    /// - Throws: `GeneratorError` for bad options or a failed write, `PlantedError` when the folder
    ///   is not a scenario folder or `git`/`gzip` fails.
    public static func write(to directory: String, options: PlantedOptions) throws -> PlantedSummary {
        try options.validate()
        var root = directory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        try prepare(root)

        let windowStart = options.start / Timestamp.microsPerHour * PlantedTime.hour
        let windowEnd = windowStart + Int64(options.hours) * PlantedTime.hour
        let estate = PlantedEstate(seed: options.seed, requestsPerMinute: options.requestsPerMinute)
        let plan = PlantedPlan(estate: estate, windowStart: windowStart, windowEnd: windowEnd, seed: options.seed, demo: options.demo)
        let activity = PlantedActivity(plan: plan, seed: options.seed)
        var writer = GeneratorFileWriter()
        try writer.makeDirectories(root)

        let records = try PlantedTraffic(plan: plan, requestsPerMinute: options.requestsPerMinute, seed: options.seed)
            .write(root: root, writer: &writer)
        try compressDiagnostics(root: root, accounts: plan.estate.accounts.map(\.name))

        let activityWriter = ActivityRecordWriter(topology: plan.estate.topology())
        try PlantedActivityFiles(
            events: activity.events, records: activityWriter, windowStart: windowStart, windowEnd: windowEnd, seed: options.seed
        ).write(root: root, writer: &writer)
        try PlantedStatusFeeds(plan: plan, incidents: activity.incidents, seed: options.seed).write(root: root, writer: &writer)
        let commits = try PlantedRepos(plan: plan, seed: options.seed).write(root: root)

        let truth = PlantedTruth(
            seed: options.seed, plan: plan, activity: activity, commits: commits, diagnosticsRecords: records,
            activityEvents: activity.events.count)
        try writer.write(truth.render(), to: root + "/truth.json")
        return PlantedSummary(bursts: truth.burstCount, requestRecords: records, activityEvents: activity.events.count)
    }

    /// Makes sure `root` may be written: missing, empty, or an earlier scenario (whose generated
    /// folders are removed, so no file of another seed or window survives).
    private static func prepare(_ root: String) throws(PlantedError) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: root), !entries.isEmpty else { return }
        guard entries.contains("truth.json") else { throw .notAScenarioFolder(root) }
        for name in ["activity", "diagnostics", "status", "repos", "truth.json"] where entries.contains(name) {
            do {
                try fm.removeItem(atPath: root + "/" + name)
            } catch {
                throw .commandFailed(program: "rm", arguments: [root + "/" + name], message: "\(error)")
            }
        }
    }

    /// `gzip -n` (no name or time stamp in the header, so the bytes depend on the content only)
    /// every blob of each account; left as plain JSON lines when there is no `gzip`.
    private static func compressDiagnostics(root: String, accounts: [String]) throws(PlantedError) {
        guard PlantedShell.locate("gzip") != nil else { return }
        for name in accounts {
            let dir = root + "/diagnostics/" + name
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            if files.isEmpty { continue }
            try PlantedShell.run("gzip", ["-n", "-f", "--"] + files.map { dir + "/" + $0 })
        }
    }
}
