import AuditCollect
import AuditCore
import AuditCorrelate
import AuditStore
import AuditTestSupport
import Foundation
import Testing

/// Small synthetic estates written through the real store, one behaviour per test.
@Suite struct CorrelatorTests {
    static let t0 = Timestamp.parse("2026-10-05T00:00:00Z")!
    static let minute = Timestamp.microsPerMinute
    static let acct = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/aoai-a"
    static let other = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/aoai-b"
    static let keyCaller = "10.0.0.***"
    static let entra = "11111111-2222-3333-4444-555555555555"

    /// Traffic: each caller makes `perMinute` requests a minute for `hours`; `fail(caller, minute)`
    /// returns the status of that minute's requests (nil = 200), plus a 1-in-400 401 trickle
    /// unless `trickle` is false.
    func estate(hours: Int = 6, callers: [(String, String)] = [(acct, keyCaller), (acct, entra)], perMinute: Int = 6, trickle: Bool = true,
                fail: (String, String, Int) -> Int? = { _, _, _ in nil }, changes: [ChangeRecord] = [], incidents: [VendorIncident] = []) throws -> Database {
        let db = try Database(path: TestSupport.makeTempDirectory().appendingPathComponent("a.db").path)
        var batch = RecordBatch()
        var n = 0
        for m in 0..<(hours * 60) {
            for (resource, caller) in callers {
                for k in 0..<perMinute {
                    n += 1
                    let status = fail(resource, caller, m) ?? (trickle && n % 400 == 0 ? 401 : 200)
                    let isKey = caller.contains("*")
                    batch.requests.append(RequestRecord(
                        timeUs: Self.t0 + Int64(m) * Self.minute + Int64(k) * 5_000_000, resourceId: resource, category: "RequestResponse",
                        operation: "ChatCompletions_Create", status: status, deployment: "gpt-4o", model: nil, modelVersion: nil,
                        objectId: isKey ? "" : caller, callerIp: isKey ? caller : "20.0.0.***", apiVersion: "2024-10-21",
                        correlationId: "c\(n)", durationMs: 10, requestLength: nil, responseLength: nil, streamType: nil, region: "eastus", extra: nil))
                }
            }
        }
        batch.changes = changes
        batch.incidents = incidents
        _ = try StoreWriter(database: db).write(batch, source: "test")
        return db
    }

    func change(_ kind: String, at m: Int, resource: String = acct, principal: String? = nil, id: String = "evt-1") -> ChangeRecord {
        ChangeRecord(dedupeKey: "t:\(kind):\(m):\(resource)", timeUs: Self.t0 + Int64(m) * Self.minute, kind: kind, resourceId: resource,
                     actor: "ops@contoso.com", summary: "\(kind) on \(ResourceID(resource).shortName)", detail: nil, sourceKind: "activity",
                     sourceId: id, correlationId: "corr-1", principalId: principal)
    }

    func correlate(_ db: Database, hours: Int = 6) throws -> CorrelationReport {
        try Correlator(database: db, options: CorrelationOptions(sinceUs: Self.t0, untilUs: Self.t0 + Int64(hours) * Timestamp.microsPerHour)).analyze()
    }

    @Test func aSteadyTrickleIsNotABurst() throws {
        let report = try correlate(try estate())
        #expect(report.bursts.isEmpty)
    }

    @Test func keyRotationBreaksKeyCallersAndIsNamedWithItsEvidence() throws {
        let db = try estate(fail: { _, c, m in c == Self.keyCaller && (190..<230).contains(m) ? 401 : nil },
                            changes: [change(ChangeKind.keyRegenerated, at: 186, id: "evt-rotate"), change(ChangeKind.keyRegenerated, at: 180, resource: Self.other, id: "evt-decoy")])
        let report = try correlate(db)
        #expect(report.bursts.count == 1)
        let b = try #require(report.bursts.first)
        #expect(b.startUs == Self.t0 + 190 * Self.minute)
        #expect(b.callers == [Self.keyCaller])
        #expect(b.succeeding == [Self.entra])
        #expect(b.signature == "key_error")
        #expect(b.topCause?.kind == .keyRotation)
        #expect(b.topCause?.evidence.first?.sourceID == "evt-rotate")
        #expect(b.topCause?.kind.bucket == "auth_config_drift")
    }

