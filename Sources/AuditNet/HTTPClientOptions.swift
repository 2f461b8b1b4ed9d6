import Foundation

/// Settings of a ``CurlHTTPClient``: timeouts, the retry budget, the CA bundle, and the clock,
/// sleep and random source (injectable so that tests run without waiting).
///
/// ```swift
/// var options = HTTPClientOptions()
/// options.userAgent = "aoai-audit/\(version)"
/// let client = CurlHTTPClient(options: options)
/// ```
public struct HTTPClientOptions: Sendable {
    /// The `User-Agent` sent when the caller sets none; the CLI replaces it with its own version.
    public static let defaultUserAgent = "aoai-audit/0.1.0"

    /// Seconds to wait for the TCP (and TLS) connection.
    public var connectTimeout: Double
    /// Seconds one attempt may take from start to last body byte; `HTTPRequest.timeout`
    /// overrides it per request.
    public var totalTimeout: Double
    /// Attempts per request, the first included (1 = never retry).
    public var maxAttempts: Int
    /// Full-jitter backoff: the n-th retry waits `random(0, min(capDelay, baseDelay * 2^(n-1)))`.
    public var baseDelay: Double
    /// Upper bound of the jitter window, in seconds.
    public var capDelay: Double
    /// A server's `Retry-After` (or `retry-after-ms`) is honoured up to this many seconds.
    public var maxRetryAfter: Double
    /// A PEM CA bundle to trust instead of the system one (`CURLOPT_CAINFO`). TLS verification
    /// itself is never turned off.
    public var caBundle: String?
    /// The `User-Agent` header (`aoai-audit/<version>`).
    public var userAgent: String
    /// A (decoded) response body larger than this fails with `HTTPError.transport`, unretried.
    public var maxResponseBytes: Int
    /// Waits between attempts. Tests record the delays instead of sleeping.
    public var sleep: @Sendable (Double) -> Void
    /// A uniform value in `0..<1` for the jitter.
    public var random: @Sendable () -> Double
    /// The clock an HTTP-date `Retry-After` is measured against.
    public var now: @Sendable () -> Date

    /// Options with the documented defaults; pass only what differs.
    public init(
        connectTimeout: Double = 10,
        totalTimeout: Double = 120,
        maxAttempts: Int = 6,
        baseDelay: Double = 0.2,
        capDelay: Double = 30,
        maxRetryAfter: Double = 120,
        caBundle: String? = nil,
        userAgent: String = HTTPClientOptions.defaultUserAgent,
        maxResponseBytes: Int = 1 << 30,
        sleep: @escaping @Sendable (Double) -> Void = { if $0 > 0 { Thread.sleep(forTimeInterval: $0) } },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.capDelay = capDelay
        self.maxRetryAfter = maxRetryAfter
        self.caBundle = caBundle
        self.userAgent = userAgent
        self.maxResponseBytes = maxResponseBytes
        self.sleep = sleep
        self.random = random
        self.now = now
    }

    /// The retry rules these options describe.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, baseDelay: baseDelay, capDelay: capDelay, maxRetryAfter: maxRetryAfter)
    }
}
