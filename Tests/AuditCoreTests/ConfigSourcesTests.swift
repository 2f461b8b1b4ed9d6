import AuditCore
import Foundation
import Testing

/// `sources:`, `cloud:`, `tenant:`, `auth:` and `${VAR}` in the config file: values, lines
/// (1-based, as editors show them) and errors.
@Suite struct ConfigSourcesTests {
    static let path = "/etc/aoai-audit/aoai-audit.yaml"

    func parse(_ text: String, env: [String: String] = [:]) throws(ConfigError) -> Config {
        try Config.parse(text, path: Self.path, environment: env)
    }

    func error(_ text: String, env: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try parse(text, env: env)
            return nil
        } catch {
            return error
        }
    }

    @Test func sourcesKeepTheirLinesAndValues() throws {
        let c = try parse("""
            # comment on line 1
            tenant: contoso.onmicrosoft.com
            auth: client-secret
            sources:
              - name: activity
                type: activity-log
                subscriptions:
                  - 11111111-2222-3333-4444-555555555555
                  - 66666666-7777-8888-9999-000000000000
              - name: feed
                type: status-feed
                url: https://azure.status.microsoft/en-us/status/feed/
            """)
        #expect(c.tenant == "contoso.onmicrosoft.com")
        #expect(c.auth == "client-secret")
        #expect(c.sources.map(\.name) == ["activity", "feed"])
        #expect(c.sources.map(\.type) == ["activity-log", "status-feed"])
        #expect(c.sources.map(\.line) == [5, 10])
        let subs = try #require(c.sources[0].values["subscriptions"])
        #expect(subs.line == 7)
        #expect(subs.list == ["11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"])
        #expect(c.sources[1].values["url"] == SourceValue(line: 12, string: "https://azure.status.microsoft/en-us/status/feed/"))
        #expect(c.sources[0].values["name"] == nil && c.sources[0].values["type"] == nil)
        #expect(c.sources[0].configPath == Self.path)
        #expect(c.document["sources"] != nil)  // the raw section stays readable
    }

    @Test func aSourceMayOverrideTenantAndAuth() throws {
        let c = try parse("""
            tenant: home-tenant
            sources:
              - name: a
                type: status-feed
                url: https://status.example.com/history.rss
              - name: b
                type: rbac-snapshot
                tenant: other-tenant
                auth: azure-cli
                subscriptions: [11111111-2222-3333-4444-555555555555]
            """)
        #expect(c.sources[0].tenant == nil && c.sources[0].auth == nil)
        #expect(c.sources[1].tenant == "other-tenant" && c.sources[1].auth == "azure-cli")
        #expect(c.sources[1].values["tenant"] == nil)
        #expect(c.sources[1].values["subscriptions"]?.list == ["11111111-2222-3333-4444-555555555555"])
    }

    @Test func relativeRepositoryPathsAreRelativeToTheConfigFolder() throws {
        let c = try parse("""
            sources:
              - name: sdks
                type: sdk-versions
                repos: [../src/checkout, /srv/git/search.git, app]
            """)
        let s = c.sources[0]
        #expect(s.baseDirectory == "/etc/aoai-audit")
        #expect(try s.strings("repos").map { s.path($0) } == ["/etc/src/checkout", "/srv/git/search.git", "/etc/aoai-audit/app"])
    }

    @Test func environmentVariablesAreExpandedInEverySection() throws {
        let env = ["AZ_TENANT": "t-1", "FEED": "https://status.example.com", "ARM": "https://management.usgovcloudapi.net/", "DB": "audit.db"]
        let c = try parse("""
            database: data/${DB}
            tenant: ${AZ_TENANT}
            cloud:
              arm: ${ARM}
            sources:
              - name: feed
                type: status-feed
                url: ${FEED}/history.rss
            """, env: env)
        #expect(c.database == "/etc/aoai-audit/data/audit.db")
        #expect(c.tenant == "t-1")
        #expect(c.cloud.arm == "https://management.usgovcloudapi.net")
        #expect(c.sources[0].values["url"]?.string == "https://status.example.com/history.rss")
    }

    @Test func anUnsetVariableIsAnErrorNamingItAndItsLine() throws {
        let e = try #require(error("""
            sources:
              - name: blobs
                type: diagnostics-blobs
                account_url: https://acct.blob.core.windows.net
                container: ${CONTAINER_NAME}
            """, env: ["OTHER": "x"]))
        #expect(e.line == 5)
        #expect(e.message.contains("CONTAINER_NAME") && e.message.contains("not set"), "\(e)")
        #expect(e.description.hasPrefix("\(Self.path):5: "))
        // The lenient expansion stays available for callers that rely on it.
        #expect(Config.expand("a${UNSET_X}b", [:]) == "ab")
    }

    @Test func unknownTopLevelKeyNamesTheNearestAndTheLine() throws {
        let e = try #require(error("database: a.db\n\nsoruces:\n  - name: x\n"))
        #expect(e.line == 3)
        #expect(e.message.contains("unknown key 'soruces'") && e.message.contains("did you mean 'sources'?"), "\(e)")
    }

    @Test func cloudKeysAreCheckedAndTrailingSlashesStripped() throws {
        let c = try parse("""
            cloud:
              arm: https://management.chinacloudapi.cn/
              login: https://login.chinacloudapi.cn//
              log_analytics: http://127.0.0.1:8443
            """)
        #expect(c.cloud.arm == "https://management.chinacloudapi.cn")
        #expect(c.cloud.login == "https://login.chinacloudapi.cn")
        #expect(c.cloud.logAnalytics == "http://127.0.0.1:8443")

        let unknown = try #require(error("cloud:\n  arm: https://management.azure.com\n  loganalytics: https://api.loganalytics.io\n"))
        #expect(unknown.line == 3)
        #expect(unknown.message.contains("did you mean 'log_analytics'?"), "\(unknown)")

        let notURL = try #require(error("cloud:\n  login: login.microsoftonline.com\n"))
        #expect(notURL.line == 2 && notURL.message.contains("not an http(s) URL"), "\(notURL)")

        let plain = try #require(error("cloud:\n  arm: http://management.example.com\n"))
        #expect(plain.message.contains("only allowed to loopback"), "\(plain)")
    }

    @Test func authIsOneOfTheContractValues() throws {
        let e = try #require(error("tenant: t\nauth: client-secrets\n"))
        #expect(e.line == 2)
        #expect(e.message.contains("did you mean 'client-secret'?"), "\(e)")
        for m in Config.authMethods { #expect(e.message.contains(m)) }

        let s = try #require(error("sources:\n  - name: a\n    type: activity-log\n    auth: managed_identity\n"))
        #expect(s.line == 4 && s.message.contains("source 'a'") && s.message.contains("managed-identity"), "\(s)")
    }

    @Test func duplicateNamesAreReportedAtTheSecondOne() throws {
        let e = try #require(error("""
            sources:
              - name: feed
                type: status-feed
                url: https://a.example.com/feed
              - name: feed
                type: status-feed
                url: https://b.example.com/feed
            """))
        #expect(e.line == 5)
        #expect(e.message.contains("'feed' is used twice (first at line 2)"), "\(e)")
    }

    @Test func unknownTypeNamesTheNearestType() throws {
        let e = try #require(error("sources:\n  - name: a\n    type: activity-logs\n"))
        #expect(e.line == 3)
        #expect(e.message.contains("source 'a'") && e.message.contains("did you mean 'activity-log'?"), "\(e)")
    }

    @Test func entriesNeedANameAndAType() throws {
        let noName = try #require(error("sources:\n  - type: status-feed\n    url: https://x.example.com\n"))
        #expect(noName.line == 2 && noName.message.contains("no 'name:'"), "\(noName)")
        let noType = try #require(error("sources:\n  - name: a\n    url: https://x.example.com\n"))
        #expect(noType.line == 2 && noType.message.contains("'type' is required"), "\(noType)")
        let notList = try #require(error("sources:\n  name: a\n"))
        #expect(notList.line == 2 && notList.message.contains("must be a list"), "\(notList)")
    }

    @Test func aMappingValueIsAnError() throws {
        let e = try #require(error("sources:\n  - name: a\n    type: status-feed\n    url:\n      href: https://x.example.com\n"))
        #expect(e.line == 4)
        #expect(e.message.contains("'url' must be a value or a list of values, not a mapping"), "\(e)")
    }

    @Test func aKeyGivenTwiceIsAnError() throws {
        let e = try #require(error("sources:\n  - name: a\n    type: status-feed\n    url: https://x.example.com\n    url: https://y.example.com\n"))
        #expect(e.line == 5 && e.message.contains("appears twice"), "\(e)")
    }

    @Test func exportsAndEmptyFilesStillWork() throws {
        let c = try parse("exports:\n  dir: out\n  keep: 30d\n")
        #expect(c.sources.isEmpty)
        #expect(c.cloud == CloudEndpoints())
        let e = try ExportConfig(config: c)
        #expect(e.dir == "/etc/aoai-audit/out" && e.keep == "30d")
        #expect(try parse("").sources.isEmpty)
        #expect(try parse("# nothing yet\n").sources.isEmpty)
        #expect(try parse("sources:\n").sources.isEmpty)
    }

    @Test func loadReadsTheFileWithLines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("aoai-audit.yaml").path
        try Data("sources:\n  - name: x\n    type: sdk-versions\n    repos: app\n".utf8).write(to: URL(fileURLWithPath: file))
        let c = try Config.load(path: file, environment: [:])
        #expect(c.sources[0].line == 2 && c.sources[0].values["repos"]?.line == 4)
        #expect(try c.sources[0].strings("repos") == ["app"])
        #expect(c.sources[0].baseDirectory == dir.path)
    }
}
