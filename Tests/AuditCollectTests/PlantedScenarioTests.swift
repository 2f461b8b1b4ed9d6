import AuditCollect
import AuditCore
import AuditStore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// The planted-incident scenario generator: deterministic, every kind of cause across seeds,
/// evidence of the right type for each burst, a background trickle that is not a burst, bursts
/// whose failures begin exactly at truth's `start`, and output the importer loads whole.
///
/// Scenarios here are small (6 hours, 12 requests a minute per account); the 24-hour default
/// is for the correlation engine's evaluation.
@Suite(.enabled(if: PlantedCorpus.gitPath != nil, "needs git on PATH"))
struct PlantedScenarioTests {
    static let allKinds: Set<String> = [
        "key_rotation", "local_auth_disabled", "role_assignment_removed", "sdk_bump", "vendor_incident", "unexplained",
    ]

    @Test func sameSeedWritesIdenticalTruthAndDiagnostics() throws {
        let root = TestSupport.makeTempDirectory("planted-determinism")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = root.appendingPathComponent("a").path, b = root.appendingPathComponent("b").path
        let c = root.appendingPathComponent("c").path
        let sa = try PlantedScenario.write(to: a, options: PlantedCorpus.options(seed: 21))
        let sb = try PlantedScenario.write(to: b, options: PlantedCorpus.options(seed: 21))
        _ = try PlantedScenario.write(to: c, options: PlantedCorpus.options(seed: 22))
        #expect(sa == sb)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/truth.json")) == Data(contentsOf: URL(fileURLWithPath: b + "/truth.json")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/truth.json")) != Data(contentsOf: URL(fileURLWithPath: c + "/truth.json")))
        for folder in ["diagnostics", "activity", "status"] {
            let fa = try PlantedCorpus.files(under: a + "/" + folder), fb = try PlantedCorpus.files(under: b + "/" + folder)
            #expect(!fa.isEmpty)
            #expect(fa.map(\.path) == fb.map(\.path), "\(folder) file names differ")
            #expect(fa.map(\.bytes) == fb.map(\.bytes), "\(folder) bytes differ")
        }
        // Writing over an earlier scenario replaces it; a folder that is not one is refused.
        _ = try PlantedScenario.write(to: a, options: PlantedCorpus.options(seed: 22))
        #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/truth.json")) == Data(contentsOf: URL(fileURLWithPath: c + "/truth.json")))
        let other = root.appendingPathComponent("other")
        try TestSupport.write("keep me", to: other, name: "notes.txt")
        #expect(throws: PlantedError.self) { try PlantedScenario.write(to: other.path, options: PlantedCorpus.options(seed: 1)) }
    }

    @Test func tenSeedsCoverEveryKindUnderTheScenarioRules() throws {
        var kinds: Set<String> = []
        for scenario in try PlantedCorpus.shared.scenarios() {
            let t = scenario.truth
            let accounts = t["accounts"]?.arrayValue ?? [], apps = t["apps"]?.arrayValue ?? []
            #expect((3...5).contains(accounts.count) && (4...8).contains(apps.count), "seed \(scenario.seed)")
            #expect(t.objectValue?.keys == ["seed", "start", "end", "diagnostics_records", "activity_events", "accounts", "apps", "bursts"])
            let start = try #require(Timestamp.parse(t["start"]?.text ?? "")), end = try #require(Timestamp.parse(t["end"]?.text ?? ""))
            let bursts = scenario.bursts
            #expect(bursts.count >= 4, "seed \(scenario.seed): \(bursts.count) bursts")
            kinds.formUnion(bursts.map(\.kind))
            // One burst within 30 minutes of an edge of the window.
            #expect(bursts.contains { $0.startUs - start < 30 * 60_000_000 || end - $0.startUs <= 30 * 60_000_000 }, "seed \(scenario.seed)")
            // Two bursts on different accounts start within 15 minutes of each other.
            #expect(bursts.contains { x in bursts.contains { y in x.resource != y.resource && abs(x.startUs - y.startUs) <= 15 * 60_000_000 } })
            // Bursts on one account are far apart.
            for x in bursts {
                for y in bursts where x.resource == y.resource && x.startText < y.startText {
                    #expect(y.startUs - x.startUs >= 45 * 60_000_000, "seed \(scenario.seed): \(x.kind) and \(y.kind) too close")
                }
            }
            // Sorted by start, with 7-digit times.
            #expect(bursts.map(\.startText) == bursts.map(\.startText).sorted())
            #expect(bursts.allSatisfy { $0.startText.count == 28 })
        }
        #expect(kinds == Self.allKinds)
    }

