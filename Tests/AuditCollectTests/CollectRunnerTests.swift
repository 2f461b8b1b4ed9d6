import AuditCore
import AuditNet
import AuditStore
import Foundation
import Testing

@testable import AuditCollect

/// `CollectRunner`: config checked before anything runs, sources isolated from each other,
/// bounded concurrency, outcomes recorded in `sources`, `--since` bounds.
@Suite struct CollectRunnerTests {
    static let feed = """
        <?xml version="1.0" encoding="utf-8"?>
        <rss version="2.0"><channel><title>Example Status - Incident History</title><link>https://status.example.com</link>
        <item><title>Elevated 401 errors</title><description>&lt;strong&gt;Investigating&lt;/strong&gt; - We are looking into it.</description>
        <pubDate>Wed, 29 May 2024 14:05:00 +0000</pubDate><guid>https://status.example.com/incidents/abc</guid><link>https://status.example.com/incidents/abc</link></item>
        </channel></rss>
        """

    static func feeds(_ names: [String]) -> String {
        "sources:\n" + names.map { "  - name: \($0)\n    type: status-feed\n    url: https://status.example.com/\($0).rss\n" }.joined()
    }

    @Test func aFailingSourceDoesNotStopTheOthers() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.feeds(["a", "broken", "c"]))
        let http = FakeTransport { r throws(HTTPError) in
            if r.url.contains("broken") { return HTTPResponse(status: 500, headers: [:], body: Array("upstream down".utf8)) }
            return FakeTransport.ok(Self.feed)
        }
        let summary = try f.runner(config, http: http).run()
        #expect(summary.outcomes.map(\.name) == ["a", "broken", "c"])
        #expect(summary.hasFailures && summary.failed.map(\.name) == ["broken"])
        let broken = summary.outcomes[1]
        #expect(broken.error?.contains("HTTP 500") == true, "\(broken.error ?? "")")
        #expect(broken.error?.hasPrefix("source 'broken'") == false)  // the summary line names the source
        // "a" and "c" serve the same incident and run concurrently: whichever writes first stores
        // it, the other counts a duplicate.
        #expect(summary.outcomes[0].error == nil)
        #expect(summary.outcomes[0].counts.incidents + summary.outcomes[2].counts.incidents == 1)
        #expect(summary.outcomes[0].counts.duplicates + summary.outcomes[2].counts.duplicates == 1)
        #expect(summary.outcomes[2].pages == 1 && summary.outcomes[2].error == nil)
        #expect(summary.outcomes[2].http.requests == 1)

        // Recorded in `sources`.
        let sources = try f.database.sources()
        let byName = Dictionary(uniqueKeysWithValues: sources.map { ($0.name, $0) })
        #expect(byName["broken"]?.lastError?.contains("HTTP 500") == true)
        #expect(byName["broken"]?.lastSuccessUs == nil && byName["broken"]?.lastRunUs != nil)
        #expect(byName["a"]?.lastError == nil && byName["a"]?.lastSuccessUs != nil)
        #expect(byName["a"]?.type == "status-feed" && byName["a"]?.lagUs == 0)
        let summaryJSON = try JSONParser.parse(try #require(byName["a"]?.summary))
        #expect(summaryJSON["pages"]?.int64 == 1 && summaryJSON["records"]?.int64 == 1)
        #expect(byName["a"]?.coverage.count == 1)

        // A later success clears the error and keeps the record count growing.
        let fixed = FakeTransport { _ throws(HTTPError) in FakeTransport.ok(Self.feed) }
        _ = try f.runner(config, http: fixed, sources: ["broken"]).run()
        let again = try f.database.sources().first { $0.name == "broken" }
        #expect(again?.lastError == nil && again?.lastSuccessUs != nil)
    }

    @Test func aTransportErrorFailsOnlyItsSource() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.feeds(["ok", "down"]))
        let http = FakeTransport { r throws(HTTPError) in
            if r.url.contains("down") { throw .transport(url: "https://status.example.com/down.rss", message: "connection refused", attempts: 3) }
            return FakeTransport.ok(Self.feed)
        }
        let summary = try f.runner(config, http: http).run()
        let down = try #require(summary.outcomes.first { $0.name == "down" })
        #expect(down.error?.contains("connection refused") == true)
        #expect(down.http.requests == 1 && down.http.retries == 2)
        #expect(summary.outcomes.first { $0.name == "ok" }?.failed == false)
    }

    @Test func sourcesRunConcurrentlyWithinTheBound() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.feeds(["s1", "s2", "s3", "s4", "s5"]))
        let slow: FakeTransport.Handler = { _ throws(HTTPError) in
            Thread.sleep(forTimeInterval: 0.15)
            return FakeTransport.ok(Self.feed)
        }
        let two = FakeTransport(slow)
        let summary = try f.runner(config, http: two, concurrency: 2).run()
        #expect(!summary.hasFailures)
        #expect(two.requests.count == 5)
        #expect(two.maxInFlight == 2)

        let one = FakeTransport(slow)
        _ = try f.runner(config, http: one, concurrency: 1).run()
        #expect(one.maxInFlight == 1)
    }

    @Test func configErrorsAreFoundBeforeAnySourceRuns() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.feeds(["a"]) + "  - name: b\n    type: status-feed\n    urll: https://x.example.com/feed\n")
        let http = FakeTransport { _ throws(HTTPError) in FakeTransport.ok(Self.feed) }
        let e = #expect(throws: ConfigError.self) { _ = try f.runner(config, http: http).run() }
        #expect(e?.line == 7, "\(String(describing: e))")
        #expect(e?.message.contains("unknown key 'urll' for type status-feed") == true && e?.message.contains("did you mean 'url'?") == true)
        #expect(http.requests.isEmpty)
        #expect(try f.database.sources().isEmpty)
    }

    @Test func aTypeWithoutACollectorIsAConfigError() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        guard let missing = Config.sourceTypes.first(where: { !CollectorRegistry.types.contains($0) }) else { return }  // every type registered
        let config = try f.config("sources:\n  - name: x\n    type: \(missing)\n")
        let e = #expect(throws: ConfigError.self) { _ = try f.runner(config, http: FakeTransport { _ throws(HTTPError) in FakeTransport.ok("") }).run() }
        #expect(e?.message.contains("has no collector in this build") == true, "\(String(describing: e))")
    }

    @Test func unknownSourceNamesTheValidOnes() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.feeds(["a", "b"]))
        let e = #expect(throws: CollectError.self) {
            _ = try f.runner(config, http: FakeTransport { _ throws(HTTPError) in FakeTransport.ok(Self.feed) }, sources: ["nope"]).run()
        }
        #expect(e.map { "\($0)" } == "no source named 'nope' in the config (sources: a, b)")
        let http = FakeTransport { _ throws(HTTPError) in FakeTransport.ok(Self.feed) }
        let only = try f.runner(config, http: http, sources: ["b"]).run()
        #expect(only.outcomes.map(\.name) == ["b"] && http.requests.count == 1)
    }

    @Test func sinceMoreThanNinetyDaysBackIsRefused() throws {
        let now = Timestamp.make(year: 2026, month: 11, day: 23)!
        let e = #expect(throws: CollectError.self) { _ = try CollectRunner.parseSince("91d", now: now) }
        #expect(e.map { "\($0)" } == "--since 91d is more than 90 days back; the Activity Log keeps 90 days — use `aoai-audit import` for older exports")
        #expect(try CollectRunner.parseSince("90d", now: now) == now - 90 * Timestamp.microsPerDay)
        #expect(try CollectRunner.parseSince("2026-09-01", now: now) == Timestamp.make(year: 2026, month: 9, day: 1))
        #expect(throws: CollectError.self) { _ = try CollectRunner.parseSince("2026-01-01", now: now) }
        #expect(throws: CollectError.self) { _ = try CollectRunner.parseSince("yesterday", now: now) }

        let f = try CollectFixture()
        defer { f.remove() }
        let http = FakeTransport { _ throws(HTTPError) in FakeTransport.ok(Self.feed) }
        let runner = f.runner(try f.config(Self.feeds(["a"])), http: http, now: now)
        runner.since = now - 120 * Timestamp.microsPerDay
        #expect(throws: CollectError.self) { _ = try runner.run() }
        #expect(http.requests.isEmpty)
    }

    @Test func noSourcesIsAConfigError() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        #expect(throws: ConfigError.self) { _ = try f.runner(try f.config("exports:\n  dir: out\n"), http: FakeTransport { _ throws(HTTPError) in FakeTransport.ok("") }).run() }
    }

    @Test func providersAreMadeOncePerMethodAndTenant() throws {
        let calls = CallCounter()
        let cache = ProviderCache { method, tenant throws(AuthError) in
            calls.add()
            if tenant == "bad" { throw AuthError(method: method, message: "AADSTS90002: tenant 'bad' not found") }
            return FakeTokens()
        }
        _ = try cache.provider(.clientSecret, "t1")
        _ = try cache.provider(.clientSecret, "t1")
        _ = try cache.provider(nil, "t1")
        _ = try cache.provider(.clientSecret, "t2")
        #expect(calls.value == 3)
        #expect(throws: AuthError.self) { _ = try cache.provider(.clientSecret, "bad") }
        #expect(throws: AuthError.self) { _ = try cache.provider(.clientSecret, "bad") }
        #expect(calls.value == 4)
    }

    @Test func anAuthErrorFailsOnlyTheSourcesThatNeedTokens() throws {
        let f = try CollectFixture()
        defer { f.remove() }
        let config = try f.config(Self.feeds(["feed"]) + """
              - name: arm-a
                type: activity-log
                tenant: contoso
                subscriptions: [11111111-2222-3333-4444-555555555555]
              - name: arm-b
                type: activity-log
                tenant: contoso
                subscriptions: [66666666-7777-8888-9999-000000000000]

            """)
        let calls = CallCounter()
        let http = FakeTransport { _ throws(HTTPError) in FakeTransport.ok(Self.feed) }
        let summary = try f.runner(config, http: http, credentials: { method, tenant throws(AuthError) in
            calls.add()
            throw AuthError(method: method, message: "AZURE_CLIENT_ID not set (tenant \(tenant ?? "-"))")
        }).run()
        #expect(summary.failed.map(\.name) == ["arm-a", "arm-b"])
        #expect(summary.outcomes.first { $0.name == "arm-a" }?.error == "credentials: AZURE_CLIENT_ID not set (tenant contoso)")
        #expect(summary.outcomes.first { $0.name == "feed" }?.failed == false)
        #expect(calls.value == 1)  // one provider per (method, tenant), failure included
        #expect(http.requests.count == 1)  // only the feed went out
    }

    @Test func errorLinesAreOneLineAndRedacted() {
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJl"
        let line = CollectRunner.oneLine("source 'x': failed\n  with token \(jwt)\n", source: "x")
        #expect(line.hasPrefix("failed with token") && !line.contains(jwt) && !line.contains("\n"), "\(line)")
    }
}

