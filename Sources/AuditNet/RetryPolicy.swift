internal import CAuditCurl
import Foundation

/// When a request is tried again and how long to wait first: full-jitter exponential backoff
/// that a server's `Retry-After` can lengthen but never shorten.
///
/// Retried: HTTP 429, 500, 502, 503 and 504 (unless the request lists the status in
/// `noRetryStatuses`) and transient transport failures (timeouts, refused connects, resets,
/// truncated or undecodable bodies; see ``CurlHTTPClient``). Not retried: DNS failures, TLS
/// failures, any other status.
public struct RetryPolicy: Sendable, Equatable {
    /// Statuses that mean "try again later" (ARM and Azure OpenAI throttling, gateway errors).
    public static let retryableStatuses: Set<Int> = [429, 500, 502, 503, 504]

    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// The first retry's jitter window, in seconds; it doubles per retry.
    public var baseDelay: Double
    /// The largest jitter window, in seconds.
    public var capDelay: Double
    /// The longest server-requested wait honoured, in seconds.
    public var maxRetryAfter: Double

    /// A policy; the defaults are design.md's (6 attempts, base 200 ms, cap 30 s, Retry-After ≤ 120 s).
    public init(maxAttempts: Int = 6, baseDelay: Double = 0.2, capDelay: Double = 30, maxRetryAfter: Double = 120) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.capDelay = capDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// Whether a response with `status` is tried again (budget permitting).
    public func shouldRetry(status: Int, noRetryStatuses: Set<Int> = []) -> Bool {
        Self.retryableStatuses.contains(status) && !noRetryStatuses.contains(status)
    }

    /// The full-jitter wait before retry number `retry` (1 = the first retry):
    /// `random * min(capDelay, baseDelay * 2^(retry-1))`, `random` in `0..<1`.
    public func jitter(retry: Int, random: Double) -> Double {
        let exponent = Double(max(0, min(retry - 1, 62)))
        let window = min(capDelay, baseDelay * pow(2, exponent))
        return max(0, min(1, random)) * max(0, window)
    }

    /// The wait before retry number `retry`: the jitter, or the server's requested delay when
    /// that is longer (capped at ``maxRetryAfter``).
    ///
    /// - Parameters:
    ///   - headers: The failed response's headers (lower-cased names), or nil after a transport error.
    ///   - now: The clock an HTTP-date `Retry-After` is measured against.
    public func delay(retry: Int, headers: [String: String]?, random: Double, now: Date) -> Double {
        let backoff = jitter(retry: retry, random: random)
        guard let headers, let asked = Self.serverDelay(headers: headers, now: now) else { return backoff }
        return max(min(asked, maxRetryAfter), backoff)
    }

    /// The delay a response asks for, in seconds: `retry-after-ms` and `x-ms-retry-after-ms`
    /// (Azure OpenAI; milliseconds) take precedence over `Retry-After` (RFC 9110 §10.2.3:
    /// delta-seconds or an HTTP-date). Nil when absent or unparsable; never negative.
    public static func serverDelay(headers: [String: String], now: Date) -> Double? {
        for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
            if let raw = headers[name], let ms = Double(raw.trimmingCharacters(in: .whitespaces)), ms.isFinite, ms >= 0 {
                return ms / 1000
            }
        }
        guard let raw = headers["retry-after"] else { return nil }
        return parseRetryAfter(raw, now: now)
    }

    /// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP-date in any of the three
    /// RFC 9110 forms (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850, asctime). A date in the past
    /// gives 0.
    public static func parseRetryAfter(_ value: String, now: Date) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Huge digit strings overflow Int; they are "very long" anyway.
            return Double(text).map { max(0, $0) }
        }
        if let seconds = Double(text), seconds.isFinite { return max(0, seconds) }
        // libcurl's date parser (the one it uses for cookies) accepts all three HTTP-date forms.
        let when = curl_getdate(text, nil)
        guard when != -1 else { return nil }
        return max(0, Double(when) - now.timeIntervalSince1970)
    }
}