    @Test func everyBurstHasEvidenceOfItsType() throws {
        for scenario in try PlantedCorpus.shared.scenarios() {
            let events = try scenario.restEvents()
            for b in scenario.bursts {
                let context = "seed \(scenario.seed) \(b.kind) at \(b.startText)"
                let members = b.json.objectValue?.keys ?? []
                let evidence = b.json["evidence"]?.arrayValue?.compactMap(\.text) ?? []
                let correlations = b.json["correlation_ids"]?.arrayValue?.compactMap(\.text) ?? []
                if b.kind == "unexplained" {
                    #expect(evidence.isEmpty && correlations.isEmpty, "\(context)")
                    #expect(members == ["kind", "resource_id", "start", "evidence", "correlation_ids"])
                    continue
                }
                try #require(evidence.count == 1 && correlations.count == 1, "\(context)")
                if b.kind == "sdk_bump" {
                    #expect(members == ["kind", "resource_id", "start", "evidence", "app", "package", "old", "new", "correlation_ids"])
                    let app = b.json["app"]?.text ?? ""
                    let show = try PlantedCorpus.git(["-C", scenario.dir + "/repos/" + app, "show", "--format=%ct", evidence[0], "--", "requirements.txt"])
                    let committed = (Int64(show.split(separator: "\n").first ?? "") ?? .max) * 1_000_000
                    #expect(committed <= b.startUs, "\(context): commit after the burst")
                    #expect(show.contains("\n-openai==\(b.json["old"]?.text ?? "")\n") && show.contains("\n+openai==\(b.json["new"]?.text ?? "")\n"), "\(context)")
                    #expect(correlations == [""])
                    continue
                }
                let e = try #require(events[evidence[0]], "\(context): evidence \(evidence[0]) is not in the REST pages")
                #expect(e["correlationId"]?.text == correlations[0])
                let operation = e["operationName"]?.localizedValue ?? ""
                let properties = e["properties"]?.objectValue
                let eventTime = Timestamp.parse(e["eventTimestamp"]?.text ?? "") ?? .max
                switch b.kind {
                case "vendor_incident":
                    #expect(b.json["fleet"]?.bool == true && members.contains("fleet"))
                    #expect(e["category"]?["value"]?.text == "ServiceHealth" && e["status"]?["value"]?.text == "Active", "\(context)")
                    #expect(properties?["service"]?.text == "Azure OpenAI Service")
                    let region = (properties?["region"]?.text ?? "").lowercased().replacingOccurrences(of: " ", with: "")
                    #expect(region == scenario.location(of: b.resource), "\(context): incident in \(region)")
                    #expect(b.resource.lowercased().hasPrefix((e["resourceId"]?.text ?? "?").lowercased() + "/"), "\(context): other subscription")
                    let impact = Timestamp.parse(properties?["impactStartTime"]?.text ?? "") ?? .max
                    #expect(impact <= b.startUs, "\(context): impact starts after the failures")
                default:
                    #expect(e["eventName"]?["value"]?.text == "EndRequest" && e["status"]?["value"]?.text == "Succeeded", "\(context)")
                    #expect(eventTime <= b.startUs, "\(context): cause after the burst")
                    let resource = (e["resourceId"]?.text ?? "").lowercased()
                    switch b.kind {
                    case "key_rotation":
                        #expect(operation == "Microsoft.CognitiveServices/accounts/regenerateKey/action" && resource == b.resource.lowercased())
                        #expect(members == ["kind", "resource_id", "start", "evidence", "correlation_ids"])
                    case "local_auth_disabled":
                        #expect(operation == "Microsoft.CognitiveServices/accounts/write" && resource == b.resource.lowercased())
                        let body = properties?["requestbody"]?.embeddedObject
                        #expect(body?["properties"]?["disableLocalAuth"]?.bool == true, "\(context)")
                    case "role_assignment_removed":
                        #expect(operation == "Microsoft.Authorization/roleAssignments/delete")
                        #expect(resource.hasPrefix(b.resource.lowercased() + "/providers/microsoft.authorization/roleassignments/"))
                        let body = properties?["responseBody"]?.embeddedObject?["properties"]
                        #expect(body?["principalId"]?.text == b.json["caller"]?.text, "\(context)")
                        #expect(body?["roleDefinitionId"]?.text?.hasSuffix("/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd") == true)
                        #expect(scenario.apps.contains { $0["object_id"]?.text == b.json["caller"]?.text && $0["entra"]?.bool == true })
                    default:
                        Issue.record("unknown kind \(b.kind)")
                    }
                }
            }
        }
    }

