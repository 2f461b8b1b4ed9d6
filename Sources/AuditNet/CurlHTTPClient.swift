internal import CAuditCurl
import AuditCore
import Foundation
import Synchronization

/// `curl_global_init` exactly once, on first use (a global `let` is initialised lazily and
/// thread-safely by the Swift runtime). The raw `CURLcode` is kept so that a failure surfaces
/// as an error on the first request instead of a crash.
private let curlGlobalInitCode: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

/// The one HTTP client: libcurl, blocking, safe to call from many threads at once.
///
/// - TLS verification is always on (`CURLOPT_SSL_VERIFYPEER` 1, `VERIFYHOST` 2); an extra CA
///   bundle can be given. Proxies come from the standard `HTTPS_PROXY` / `HTTP_PROXY` /
///   `NO_PROXY` variables, which libcurl reads itself.
/// - Plain `http://` is refused unless the host is loopback (or the request allows the IMDS
///   address `169.254.169.254`, which then bypasses any proxy), before any network I/O.
/// - gzip / deflate are offered and decoded (`CURLOPT_ACCEPT_ENCODING ""`).
/// - Redirects are not followed: a 3xx is returned like any other final status.
/// - 429, 500, 502, 503, 504 and transient transport failures are retried (see
///   ``RetryPolicy``) with full jitter, honouring `Retry-After`. A request with a body (POST,
///   PUT) is retried too: every request this tool sends is a read or an idempotent token request.
/// - Errors never contain headers, and show the URL through ``HTTPRequest/display(_:)``.
///
/// ```swift
/// let client = CurlHTTPClient()
/// let response = try client.send(HTTPRequest(url: "https://management.azure.com/…?api-version=2015-04-01"))
/// ```
///
/// `@unchecked Sendable`: the stored options are immutable `Sendable` values, and the only
/// mutable state (the statistics and the pool of idle easy handles) is behind `Mutex`es. Each
/// easy handle is used by one thread at a time (see ``CurlEasy``).
public final class CurlHTTPClient: HTTPTransport, @unchecked Sendable {
    /// The options this client was made with.
    public let options: HTTPClientOptions
    private let policy: RetryPolicy
    private let counters = Mutex(HTTPStats())
    private let idle = Mutex<[CurlEasy]>([])
    /// Idle handles kept for reuse (their connections stay open); more are freed.
    private static let maxIdleHandles = 16

    /// A client with `options` (defaults: 10 s connect, 120 s total, 6 attempts).
    public init(options: HTTPClientOptions = HTTPClientOptions()) {
        self.options = options
        self.policy = options.retryPolicy
    }

    /// Totals since the client was made: `requests` counts every attempt sent (retries
    /// included), `retries` the attempts after the first, `bytes` the decoded body bytes
    /// received by all attempts.
    public var stats: HTTPStats { counters.withLock { $0 } }

    /// Sends `request`, retrying as described on the type, and returns the final response
    /// (any 2xx, 3xx or 4xx, or a status listed in `noRetryStatuses`).
    ///
    /// - Throws: ``HTTPError/insecureURL(url:)`` (nothing was sent), ``HTTPError/exhausted(url:status:attempts:requestIDs:)``
    ///   when 429/5xx persisted through every attempt, ``HTTPError/transport(url:message:attempts:)``
    ///   for DNS, TLS, connect, timeout, reset, truncation, an oversized body or a malformed URL.
    ///   A truncated body is never returned as a success.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let display = HTTPRequest.display(request.url)
        let url = try CurlURL(request.url)
        let toMetadata = url.scheme == "http" && request.allowPlainHTTPToMetadataAddress && url.host == Self.metadataAddress
        guard url.scheme == "https" || (url.scheme == "http" && url.isLoopback) || toMetadata else {
            throw .insecureURL(url: display)
        }
        for (name, value) in request.headers where Self.hasLineBreak(name) || Self.hasLineBreak(value) {
            throw .transport(url: display, message: "header '\(Self.hasLineBreak(name) ? "?" : name)' contains a line break", attempts: 0)
        }
        guard curlGlobalInitCode == CURLE_OK.rawValue else {
            throw .transport(url: display, message: "libcurl could not be initialised (curl error \(curlGlobalInitCode))", attempts: 0)
        }
        guard let easy = acquire() else {
            throw .transport(url: display, message: "libcurl could not create a handle (out of memory)", attempts: 0)
        }
        defer { release(easy) }

