import AuditCore
import Testing

@Suite struct RedactorTests {
    static let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJl"

    @Test func removesEverySecretForm() {
        let cases = [
            "Authorization: Bearer \(Self.jwt)",
            "token \(Self.jwt) expired",
            "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=AbC%2Bdef123&se=2026",
            "client_id=x&client_secret=s3cr3t-value&grant_type=client_credentials",
            "api-key: 0123456789abcdef0123456789abcdef",
            #"{"key1":"0123456789abcdef0123456789abcdef","key2":"fedcba9876543210fedcba9876543210"}"#,
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=QUJDREVGRw==;EndpointSuffix=core",
        ]
        let secrets = [Self.jwt, "AbC%2Bdef123", "s3cr3t-value", "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "QUJDREVGRw=="]
        for c in cases {
            let r = Redactor.redact(c)
            for s in secrets { #expect(!r.contains(s), "\(r) still holds a secret") }
            #expect(r.contains(Redactor.mask))
        }
    }

    @Test func leavesOrdinaryTextAlone() {
        let t = "Microsoft.CognitiveServices/accounts/regenerateKey/action at 2024-05-29T14:02:11Z by ops@contoso.com"
        #expect(Redactor.redact(t) == t)
    }

    @Test func masksSecretMembersInJSON() throws {
        let v = try JSONParser.parse(#"{"key1":"abc","nested":{"access_token":"tok","note":"Bearer \#(Self.jwt)"},"keyName":"Key2"}"#)
        let r = Redactor.redact(json: v).serialized
        #expect(!r.contains("\"abc\""))
        #expect(!r.contains("tok\""))
        #expect(!r.contains(Self.jwt))
        #expect(r.contains(#""keyName":"Key2""#))
    }

    @Test func redactsURLsForPrinting() {
        #expect(Redactor.redactURL("https://u:p@host/x?a=1&sig=zzz") == "https://host/x?a=1&sig=[REDACTED]")
    }
}