    @Test func aBurstsFailuresStartExactlyAtItsStart() throws {
        for scenario in try PlantedCorpus.shared.scenarios() {
            let records = try scenario.records()
            let end = Timestamp.parse(scenario.truth["end"]?.text ?? "") ?? 0
            for b in scenario.bursts {
                let context = "seed \(scenario.seed) \(b.kind) at \(b.startText)"
                let mine = records.filter { $0.resource == b.resource.uppercased() }
                let first = try #require(mine.first { $0.time == b.startText }, "\(context): no record at start")
                #expect(first.failed, "\(context): the record at start did not fail")
                let minute: Int64 = 60_000_000
                let after = min(10 * minute, end - b.startUs)
                let failing = mine.filter { $0.failed && $0.timeUs >= b.startUs && $0.timeUs < b.startUs + after }.count
                let before = mine.filter { $0.failed && $0.timeUs >= b.startUs - after && $0.timeUs < b.startUs }.count
                #expect(failing >= 3 && failing >= 3 * max(before, 1), "\(context): \(failing) failures after start, \(before) before")
                switch b.kind {
                case "role_assignment_removed":
                    #expect(first.objectId == b.json["caller"]?.text && first.status == "401")
                case "local_auth_disabled":
                    #expect(first.status == "403" && first.objectId.isEmpty)
                case "key_rotation":
                    #expect(first.status == "401" && first.objectId.isEmpty)
                case "sdk_bump":
                    // The app's requests switch api-version at the burst.
                    let ip = scenario.apps.first { $0["name"]?.text == b.json["app"]?.text }?["ip"]?.text
                    let earlier = mine.last { $0.ip == ip && $0.timeUs < b.startUs }
                    #expect(first.ip == ip && earlier != nil && earlier?.apiName != first.apiName, "\(context)")
                default:
                    break
                }
            }
        }
    }

    @Test func theBackgroundTrickleIsSteadyAndSmall() throws {
        for scenario in try PlantedCorpus.shared.scenarios().prefix(3) {
            let records = try scenario.records()
            let hour: Int64 = 3_600_000_000
            // Everything but the planted bursts' first two hours on their accounts.
            let quiet = records.filter { r in
                !scenario.bursts.contains { r.resource == $0.resource.uppercased() && r.timeUs >= $0.startUs - 60_000_000 && r.timeUs < $0.startUs + 2 * hour }
            }
            let failures = quiet.filter(\.failed)
            let rate = Double(failures.count) / Double(max(quiet.count, 1))
            #expect(rate > 1.0 / 1500 && rate < 1.0 / 150, "seed \(scenario.seed): background failure rate \(rate)")
            // A forgotten job with a stale key: not an app, failing all day.
            let appIPs = Set(scenario.apps.compactMap { $0["ip"]?.text })
            let stale = Dictionary(grouping: records.filter { !appIPs.contains($0.ip) }, by: \.ip).values.filter { rs in
                rs.allSatisfy(\.failed) && Set(rs.map { $0.timeUs / hour }).count >= 4
            }
            #expect(!stale.isEmpty, "seed \(scenario.seed): no steady stale-key caller")
        }
    }