        let maxAttempts = max(1, policy.maxAttempts)
        var attempt = 0
        while true {
            attempt += 1
            let outcome = easy.perform(request, url: url, options: options, bypassProxy: toMetadata)
            let received = if case .response(_, _, let body) = outcome { body.count } else { 0 }
            counters.withLock {
                $0.requests += 1
                if attempt > 1 { $0.retries += 1 }
                $0.bytes += Int64(received)
            }
            switch outcome {
            case .response(let status, let headers, let body):
                let ids = Self.requestIDs(headers)
                guard policy.shouldRetry(status: status, noRetryStatuses: request.noRetryStatuses) else {
                    return HTTPResponse(status: status, headers: headers, body: body, attempts: attempt, requestIDs: ids)
                }
                guard attempt < maxAttempts else {
                    throw .exhausted(url: display, status: status, attempts: attempt, requestIDs: ids)
                }
                options.sleep(policy.delay(retry: attempt, headers: headers, random: options.random(), now: options.now()))
            case .failure(let code, let detail, let tooLarge):
                if tooLarge {
                    throw .transport(url: display, message: "the response body is larger than \(options.maxResponseBytes) bytes (maxResponseBytes)", attempts: attempt)
                }
                let message = Self.message(code: code, detail: detail, host: url.host, rawURL: request.url)
                guard Self.isTransient(code), attempt < maxAttempts else {
                    throw .transport(url: display, message: message, attempts: attempt)
                }
                options.sleep(policy.delay(retry: attempt, headers: nil, random: options.random(), now: options.now()))
            }
        }
    }

    /// The instance metadata service (IMDS): plain http:// by design, reachable only when a
    /// request sets `allowPlainHTTPToMetadataAddress`, and then never through a proxy.
    static let metadataAddress = "169.254.169.254"

    // MARK: - Handle pool

    private func acquire() -> CurlEasy? {
        if let easy = idle.withLock({ $0.popLast() }) { return easy }
        return CurlEasy()
    }

    private func release(_ easy: CurlEasy) {
        easy.reset()  // drops the pointers to this request's URL handle and sink
        idle.withLock { pool in
            if pool.count < Self.maxIdleHandles { pool.append(easy) }
        }
    }

    // MARK: - Classification and messages

    /// Transport failures worth another attempt.
    static func isTransient(_ code: Int) -> Bool {
        let transient: [CURLcode] = [
            CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING,
            CURLE_PARTIAL_FILE,  // Content-Length or chunked framing cut short
            CURLE_BAD_CONTENT_ENCODING,  // a gzip body cut short
            CURLE_HTTP2, CURLE_HTTP2_STREAM,  // HTTP/2 stream resets
        ]
        return transient.contains { Int($0.rawValue) == code }
    }

    /// libcurl's text (the error buffer is more specific than `curl_easy_strerror`), scrubbed
    /// of the URL's query and any secret-looking text, always naming the host.
    static func message(code: Int, detail: String, host: String, rawURL: String) -> String {
        let generic = CurlEasy.describe(code: code)
        var specific = detail.trimmingCharacters(in: .whitespacesAndNewlines)
        if let q = rawURL.firstIndex(of: "?") {
            let query = String(rawURL[rawURL.index(after: q)...])
            if !query.isEmpty { specific = specific.replacingOccurrences(of: query, with: Redactor.mask) }
        }
        specific = Redactor.redact(specific)
        var text = specific.isEmpty || specific == generic ? "\(generic) (curl error \(code))" : "\(specific) (curl error \(code): \(generic))"
        if code == Int(CURLE_COULDNT_RESOLVE_HOST.rawValue) { text = "could not resolve host \(host): " + text }
        if !text.contains(host) { text = "\(host): " + text }
        return text
    }

    private static let requestIDHeaders = ["x-ms-request-id", "apim-request-id", "x-ms-correlation-request-id", "x-request-id"]

    /// The request-id headers present, as `name=value`, in a fixed order.
    static func requestIDs(_ headers: [String: String]) -> [String] {
        requestIDHeaders.compactMap { name in headers[name].map { "\(name)=\($0)" } }
    }

    private static func hasLineBreak(_ s: String) -> Bool {
        s.utf8.contains { $0 == 0x0A || $0 == 0x0D || $0 == 0 }
    }
}

extension HTTPResponse {
    /// The lowest `x-ms-ratelimit-remaining-*` value on the response (ARM's remaining
    /// read/write/delete tokens), or nil when there is none. A caller paging through ARM can
    /// slow down when it reaches 0 or 1 instead of waiting for a 429.
    public var rateLimitRemaining: Int? {
        headers.lazy
            .filter { $0.key.hasPrefix("x-ms-ratelimit-remaining-") }
            .compactMap { Int($0.value.trimmingCharacters(in: .whitespaces)) }
            .min()
    }
}
