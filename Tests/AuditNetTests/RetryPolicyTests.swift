@testable import AuditNet
import Foundation
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy()
    let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    @Test func fullJitterDoublesUpToTheCap() {
        #expect(policy.jitter(retry: 1, random: 1) == 0.2)
        #expect(policy.jitter(retry: 2, random: 1) == 0.4)
        #expect(policy.jitter(retry: 3, random: 0.5) == 0.4)
        #expect(policy.jitter(retry: 9, random: 1) == 30)
        #expect(policy.jitter(retry: 500, random: 1) == 30)
        #expect(policy.jitter(retry: 4, random: 0) == 0)
    }

    @Test func retryableStatuses() {
        for status in [429, 500, 502, 503, 504] { #expect(policy.shouldRetry(status: status)) }
        for status in [200, 301, 400, 401, 403, 404, 409, 501] { #expect(!policy.shouldRetry(status: status)) }
        #expect(!policy.shouldRetry(status: 503, noRetryStatuses: [503]))
    }

    @Test func retryAfterInEveryRFC9110Form() {
        #expect(RetryPolicy.parseRetryAfter("17", now: now) == 17)
        #expect(RetryPolicy.parseRetryAfter(" 0 ", now: now) == 0)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now: now) == 10)
        #expect(RetryPolicy.parseRetryAfter("Sunday, 06-Nov-94 08:49:57 GMT", now: now) == 20)
        #expect(RetryPolicy.parseRetryAfter("Sun Nov  6 08:50:07 1994", now: now) == 30)
        #expect(RetryPolicy.parseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", now: now) == 0)
        #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter("", now: now) == nil)
    }

    @Test func theServerDelayWinsOverShorterJitterAndIsCapped() {
        #expect(policy.delay(retry: 1, headers: ["retry-after": "5"], random: 0.5, now: now) == 5)
        #expect(policy.delay(retry: 20, headers: ["retry-after": "1"], random: 0.5, now: now) == 15)
        #expect(policy.delay(retry: 1, headers: ["retry-after": "86400"], random: 0.5, now: now) == 120)
        #expect(policy.delay(retry: 1, headers: ["x-ms-retry-after-ms": "250", "retry-after": "9"], random: 0, now: now) == 0.25)
        #expect(policy.delay(retry: 1, headers: [:], random: 0.5, now: now) == 0.1)
        #expect(policy.delay(retry: 1, headers: nil, random: 0.5, now: now) == 0.1)
    }

    @Test func transientTransportFailures() {
        for code in [7, 18, 28, 52, 55, 56, 61] { #expect(CurlHTTPClient.isTransient(code), "\(code)") }
        // DNS (6), TLS peer verification (60), unsupported protocol (1), write error (23): at once.
        for code in [1, 6, 23, 35, 60] { #expect(!CurlHTTPClient.isTransient(code), "\(code)") }
    }

    @Test func transportMessagesNameTheHostAndDropTheQuery() {
        let m = CurlHTTPClient.message(code: 6, detail: "Could not resolve host: nowhere.invalid", host: "nowhere.invalid", rawURL: "https://nowhere.invalid/?sig=S")
        #expect(m.hasPrefix("could not resolve host nowhere.invalid: "))
        #expect(m.contains("curl error 6"))
        let q = CurlHTTPClient.message(code: 3, detail: "bad URL a?sig=SECRET&x=1", host: "h", rawURL: "https://h/a?sig=SECRET&x=1")
        #expect(!q.contains("SECRET"))
        #expect(q.hasPrefix("h: "))
    }

    @Test func requestIDsAndRateLimitHeaders() {
        let response = HTTPResponse(status: 200, headers: [
            "x-ms-ratelimit-remaining-subscription-reads": "1", "x-ms-ratelimit-remaining-subscription-global-reads": "3749",
        ], body: [])
        #expect(response.rateLimitRemaining == 1)
        #expect(HTTPResponse(status: 200, headers: [:], body: []).rateLimitRemaining == nil)
        #expect(CurlHTTPClient.requestIDs(["x-request-id": "c", "apim-request-id": "b", "x-ms-request-id": "a"])
            == ["x-ms-request-id=a", "apim-request-id=b", "x-request-id=c"])
    }
}

@Suite struct HTTPRequestDisplayTests {
    @Test func secretsAreMaskedAndTheRestStays() {
        #expect(HTTPRequest.display("https://a.blob.core.windows.net/c/b.json?sv=2022-11-02&se=2025-12-01&sp=r&sig=abc%2Bdef%3D")
            == "https://a.blob.core.windows.net/c/b.json?sv=2022-11-02&se=2025-12-01&sp=r&sig=[REDACTED]")
        #expect(HTTPRequest.display("https://management.azure.com/x?api-version=2015-04-01&$filter=a&$skiptoken=tok")
            == "https://management.azure.com/x?api-version=2015-04-01&$filter=a&$skiptoken=[REDACTED]")
        #expect(HTTPRequest.display("https://h/p?Signature=1&CODE=2&client_secret=3&access_token=4&subscription-key=5&%73ig=6")
            == "https://h/p?Signature=[REDACTED]&CODE=[REDACTED]&client_secret=[REDACTED]&access_token=[REDACTED]&subscription-key=[REDACTED]&%73ig=[REDACTED]")
        #expect(HTTPRequest.display("https://user:pw@h.example/p#access_token=x") == "https://h.example/p")
        #expect(HTTPRequest.display("https://h/p") == "https://h/p")
        #expect(HTTPRequest.display("https://h/p?flag&a=1") == "https://h/p?flag&a=1")
    }
}