    /// Seed 1, and seed 3 (which has a burst of every kind, so every kind of evidence is looked up).
    @Test(arguments: [1, 3]) func importsWholeWithTheTruthsCounts(seed: Int) throws {
        let scenario = try PlantedCorpus.shared.scenarios()[seed - 1]
        let dbDir = TestSupport.makeTempDirectory("planted-import")
        defer { try? FileManager.default.removeItem(at: dbDir) }
        let db = try Database(path: dbDir.appendingPathComponent("audit.db").path)
        // Everything but truth.json (which the importer would rightly quarantine as unknown).
        let summary = try Importer(database: db, options: ImportOptions()).run(
            paths: ["activity", "diagnostics", "status", "repos"].map { scenario.dir + "/" + $0 })
        #expect(summary.failedFiles.isEmpty)
        let counts = try db.counts()
        #expect(counts.quarantined == 0)
        #expect(counts.activity == scenario.truth["activity_events"]?.int64)
        #expect(counts.requests == scenario.truth["diagnostics_records"]?.int64)
        if seed == 3 { #expect(Set(scenario.bursts.map(\.kind)) == Self.allKinds) }
        for b in scenario.bursts {
            for id in b.json["evidence"]?.arrayValue?.compactMap(\.text) ?? [] {
                let sql = b.kind == "sdk_bump"
                    ? "SELECT count(*) FROM changes WHERE source_id = ?1 AND kind = 'sdk_bump'"
                    : "SELECT count(*) FROM activity_events WHERE event_data_id = ?1"
                let n = try db.connection.scalar(sql, [.text(id)])?.integer ?? 0
                #expect(n >= 1, "seed \(seed): \(b.kind) evidence \(id) not loaded")
            }
        }
    }
}

/// Ten small scenarios (seeds 1…10), written once per test run and shared by the tests.
final class PlantedCorpus: @unchecked Sendable {
    static let shared = PlantedCorpus()
    static let gitPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { String($0) + "/git" }.first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    /// Where the corpus lives; removed when the test process exits.
    static let root: String = {
        let dir = TestSupport.makeTempDirectory("planted-corpus").path
        atexit { try? FileManager.default.removeItem(atPath: PlantedCorpus.root) }
        return dir
    }()

    private let lock = NSLock()
    private var cached: Result<[Scenario], any Error>?

    static func options(seed: UInt64) -> PlantedOptions {
        var o = PlantedOptions()
        o.seed = seed
        o.hours = 6
        o.requestsPerMinute = 12
        return o
    }

    func scenarios() throws -> [Scenario] {
        lock.lock()
        defer { lock.unlock() }
        if cached == nil {
            // Written in parallel: most of the time goes to git and gzip.
            let results = ResultBox(count: 10)
            DispatchQueue.concurrentPerform(iterations: 10) { i in
                let seed = i + 1
                let dir = Self.root + "/seed-\(seed)"
                results.set(i, Result { () throws -> Scenario in
                    _ = try PlantedScenario.write(to: dir, options: Self.options(seed: UInt64(seed)))
                    return try Scenario(seed: seed, dir: dir)
                })
            }
            cached = Result { try results.values.map { try $0!.get() } }
        }
        return try cached!.get()
    }