final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Keys of a source type are checked by the registry, with the nearest key for that type.
@Suite struct CollectorRegistryTests {
    @Test func unknownKeyForTheTypeNamesTheNearestValidKey() throws {
        let c = try Config.parse("""
            sources:
              - name: sdks
                type: sdk-versions
                repo: [app]
            """, path: "/cfg/aoai-audit.yaml", environment: [:])
        let e = #expect(throws: ConfigError.self) { _ = try CollectorRegistry.make(c.sources[0]) }
        #expect(e?.description.hasPrefix("/cfg/aoai-audit.yaml:4: source 'sdks': unknown key 'repo' for type sdk-versions; did you mean 'repos'?") == true,
                "\(String(describing: e))")
    }

    @Test func aKeyOfAnotherTypeIsNotAccepted() throws {
        let c = try Config.parse("""
            sources:
              - name: feed
                type: status-feed
                url: https://status.example.com/history.rss
                repos: [app]
            """, path: "/cfg/aoai-audit.yaml", environment: [:])
        #expect(throws: ConfigError.self) { _ = try CollectorRegistry.make(c.sources[0]) }
    }

    @Test func requiredKeysAndValuesAreCheckedByTheCollector() throws {
        let c = try Config.parse("""
            sources:
              - name: feed
                type: status-feed
              - name: feed2
                type: status-feed
                url: ftp://status.example.com/feed
              - name: feed3
                type: status-feed
                url: http://status.example.com/feed
            """, path: "/cfg/aoai-audit.yaml", environment: [:])
        let missing = #expect(throws: ConfigError.self) { _ = try CollectorRegistry.make(c.sources[0]) }
        #expect(missing?.message.contains("'url' is required") == true)
        let scheme = #expect(throws: ConfigError.self) { _ = try CollectorRegistry.make(c.sources[1]) }
        #expect(scheme?.line == 6)
        let plain = #expect(throws: ConfigError.self) { _ = try CollectorRegistry.make(c.sources[2]) }
        #expect(plain?.line == 9 && plain?.message.contains("only allowed to loopback") == true)
    }

    @Test func everyRegisteredTypeIsAContractType() {
        for t in CollectorRegistry.types { #expect(Config.sourceTypes.contains(t), "\(t)") }
        #expect(Set(CollectorRegistry.types).count == CollectorRegistry.all.count)
        #expect(CollectorRegistry.types.contains("status-feed") && CollectorRegistry.types.contains("sdk-versions"))
    }
}
