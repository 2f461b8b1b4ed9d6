import Foundation

/// One HTTP request. `url` may hold a secret in its query (a SAS signature); it is never
/// printed: errors and logs use `HTTPRequest.display(url)`, which drops the query's signature
/// and any other credential-looking parameter.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header names as sent; an `Authorization` or `api-key` value is never logged.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// A per-request override of the client's total timeout, in seconds.
    public var timeout: Double?
    /// Responses with these statuses are returned to the caller instead of retried (e.g. a
    /// collector that handles 404 itself). 429 / 5xx are retried unless listed here.
    public var noRetryStatuses: Set<Int> = []
    /// Allows plain `http://` to the instance metadata address `169.254.169.254` (IMDS,
    /// link-local by design) for this one request. Only `ManagedIdentityCredential` sets it,
    /// and only when `auth: managed-identity` is named. Every other non-loopback `http://` URL is
    /// still refused, and a client honouring this flag must not send the request through a
    /// proxy (IMDS refuses proxied requests). Default false.
    public var allowPlainHTTPToMetadataAddress = false

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A complete response (after retries). Header names are lower-cased; when a header repeats,
/// the last value wins.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    /// How many attempts were made (1 = no retry).
    public var attempts: Int
    /// `x-ms-request-id`, `apim-request-id`, `x-ms-correlation-request-id`, `x-request-id` when
    /// present, as `name=value` pairs, for error messages.
    public var requestIDs: [String]

    public init(status: Int, headers: [String: String], body: [UInt8], attempts: Int = 1, requestIDs: [String] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts
        self.requestIDs = requestIDs
    }

    public subscript(header name: String) -> String? { headers[name.lowercased()] }
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request could not be completed. Every description names the host or the URL
/// without secrets and says what to check.
public enum HTTPError: Error, Sendable, CustomStringConvertible {
    /// `http://` to a host that is not loopback, or a scheme other than http/https.
    case insecureURL(url: String)
    /// DNS, connect, TLS, timeout, reset or truncated body after every attempt.
    case transport(url: String, message: String, attempts: Int)
    /// A 429 or 5xx still failing after the last attempt.
    case exhausted(url: String, status: Int, attempts: Int, requestIDs: [String])

    public var description: String {
        switch self {
        case .insecureURL(let url):
            return "refusing \(url): plain http:// is only allowed to loopback (127.0.0.1, ::1, localhost); use https://"
        case .transport(let url, let message, let attempts):
            return "\(url): \(message) (after \(attempts) attempt\(attempts == 1 ? "" : "s")); check the host name, network, proxy (HTTPS_PROXY) and CA bundle"
        case .exhausted(let url, let status, let attempts, let ids):
            return "\(url): HTTP \(status) after \(attempts) attempts" + (ids.isEmpty ? "" : " (\(ids.joined(separator: ", ")))") + "; the service is throttling or failing, try again later"
        }
    }
}

/// Retries and requests made, for the per-source summary.
public struct HTTPStats: Sendable, Equatable {
    public var requests = 0
    public var retries = 0
    public var bytes: Int64 = 0
    public init() {}
    public static func += (a: inout HTTPStats, b: HTTPStats) { a.requests += b.requests; a.retries += b.retries; a.bytes += b.bytes }
}

/// What collectors talk to: the libcurl client in production and tests alike.
public protocol HTTPTransport: Sendable {
    /// Sends `request`, retrying 429 / 5xx / timeouts / resets / truncated bodies with full
    /// jitter, honouring `Retry-After`. Any final status (2xx, 3xx, 4xx, or a listed
    /// `noRetryStatuses`) is returned, not thrown.
    func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse
    /// Totals since the client was made.
    var stats: HTTPStats { get }
}