    @Test func aChangeAfterTheBurstStartCannotCauseIt() throws {
        let db = try estate(fail: { _, c, m in c == Self.keyCaller && (190..<230).contains(m) ? 401 : nil },
                            changes: [change(ChangeKind.keyRegenerated, at: 200)])
        let b = try #require(try correlate(db).bursts.first)
        #expect(b.topCause?.kind == .unexplained)
    }

    @Test func roleRemovalBreaksOnlyThatPrincipal() throws {
        let db = try estate(fail: { _, c, m in c == Self.entra && (120..<200).contains(m) ? 401 : nil },
                            changes: [change(ChangeKind.roleAssignmentDeleted, at: 110, principal: Self.entra, id: "evt-role"),
                                      change(ChangeKind.keyRegenerated, at: 115, id: "evt-key")])
        let b = try #require(try correlate(db).bursts.first)
        #expect(b.topCause?.kind == .roleAssignmentRemoved)
        #expect(b.topCause?.evidence.first?.sourceID == "evt-role")
        // The rotation does not fit an Entra-only burst and ranks below.
        #expect(b.candidates.first { $0.kind == .keyRotation }.map { $0.score < 0.25 } ?? true)
    }

    @Test func disablingLocalAuthGivesKeyCallers403() throws {
        let db = try estate(fail: { _, c, m in c == Self.keyCaller && m >= 240 ? 403 : nil },
                            changes: [change(ChangeKind.localAuthDisabled, at: 238, id: "evt-auth")])
        let b = try #require(try correlate(db).bursts.first)
        #expect(b.signature == "auth_type_disabled")
        #expect(b.topCause?.kind == .localAuthDisabled)
        #expect(b.statusCodes[403] ?? 0 > 0)
    }

    @Test func aVendorIncidentHitsTheFleetAtOnce() throws {
        let incident = VendorIncident(incidentKey: "azure:1", updateKey: "u1", provider: "azure", title: "Azure OpenAI Service - East US - Investigating",
                                      status: "investigating", impact: nil, service: "Azure OpenAI Service", region: "East US",
                                      startUs: Self.t0 + 148 * Self.minute, updatedUs: Self.t0 + 150 * Self.minute, resolvedUs: nil, url: nil, body: nil)
        let db = try estate(callers: [(Self.acct, Self.keyCaller), (Self.acct, Self.entra), (Self.other, "10.9.9.***")],
                            fail: { _, _, m in (150..<180).contains(m) ? 401 : nil }, incidents: [incident])
        let report = try correlate(db)
        #expect(Set(report.bursts.map(\.resourceID)) == [Self.acct, Self.other])
        #expect(report.bursts.allSatisfy { $0.fleetID != nil && $0.fleetID == report.bursts.first?.fleetID })
        #expect(report.bursts.allSatisfy { $0.topCause?.kind == .vendorIncident })
    }

    @Test func aManualMarkExplainsWhatTheLogsCannotSee() throws {
        let mark = ManualChange.make(kind: "config-change", atUs: Self.t0 + 95 * Self.minute, app: "checkout", resource: "aoai-a",
                                     note: "moved the key to a new app setting", author: "sre")
        let db = try estate(fail: { _, c, m in c == Self.keyCaller && (100..<140).contains(m) ? 401 : nil }, changes: [mark])
        let b = try #require(try correlate(db).bursts.first)
        #expect(b.topCause?.kind == .manualChange)
        #expect(b.topCause?.kind.bucket == "auth_config_drift")
        #expect(b.topCause?.evidence.first?.summary.contains("moved the key") == true)
    }

    @Test func aNetworkRuleChangeBlocksEveryCaller() throws {
        let db = try estate(fail: { _, _, m in (200..<260).contains(m) ? 403 : nil },
                            changes: [change(ChangeKind.networkRuleChange, at: 197, id: "evt-net"), change(ChangeKind.keyRegenerated, at: 150, id: "evt-old-key")])
        let b = try #require(try correlate(db).bursts.first)
        #expect(b.succeeding.isEmpty)
        #expect(b.topCause?.kind == .networkRuleChange)
        #expect(b.topCause?.evidence.first?.sourceID == "evt-net")
    }

