@testable import AuditNet
import AzureSimulator
import Foundation
import Synchronization
import Testing

/// Real HTTP over 127.0.0.1 between `CurlHTTPClient` and `SimHTTPServer`; sleeps are recorded,
/// never waited for.
@Suite struct CurlHTTPClientTests {
    // MARK: - Round trips

    @Test func getSendsHeadersAndQueryAndReturnsHeadersAndRequestIDs() throws {
        let script = ScriptedHandler([
            .json(200, #"{"ok":true}"#, headers: [("x-ms-request-id", "rid-1"), ("x-ms-correlation-request-id", "cid-1"), ("X-Custom", "v")])
        ])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let client = Net.client()
        let response = try client.send(HTTPRequest(
            url: server.baseURL + "/subscriptions/s%201/providers?api-version=2015-04-01&$filter=a%20eq%20%27b%27",
            headers: [("Authorization", "Bearer t"), ("x-ms-client-request-id", "c-1")]))
        #expect(response.status == 200)
        #expect(response.text == #"{"ok":true}"#)
        #expect(response[header: "X-Custom"] == "v")
        #expect(response[header: "content-type"] == "application/json; charset=utf-8")
        #expect(response.requestIDs == ["x-ms-request-id=rid-1", "x-ms-correlation-request-id=cid-1"])
        #expect(response.attempts == 1)
        let seen = try #require(script.requests.first)
        #expect(seen.method == "GET")
        #expect(seen.path == "/subscriptions/s 1/providers")
        #expect(seen.query == ["api-version": "2015-04-01", "$filter": "a eq 'b'"])
        #expect(seen[header: "authorization"] == "Bearer t")
        #expect(seen[header: "x-ms-client-request-id"] == "c-1")
        #expect(seen[header: "user-agent"] == HTTPClientOptions.defaultUserAgent)
        #expect(seen[header: "accept-encoding"]?.contains("gzip") == true)
        #expect(client.stats.requests == 1)
        #expect(client.stats.retries == 0)
        #expect(client.stats.bytes == 11)
    }

    @Test func literalSpacesAreSentPercentEncoded() throws {
        let script = ScriptedHandler([SimResponse(status: 200)])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        _ = try Net.client().send(HTTPRequest(url: server.baseURL + "/a b?$filter=eventTimestamp ge '2025-11-01T00:00:00Z'&x=%2B"))
        let seen = try #require(script.requests.first)
        #expect(seen.path == "/a b")
        #expect(seen.query == ["$filter": "eventTimestamp ge '2025-11-01T00:00:00Z'", "x": "+"])
    }

    @Test func postSendsTheBodyAndContentType() throws {
        let script = ScriptedHandler([SimResponse(status: 201, body: Array("created".utf8))])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let body = Array(#"{"query":"AzureDiagnostics | take 1"}"#.utf8) + [0, 255]  // binary-safe
        let response = try Net.client().send(HTTPRequest(
            method: "POST", url: server.baseURL + "/v1/workspaces/w/query", headers: [("Content-Type", "application/json")], body: body))
        #expect(response.status == 201)
        #expect(response.text == "created")
        let seen = try #require(script.requests.first)
        #expect(seen.method == "POST")
        #expect(seen.body == body)
        #expect(seen[header: "content-type"] == "application/json")
        #expect(seen[header: "content-length"] == "\(body.count)")
        #expect(seen[header: "expect"] == nil)
    }

    @Test func headPutAndDeleteUseTheirMethods() throws {
        let script = ScriptedHandler([SimResponse(status: 200, headers: [("x-ms-blob-type", "BlockBlob")], body: Array("0123456789".utf8))])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let client = Net.client()
        let head = try client.send(HTTPRequest(method: "HEAD", url: server.baseURL + "/c/b.json"))
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head[header: "content-length"] == "10")
        _ = try client.send(HTTPRequest(method: "PUT", url: server.baseURL + "/c/b.json", body: Array("x".utf8)))
        _ = try client.send(HTTPRequest(method: "DELETE", url: server.baseURL + "/c/b.json"))
        #expect(script.requests.map(\.method) == ["HEAD", "PUT", "DELETE"])
        #expect(script.requests[1].body == Array("x".utf8))
    }

    @Test func gzipIsNegotiatedAndDecoded() throws {
        let text = String(repeating: #"{"category":"Administrative","status":"Succeeded"},"#, count: 400)
        let server = try SimHTTPServer { _ in .json(200, text) }
        defer { server.stop() }
        let client = Net.client()
        let response = try client.send(HTTPRequest(url: server.baseURL + "/big"))
        #expect(response[header: "content-encoding"] == "gzip")
        #expect(Int(response[header: "content-length"] ?? "") ?? .max < text.utf8.count / 4)
        #expect(response.text == text)
        #expect(client.stats.bytes == Int64(text.utf8.count))
    }

    @Test func redirectsAreReturnedNotFollowed() throws {
        let script = ScriptedHandler([SimResponse(status: 302, headers: [("Location", "https://elsewhere.example/")])])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let response = try Net.client().send(HTTPRequest(url: server.baseURL + "/moved"))
        #expect(response.status == 302)
        #expect(response[header: "location"] == "https://elsewhere.example/")
        #expect(script.count == 1)
    }

    // MARK: - Retries

    @Test func retryAfterSecondsIsHonoured() throws {
        let script = ScriptedHandler([
            .json(429, #"{"error":{"code":"SubscriptionRequestsThrottled"}}"#, headers: [("Retry-After", "2"), ("x-ms-ratelimit-remaining-subscription-reads", "0")]),
            .json(200, "{}", headers: [("x-ms-ratelimit-remaining-subscription-reads", "249")]),
        ])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let recorder = SleepRecorder()
        let client = Net.client(recorder: recorder)
        let response = try client.send(HTTPRequest(url: server.baseURL + "/subscriptions"))
        #expect(response.status == 200)
        #expect(response.attempts == 2)
        #expect(response.rateLimitRemaining == 249)
        #expect(recorder.recorded.count == 1)
        #expect((recorder.recorded.first ?? 0) >= 2.0)
        #expect(client.stats.retries == 1)
        #expect(client.stats.requests == 2)
    }

    @Test func retryAfterAsAnHTTPDateIsMeasuredAgainstTheClock() throws {
        let now = Date(timeIntervalSince1970: 1_764_460_800)  // 2025-11-30T00:00:00Z
        let script = ScriptedHandler([
            SimResponse(status: 503, headers: [("Retry-After", Net.httpDate(now.addingTimeInterval(7)))]),
            SimResponse(status: 200),
        ])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let recorder = SleepRecorder()
        let client = Net.client(recorder: recorder) { $0.now = { now } }
        #expect(try client.send(HTTPRequest(url: server.baseURL + "/")).status == 200)
        #expect(recorder.recorded == [7.0])
    }

    @Test func retryAfterMillisecondsTakesPrecedence() throws {
        let script = ScriptedHandler([
            SimResponse(status: 429, headers: [("retry-after-ms", "1500"), ("Retry-After", "60")]),
            SimResponse(status: 200),
        ])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let recorder = SleepRecorder()
        #expect(try Net.client(recorder: recorder).send(HTTPRequest(url: server.baseURL + "/")).status == 200)
        #expect(recorder.recorded == [1.5])
    }

    @Test func persistent503IsExhaustedWithTheRequestID() throws {
        let script = ScriptedHandler([.json(503, #"{"error":{"code":"ServiceUnavailable"}}"#, headers: [("x-ms-request-id", "req-503-abc")])])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let recorder = SleepRecorder()
        let client = Net.client(maxAttempts: 4, recorder: recorder)
        do {
            _ = try client.send(HTTPRequest(url: server.baseURL + "/x?api-version=1"))
            Issue.record("expected .exhausted")
        } catch {
            guard case .exhausted(let url, let status, let attempts, let ids) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(url == server.baseURL + "/x?api-version=1")
            #expect(status == 503)
            #expect(attempts == 4)
            #expect(ids == ["x-ms-request-id=req-503-abc"])
            #expect(error.description.contains("req-503-abc"))
        }
        #expect(script.count == 4)
        // Full jitter with random = 0.5: half of 0.2, 0.4, 0.8 s.
        #expect(recorder.recorded.map { ($0 * 1000).rounded() } == [100, 200, 400])
        #expect(client.stats.retries == 3)
    }

    @Test func aResetConnectionIsRetried() throws {
        let script = ScriptedHandler([SimResponse(status: 200, fault: .reset), .json(200, #"{"after":"reset"}"#)])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let client = Net.client()
        let response = try client.send(HTTPRequest(url: server.baseURL + "/r"))
        #expect(response.text == #"{"after":"reset"}"#)
        #expect(response.attempts == 2)
        #expect(client.stats.retries == 1)
    }

    @Test func aTruncatedBodyIsRetriedAndTheFinalBodyIsComplete() throws {
        let full = Array(String(repeating: "0123456789abcdef", count: 300).utf8)
        for acceptGzip in [false, true] {
            let script = ScriptedHandler([SimResponse(status: 200, body: full, fault: .truncate(afterBytes: 20)), SimResponse(status: 200, body: full)])
            let server = try SimHTTPServer(handler: script.handler)
            defer { server.stop() }
            let headers: [(name: String, value: String)] = acceptGzip ? [] : [("Accept-Encoding", "identity")]
            let response = try Net.client().send(HTTPRequest(url: server.baseURL + "/blob", headers: headers))
            #expect(response.body == full, "gzip: \(acceptGzip)")
            #expect(response.attempts == 2)
            #expect(script.count == 2)
        }
    }

    @Test func aBodyTruncatedEveryTimeIsATransportErrorNeverAShortSuccess() throws {
        let server = try SimHTTPServer { _ in SimResponse(status: 200, body: Array(repeating: 65, count: 500), fault: .truncate(afterBytes: 10)) }
        defer { server.stop() }
        do {
            _ = try Net.client(maxAttempts: 2).send(HTTPRequest(url: server.baseURL + "/t"))
            Issue.record("expected .transport")
        } catch {
            guard case .transport(_, let message, let attempts) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(attempts == 2)
            #expect(message.contains("curl error 18"))
        }
    }

    @Test func aListedNoRetryStatusIsReturned() throws {
        let script = ScriptedHandler([SimResponse(status: 503)])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        var request = HTTPRequest(url: server.baseURL + "/")
        request.noRetryStatuses = [503]
        let response = try Net.client().send(request)
        #expect(response.status == 503)
        #expect(response.attempts == 1)
        #expect(script.count == 1)
    }

    @Test func notFoundIsReturnedNotRetried() throws {
        let script = ScriptedHandler([.json(404, #"{"error":{"code":"ResourceNotFound"}}"#)])
        let server = try SimHTTPServer(handler: script.handler)
        defer { server.stop() }
        let recorder = SleepRecorder()
        let response = try Net.client(recorder: recorder).send(HTTPRequest(url: server.baseURL + "/missing"))
        #expect(response.status == 404)
        #expect(response.attempts == 1)
        #expect(recorder.recorded.isEmpty)
        #expect(script.count == 1)
    }

    @Test func aTimeoutIsRetriedThenReported() throws {
        let server = try SimHTTPServer { _ in SimResponse(status: 200, fault: .delay(seconds: 1)) }
        defer { server.stop() }
        var request = HTTPRequest(url: server.baseURL + "/slow")
        request.timeout = 0.2
        do {
            _ = try Net.client(maxAttempts: 2).send(request)
            Issue.record("expected .transport")
        } catch {
            guard case .transport(_, let message, let attempts) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(attempts == 2)
            #expect(message.contains("curl error 28"))
            #expect(message.contains("127.0.0.1"))
        }
    }

    // MARK: - Refusals and failures

    @Test func plainHTTPToANonLoopbackHostIsRefusedBeforeAnyIO() {
        let client = Net.client()
        for url in ["http://example.com/", "http://127.0.0.1.example.com/", "ftp://127.0.0.1/", "http://169.254.169.254/metadata/identity/oauth2/token"] {
            do {
                _ = try client.send(HTTPRequest(url: url))
                Issue.record("\(url) was not refused")
            } catch {
                guard case .insecureURL = error else {
                    Issue.record("\(url): unexpected \(error)")
                    continue
                }
                #expect(error.description.contains("refusing"))
            }
        }
        #expect(client.stats == HTTPStats())
    }

    @Test func loopbackNamesAreAllowed() throws {
        let server = try SimHTTPServer { _ in SimResponse(status: 204) }
        defer { server.stop() }
        #expect(try Net.client().send(HTTPRequest(url: "http://localhost:\(server.port)/")).status == 204)
        #expect(try Net.client().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/")).status == 204)
    }

    @Test func aMalformedURLIsATransportErrorWithNoAttempt() {
        do {
            _ = try Net.client().send(HTTPRequest(url: "not a url"))
            Issue.record("expected an error")
        } catch {
            guard case .transport(_, let message, let attempts) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(attempts == 0)
            #expect(message.contains("malformed URL"))
        }
    }

    @Test func connectionRefusedIsRetriedThenNamesTheHost() throws {
        let port = try Net.closedPort()
        let recorder = SleepRecorder()
        do {
            _ = try Net.client(maxAttempts: 2, recorder: recorder).send(HTTPRequest(url: "http://127.0.0.1:\(port)/x"))
            Issue.record("expected .transport")
        } catch {
            guard case .transport(let url, let message, let attempts) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(url == "http://127.0.0.1:\(port)/x")
            #expect(attempts == 2)
            #expect(message.contains("127.0.0.1"))
            #expect(message.contains("curl error 7"))
        }
        #expect(recorder.recorded.count == 1)
    }

    @Test func aSASSignatureNeverAppearsInAnError() throws {
        let port = try Net.closedPort()
        let url = "http://127.0.0.1:\(port)/insights-logs/y=2025/PT1H.json?sv=2022-11-02&se=2025-12-01&sp=rl&sig=SECRETSIG%2Babc"
        do {
            _ = try Net.client(maxAttempts: 1).send(HTTPRequest(url: url, headers: [("api-key", "SECRETKEY")]))
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("SECRETSIG"))
            #expect(!error.description.contains("SECRETKEY"))
            #expect(error.description.contains("sv=2022-11-02"))
            #expect(error.description.contains("sig=[REDACTED]"))
        }
        let server = try SimHTTPServer { _ in SimResponse(status: 500, headers: [("x-ms-request-id", "r")]) }
        defer { server.stop() }
        do {
            _ = try Net.client(maxAttempts: 2).send(HTTPRequest(url: server.baseURL + "/c?sig=SECRETSIG&comp=list"))
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("SECRETSIG"))
            #expect(error.description.contains("HTTP 500"))
        }
        do {
            _ = try Net.client().send(HTTPRequest(url: "http://example.com/c?sig=SECRETSIG"))
        } catch {
            #expect(!error.description.contains("SECRETSIG"))
        }
    }

    @Test func anOversizedBodyIsRefused() throws {
        let server = try SimHTTPServer { _ in SimResponse(status: 200, body: Array(repeating: 120, count: 5000)) }
        defer { server.stop() }
        let client = Net.client { $0.maxResponseBytes = 1000 }
        for encoding in ["identity", "gzip"] {
            do {
                _ = try client.send(HTTPRequest(url: server.baseURL + "/", headers: [("Accept-Encoding", encoding)]))
                Issue.record("expected .transport")
            } catch {
                guard case .transport(_, let message, let attempts) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(attempts == 1)
                #expect(message.contains("larger than 1000 bytes"))
            }
        }
    }

    @Test func headerValuesWithLineBreaksAreRefused() {
        do {
            _ = try Net.client().send(HTTPRequest(url: "http://127.0.0.1:9/", headers: [("X-A", "a\r\nInjected: 1")]))
            Issue.record("expected an error")
        } catch {
            guard case .transport(_, _, let attempts) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(attempts == 0)
        }
    }

    // MARK: - Concurrency

    @Test func eightThreadsTimesTwentyRequestsAllSucceed() throws {
        let server = try SimHTTPServer { request in .json(200, #"{"n":"\#(request.query["n"] ?? "")"}"#) }
        defer { server.stop() }
        let client = Net.client()
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<20 {
                let n = "\(thread)-\(i)"
                do {
                    let response = try client.send(HTTPRequest(url: server.baseURL + "/c?n=\(n)"))
                    if response.text != #"{"n":"\#(n)"}"# { failures.withLock { $0.append("\(n): \(response.text)") } }
                } catch {
                    failures.withLock { $0.append("\(n): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(client.stats.requests == 160)
        #expect(client.stats.retries == 0)
    }
}
