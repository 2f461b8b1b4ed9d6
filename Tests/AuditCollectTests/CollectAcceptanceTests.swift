import AuditCollect
import AuditCore
import AuditNet
import AuditStore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// The collectors against the simulator over real loopback HTTP: a two-day estate on three
/// subscriptions, thousands of Activity Log events, a few hundred blobs, a 429 every few calls
/// and 5xx on some downloads. Every record arrives exactly once, a rerun adds nothing, an
/// event published late is picked up by the next run, a growing append blob is read from where
/// the last run stopped, and a re-created blob is read again without duplicates.
@Suite(.serialized) struct CollectAcceptanceTests {
    static let extraSubscription = "33333333-4444-5555-6666-777777777777"

    struct Fixture {
        let sim: SimAzure
        let server: SimHTTPServer
        let config: Config
        let dbPath: String
        let truthRequests: Int64
        let restEvents: Int
    }

    static let now = TimeArgument.nowMicros()

    /// A planted scenario ending an hour ago, plus `bulk` synthetic events on a third subscription.
    static func fixture(bulk: Int = 3000, change: (inout SimAzureOptions) -> Void = { _ in }) throws -> Fixture {
        let dir = TestSupport.makeTempDirectory("collect-acceptance")
        var planted = PlantedOptions()
        planted.seed = 11
        planted.hours = 48
        planted.requestsPerMinute = 1
        planted.start = (now / Timestamp.microsPerHour - 49) * Timestamp.microsPerHour
        let summary = try PlantedScenario.write(to: dir.path + "/scenario", options: planted)
        var options = SimAzureOptions()
        options.now = now
        options.throttleEvery = 4
        options.serverErrorEvery = 7
        options.retryAfterSeconds = "1"
        change(&options)
        let sim = try SimAzure(scenario: dir.path + "/scenario", options: options)
        _ = try sim.addActivityEvents((0..<bulk).map { bulkEvent($0) })
        let server = try SimHTTPServer(handler: sim.handler)
        let subs = Set(try scenarioSubscriptions(dir.path + "/scenario")).sorted() + [extraSubscription]
        let yaml = """
            cloud:
              arm: \(server.baseURL)
              login: \(server.baseURL)
              log_analytics: \(server.baseURL)
            tenant: \(options.tenant)
            auth: client-secret
            sources:
              - name: activity
                type: activity-log
                subscriptions: [\(subs.joined(separator: ", "))]
              - name: activity-export
                type: activity-log-blobs
                account_url: \(server.baseURL)/simstorage
              - name: requests
                type: diagnostics-blobs
                account_url: \(server.baseURL)/simstorage
                container: insights-logs-requestresponse
            """
        let path = dir.path + "/aoai-audit.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try Config.parse(yaml, path: path, environment: [:])
        return Fixture(sim: sim, server: server, config: config, dbPath: dir.path + "/a.db",
                       truthRequests: Int64(summary.requestRecords), restEvents: summary.activityEvents + bulk)
    }

