import AuditCore
import AuditTestSupport
import Foundation
import Testing

/// Secrets in the input never reach the database, the output or the errors.
@Suite(.serialized) struct SecretsCLITests {
    static let key = "0123456789abcdef0123456789abcdef"
    static let key2 = "fedcba9876543210fedcba9876543210"
    static let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9.c2lnbmF0dXJlLXNlY3JldA"
    static let sas = "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-12-01&sig=QmFzZTY0U2lnbmF0dXJlU2VjcmV0JTJC"

    @Test func keysTokensAndSASSignaturesAreRedactedEverywhere() throws {
        let cli = CLI()
        // listKeys with its response body (the keys), a token in claims, a SAS URL and an api-key
        // header in free text, and a malformed line that holds a key (quarantine excerpt).
        let listKeys = #"{"time":"2024-05-29T14:02:11.4732210Z","resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/AOAI-A","operationName":"MICROSOFT.COGNITIVESERVICES/ACCOUNTS/LISTKEYS/ACTION","category":"Administrative","resultType":"Success","resultSignature":"Succeeded.OK","callerIpAddress":"203.0.113.10","correlationId":"c-1","identity":{"claims":{"upn":"ops@contoso.com","token":"\#(Self.jwt)"}},"level":"Information","properties":{"statusCode":"OK","responseBody":"{\"key1\":\"\#(Self.key)\",\"key2\":\"\#(Self.key2)\"}","requestUri":"https://acct.blob.core.windows.net/c?\#(Self.sas)","statusMessage":"api-key: \#(Self.key)"}}"#
        let request = Samples.request(1, status: 401).replacingOccurrences(of: #""objectId":"""#, with: #""objectId":"","authorization":"Bearer \#(Self.jwt)""#)
        let broken = #"{"key1":"\#(Self.key)","truncated": "#
        let p = try cli.write([listKeys, request, broken].joined(separator: "\n"), "PT1H.json")
        let r = try cli.run(["import", p])
        #expect(r.status == 3)  // the broken line is quarantined
        let out = try cli.run(["query", "--sql", "SELECT raw FROM activity_events UNION ALL SELECT extra FROM request_failures UNION ALL SELECT excerpt FROM quarantine UNION ALL SELECT summary || coalesce(detail, '') FROM changes", "--format", "csv"])
        #expect(out.stdout.contains("[REDACTED]"))
        let search = try cli.run(["search", "listKeys"])
        // The database file, its WAL, and everything printed.
        _ = try cli.run(["status"])
        let files = try FileManager.default.contentsOfDirectory(atPath: cli.dir.path).filter { $0.hasPrefix("audit.db") }
        var haystack = r.stdout + r.stderr + out.stdout + out.stderr + search.stdout
        for f in files { haystack += String(decoding: try Data(contentsOf: cli.dir.appendingPathComponent(f)), as: UTF8.self) }
        for secret in [Self.key, Self.key2, Self.jwt, "QmFzZTY0U2lnbmF0dXJlU2VjcmV0JTJC", "c2lnbmF0dXJlLXNlY3JldA"] {
            #expect(!haystack.contains(secret), "a secret survived: \(secret.prefix(12))…")
        }
    }
}