    /// Results filled in by concurrent workers, each writing its own slot under a lock.
    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [Result<Scenario, any Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Result<Scenario, any Error>) {
            lock.lock()
            values[i] = value
            lock.unlock()
        }
    }

    static func git(_ arguments: [String]) throws -> String {
        let r = try TestSupport.run(gitPath ?? "/usr/bin/git", arguments)
        guard r.status == 0 else { throw PlantedError.commandFailed(program: "git", arguments: arguments, message: r.stderr) }
        return r.stdout
    }

    /// Every file under `dir`, sorted by relative path.
    static func files(under dir: String) throws -> [(path: String, bytes: Data)] {
        let names = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).sorted()
        return try names.compactMap { name in
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDir), !isDir.boolValue else { return nil }
            return (name, try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
        }
    }

    /// One written scenario and what the tests read from it.
    struct Scenario: @unchecked Sendable {
        struct Burst {
            var json: JSONValue
            var kind: String
            var resource: String
            var startText: String
            var startUs: Int64
        }

        struct Record {
            var resource: String
            var time: String
            var timeUs: Int64
            var status: String
            var ip: String
            var objectId: String
            var apiName: String
            var location: String
            var failed: Bool { status == "401" || status == "403" }
        }

        let seed: Int
        let dir: String
        let truth: JSONValue
        let bursts: [Burst]
        var apps: [JSONValue] { truth["apps"]?.arrayValue ?? [] }

        init(seed: Int, dir: String) throws {
            self.seed = seed
            self.dir = dir
            truth = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json"))))
            bursts = (truth["bursts"]?.arrayValue ?? []).map { b in
                let start = b["start"]?.text ?? ""
                return Burst(json: b, kind: b["kind"]?.text ?? "", resource: b["resource_id"]?.text ?? "", startText: start,
                             startUs: Timestamp.parse(start) ?? 0)
            }
        }

        /// REST-shape events by eventDataId.
        func restEvents() throws -> [String: JSONValue] {
            var out: [String: JSONValue] = [:]
            for (name, bytes) in try PlantedCorpus.files(under: dir + "/activity") where name.hasPrefix("rest-page-") {
                for e in try JSONParser.parse(Array(bytes))["value"]?.arrayValue ?? [] {
                    if let id = e["eventDataId"]?.text { out[id] = e }
                }
            }
            return out
        }

        /// Every `RequestResponse` record, in file order (time order within an account's hour).
        func records() throws -> [Record] {
            var out: [Record] = []
            for (name, _) in try PlantedCorpus.files(under: dir + "/diagnostics") {
                let reader = try ChunkReader(path: dir + "/diagnostics/" + name)
                var bytes: [UInt8] = []
                while let chunk = try reader.next() { bytes += chunk }
                for line in bytes.split(separator: 0x0A) where !line.isEmpty {
                    let r = try JSONParser.parse(Array(line))
                    let p = r["properties"]?.embeddedObject
                    let time = r["time"]?.text ?? ""
                    out.append(
                        Record(
                            resource: r["resourceId"]?.text ?? "", time: time, timeUs: Timestamp.parse(time) ?? 0,
                            status: r["resultSignature"]?.text ?? "", ip: r["callerIpAddress"]?.text ?? "",
                            objectId: p?["objectId"]?.text ?? "", apiName: p?["apiName"]?.text ?? "", location: r["location"]?.text ?? ""))
                }
            }
            return out
        }

        /// The ARM region name of an account, from the first of its records.
        func location(of resource: String) -> String {
            let name = String(resource.split(separator: "/").last ?? "")
            guard let (file, _) = (try? PlantedCorpus.files(under: dir + "/diagnostics/" + name))?.first,
                let reader = try? ChunkReader(path: dir + "/diagnostics/" + name + "/" + file),
                let chunk = try? reader.next(), let line = chunk.split(separator: 0x0A).first,
                let record = try? JSONParser.parse(Array(line))
            else { return "" }
            return record["location"]?.text ?? ""
        }
    }
}