    static func scenarioSubscriptions(_ dir: String) throws -> [String] {
        let truth = try JSONParser.parse(Array(Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json"))))
        var subs: [String] = []
        for a in truth["accounts"]?.arrayValue ?? [] {
            if let id = a.text, let s = ResourceID(id).subscription { subs.append(s) }
        }
        return subs
    }

    /// A REST-shape Administrative event on the extra subscription, published 1–40 minutes late.
    static func bulkEvent(_ i: Int, time: Int64? = nil, lagMinutes: Int64? = nil) -> String {
        let t = time ?? (now - 46 * Timestamp.microsPerHour + Int64(i) * 50 * Timestamp.microsPerSecond)
        let lag = (lagMinutes ?? Int64(1 + i % 40)) * Timestamp.microsPerMinute
        let id = String(format: "%08x-0000-4000-8000-%012x", i, i)
        let corr = String(format: "c0ffee00-0000-4000-8000-%012x", i)
        let sub = extraSubscription
        return """
            {"caller":"ops@contoso.com","channels":"Operation","correlationId":"\(corr)","description":"","eventDataId":"\(id)",\
            "eventName":{"value":"EndRequest","localizedValue":"End request"},"category":{"value":"Administrative","localizedValue":"Administrative"},\
            "eventTimestamp":"\(Timestamp.iso(t))","level":"Informational","operationId":"\(corr)",\
            "operationName":{"value":"Microsoft.Resources/tags/write","localizedValue":"Write tags"},"resourceGroupName":"rg-bulk",\
            "resourceProviderName":{"value":"Microsoft.Resources","localizedValue":"Microsoft.Resources"},\
            "resourceId":"/subscriptions/\(sub)/resourceGroups/rg-bulk/providers/Microsoft.Storage/storageAccounts/st\(i % 50)",\
            "status":{"value":"Succeeded","localizedValue":"Succeeded"},"subStatus":{"value":"","localizedValue":""},\
            "submissionTimestamp":"\(Timestamp.iso(t + lag))","subscriptionId":"\(sub)","properties":{}}
            """
    }

    /// Runs every source once with the real client (sleeps recorded, not slept).
    static func collect(_ f: Fixture, now: Int64 = now, sources: [String] = []) throws -> CollectSummary {
        let slept = SleepLog()
        var http = HTTPClientOptions()
        http.sleep = { slept.add($0) }
        http.maxAttempts = 8
        let client = CurlHTTPClient(options: http)
        let env = ["AZURE_TENANT_ID": f.sim.options.tenant, "AZURE_CLIENT_ID": f.sim.options.clientID, "AZURE_CLIENT_SECRET": f.sim.options.clientSecret]
        let login = f.config.cloud.login
        let db = try Database(path: f.dbPath)
        let runner = CollectRunner(database: db, config: f.config, http: client, credentials: { method, tenant throws(AuthError) in
            try Credentials.make(method: method, tenant: tenant, login: login, environment: env, http: client)
        }, now: now, sources: sources)
        let summary = try runner.run()
        #expect(slept.count > 0 || f.sim.options.throttleEvery == nil, "the simulator throttled, so the client must have waited")
        return summary
    }

    static func counts(_ f: Fixture) throws -> StoreCounts {
        try Database(path: f.dbPath).counts()
    }

    @Test func everyRecordExactlyOnceThroughThrottlingAndServerErrors() throws {
        let f = try Self.fixture()
        defer { f.server.stop() }
        let first = try Self.collect(f)
        for o in first.outcomes { #expect(o.error == nil, "\(o.name): \(o.error ?? "")") }
        #expect(first.outcomes.reduce(0) { $0 + $1.http.retries } > 0, "429s and 503s were answered")
        var c = try Self.counts(f)
        #expect(c.requests == f.truthRequests)
        #expect(c.activity == Int64(f.restEvents), "REST and export shapes of one event are one event")
        #expect(c.quarantined == 0)
        let blobs = f.sim.blobNames(container: "insights-logs-requestresponse").count
        #expect(blobs >= 100, "hundreds of blobs: \(blobs)")

        // A second run adds nothing and downloads no blob again.
        let downloadsBefore = f.sim.requestLog().filter { $0.hasPrefix("GET /simstorage/insights-logs-requestresponse/") }.count
        let second = try Self.collect(f)
        #expect(second.outcomes.allSatisfy { $0.error == nil && $0.counts.loaded == 0 })
        let downloadsAfter = f.sim.requestLog().filter { $0.hasPrefix("GET /simstorage/insights-logs-requestresponse/") }.count
        #expect(downloadsAfter == downloadsBefore)
        c = try Self.counts(f)
        #expect(c.requests == f.truthRequests && c.activity == Int64(f.restEvents))
    }

    @Test func aLateEventAndAGrowingBlobArePickedUpByTheNextRun() throws {
        let f = try Self.fixture(bulk: 200) { $0.throttleEvery = nil; $0.serverErrorEvery = nil }
        defer { f.server.stop() }
        _ = try Self.collect(f)
        let before = try Self.counts(f)

        // An event that happened 30 minutes before the first run, published after it.
        _ = try f.sim.addActivityEvents([Self.bulkEvent(900_001, time: Self.now - 30 * Timestamp.microsPerMinute, lagMinutes: 31)])
        // The newest blob of one account grows by two records (a success and a 401).
        let container = "insights-logs-requestresponse"
        let name = try #require(f.sim.blobNames(container: container).last)
        let old = try #require(f.sim.blobContent(container: container, name: name))
        let template = try #require(old.split(separator: 0x0A).last.map { String(decoding: $0, as: UTF8.self) })
        let grown = [template.replacingOccurrences(of: "\"correlationId\":\"", with: "\"correlationId\":\"aa"),
                     template.replacingOccurrences(of: "\"correlationId\":\"", with: "\"correlationId\":\"bb").replacingOccurrences(of: "\"resultSignature\":\"200\"", with: "\"resultSignature\":\"401\"")]
        _ = f.sim.appendToBlob(container: container, name: name, bytes: Array((grown.joined(separator: "\n") + "\n").utf8))

        let second = try Self.collect(f, now: Self.now + 5 * Timestamp.microsPerMinute)
        for o in second.outcomes { #expect(o.error == nil, "\(o.name): \(o.error ?? "")") }
        let after = try Self.counts(f)
        #expect(after.activity == before.activity + 1, "the late event is collected by the next run")
        #expect(after.requests == before.requests + 2, "only the appended records are new")
        let ranged = f.sim.requestLog().filter { $0.contains(name.suffix(20)) }
        #expect(!ranged.isEmpty)
        let requests = try #require(second.outcomes.first { $0.name == "requests" })
        #expect(requests.records == 2, "only the two new lines were read: \(requests.records)")

        // The blob is re-created with its old content plus one record: read again from 0,
        // only the one record is new.
        let third = Array((String(decoding: old, as: UTF8.self) + template.replacingOccurrences(of: "\"correlationId\":\"", with: "\"correlationId\":\"cc") + "\n").utf8)
        _ = f.sim.recreateBlob(container: container, name: name, bytes: third)
        let rerun = try Self.collect(f, now: Self.now + 10 * Timestamp.microsPerMinute)
        #expect(rerun.outcomes.allSatisfy { $0.error == nil })
        #expect(try Self.counts(f).requests == after.requests + 1)
    }
}

/// Delays the client asked for (tests do not wait them out).
final class SleepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var delays: [Double] = []
    func add(_ d: Double) { lock.lock(); delays.append(d); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return delays.count }
}