    @Test func anAPIVersionSwitchWithoutACommitIsNamedAsSuch() throws {
        let db = try estate(fail: { _, c, m in c == Self.entra && m >= 300 ? 401 : nil })
        // The switch as the importer derives it from diagnostics.
        var b = RecordBatch()
        b.changes = [ChangeRecord(dedupeKey: "apiver:x", timeUs: Self.t0 + 300 * Self.minute, kind: ChangeKind.apiVersionChange, resourceId: Self.acct,
                                  actor: Self.entra, summary: "Entra caller switched api-version 2024-10-21 → 2025-03-01-preview",
                                  detail: #"{"caller":"\#(Self.entra)","old":"2024-10-21","new":"2025-03-01-preview"}"#, sourceKind: "diagnostics", sourceId: nil, correlationId: nil)]
        _ = try StoreWriter(database: db).write(b, source: "test")
        let burst = try #require(try correlate(db).bursts.first)
        #expect(burst.topCause?.kind == .apiVersionChange)
        #expect(burst.topCause?.kind.bucket == "sdk_api_version")
    }

    /// Requests of one more caller at the given minutes (several in a minute when repeated),
    /// all with `status`: a forgotten job with a stale key, or an app that appears.
    func addCaller(_ db: Database, _ caller: String, minutes: [Int], status: Int = 401) throws {
        var batch = RecordBatch()
        for (i, m) in minutes.enumerated() {
            batch.requests.append(RequestRecord(
                timeUs: Self.t0 + Int64(m) * Self.minute + Int64(i % 10) * 1_000_000, resourceId: Self.acct, category: "RequestResponse",
                operation: "ChatCompletions_Create", status: status, deployment: "gpt-4o", model: nil, modelVersion: nil,
                objectId: "", callerIp: caller, apiVersion: "2024-02-15-preview", correlationId: "job-\(caller)-\(i)", durationMs: 10,
                requestLength: nil, responseLength: nil, streamType: nil, region: "eastus", extra: nil))
        }
        _ = try StoreWriter(database: db).write(batch, source: "test")
    }

    /// A quiet stale-key job every ~25 minutes, with clumps (3 requests in 8 minutes), never
    /// succeeding: the trickle of a quiet estate, never a burst. (The apps beside it never
    /// fail, so its every failing minute is hot against their baseline.)
    static let staleJobMinutes: [Int] = (0..<14).flatMap { h -> [Int] in
        h % 4 == 1 ? [h * 25, h * 25 + 3, h * 25 + 7] : [h * 25 + 11]
    }

    @Test func aQuietStaleKeyJobIsNotABurst() throws {
        let db = try estate(trickle: false)
        try addCaller(db, "10.7.7.***", minutes: Self.staleJobMinutes)
        let report = try correlate(db)
        #expect(report.bursts.isEmpty)
        // Reported beside the bursts as a steady failure, with its counts and span.
        #expect(report.steadyFailures.map(\.caller) == ["10.7.7.***"])
        let s = try #require(report.steadyFailures.first)
        #expect(s.failures == Self.staleJobMinutes.count && s.requests == s.failures && s.statusCodes == [401: s.failures])
        #expect(s.firstUs == Self.t0 + Int64(Self.staleJobMinutes.min()!) * Self.minute && s.lastUs == Self.t0 + Int64(Self.staleJobMinutes.max()! + 1) * Self.minute)
        #expect(s.hoursFailing == 6 && s.resourceID == Self.acct)
        let json = ReportJSON.render(report)
        #expect(json.contains(#""steady_failures":[{"resource_id":"\#(Self.acct)","caller":"10.7.7.***","auth":"key""#), "\(json)")
        #expect(ReportText.table(report).contains("steady 401/403 failures") && ReportText.markdown(report).contains("## Steady failures"))
    }

    /// A weekly run over an app broken on day two and never fixed: failing for most of the
    /// window must not become its normal. The burst starts where it broke, with its cause.
    @Test func aCallerBrokenForMostOfTheWindowIsABurstWhereItBroke() throws {
        let db = try estate(hours: 12, fail: { _, c, m in c == Self.keyCaller && m >= 180 ? 401 : nil },
                            changes: [change(ChangeKind.keyRegenerated, at: 178, id: "evt-rotate")])
        let report = try correlate(db, hours: 12)
        #expect(report.bursts.count == 1)
        let b = try #require(report.bursts.first)
        #expect(b.startUs == Self.t0 + 180 * Self.minute && b.callers == [Self.keyCaller])
        #expect(b.endUs >= Self.t0 + 719 * Self.minute, "the burst lasts to the end of the window")
        #expect(b.topCause?.kind == .keyRotation && b.topCause?.evidence.first?.sourceID == "evt-rotate")
    }

    /// The apps' own 1-in-400 trickle and a burst's callers are no steady failures.
    @Test func occasionalFailuresAndBurstCallersAreNotSteadyFailures() throws {
        let db = try estate(fail: { _, c, m in c == Self.keyCaller && m >= 200 ? 401 : nil })
        let report = try correlate(db)
        #expect(report.bursts.first?.callers == [Self.keyCaller])
        #expect(report.steadyFailures.isEmpty, "\(report.steadyFailures)")
    }

    /// The same job beside a real rotation on its resource: the burst starts at the rotation,
    /// not at the job's first failure hours before, and names only the broken app.
    @Test func aStaleKeyJobDoesNotStretchARealBurstBackwards() throws {
        let db = try estate(trickle: false, fail: { _, c, m in c == Self.keyCaller && (200..<240).contains(m) ? 401 : nil },
                            changes: [change(ChangeKind.keyRegenerated, at: 198, id: "evt-rotate")])
        try addCaller(db, "10.7.7.***", minutes: Self.staleJobMinutes)
        let bursts = try correlate(db).bursts
        #expect(bursts.count == 1)
        let b = try #require(bursts.first)
        #expect(b.startUs == Self.t0 + 200 * Self.minute)
        #expect(b.callers == [Self.keyCaller])
        #expect(b.topCause?.evidence.first?.sourceID == "evt-rotate")
    }

    /// A caller that appears and fails at volume has never succeeded either, yet is a burst.
    @Test func aNewCallerFailingAtVolumeIsStillABurst() throws {
        let db = try estate(trickle: false)
        try addCaller(db, "10.8.8.***", minutes: (250..<280).flatMap { [$0, $0] })
        let bursts = try correlate(db).bursts
        #expect(bursts.count == 1)
        #expect(bursts.first?.startUs == Self.t0 + 250 * Self.minute)
        #expect(bursts.first?.callers == ["10.8.8.***"])
    }

    /// A caller sending one request a minute, with a failure an hour of its own (so a single
    /// failing request is not significant alone), is broken by a rotation: its minutes of one
    /// failed request carry the burst between the minutes with two, one burst from the start.
    @Test func aSparseCallersOneFailureMinutesCarryItsBurst() throws {
        let db = try estate()
        let sparse = "10.6.6.***"
        try addCaller(db, sparse, minutes: (0..<200).filter { $0 % 60 != 30 }, status: 200)
        try addCaller(db, sparse, minutes: (0..<200).filter { $0 % 60 == 30 } + Array(200..<240) + stride(from: 200, to: 240, by: 5).map { $0 })
        var b = RecordBatch()
        b.changes = [change(ChangeKind.keyRegenerated, at: 198, id: "evt-rotate")]
        _ = try StoreWriter(database: db).write(b, source: "test")
        let bursts = try correlate(db).bursts.filter { $0.callers.contains(sparse) }
        #expect(bursts.count == 1)
        let burst = try #require(bursts.first)
        #expect(burst.startUs < Self.t0 + 201 * Self.minute && burst.endUs >= Self.t0 + 239 * Self.minute)
        #expect(burst.failures == 48)
        #expect(burst.topCause?.evidence.first?.sourceID == "evt-rotate")
    }

    @Test func nearbyBurstsWithAGapStaySeparate() throws {
        let db = try estate(fail: { _, c, m in c == Self.keyCaller && ((100..<120).contains(m) || (150..<170).contains(m)) ? 401 : nil })
        #expect(try correlate(db).bursts.count == 2)
    }
}
