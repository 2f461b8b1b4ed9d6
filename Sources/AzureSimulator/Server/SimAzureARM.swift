import AuditCore
import Foundation

/// What every ARM answer shares (formats.md §1.3, §1.4): the `{"error":{…}}` body, the request,
/// correlation, routing and rate-limit headers, bearer checks with ARM's 401 bodies,
/// `api-version`, and paging with an absolute `nextLink`.
extension SimAzureState {
    /// Audiences ARM accepts, in the order its `InvalidAuthenticationTokenAudience` message lists them.
    static let armAudiences = [
        "https://management.core.windows.net/", "https://management.core.windows.net", "https://management.azure.com/",
        "https://management.azure.com",
    ]

    /// An ARM error: `{"error":{"code":…,"message":…}}`.
    func armError(_ status: Int, _ code: String, _ message: String) -> SimResponse {
        SimResponse.json(status, #"{"error":{"code":"# + SimFormat.json(code) + #","message":"# + SimFormat.json(message) + "}}")
    }

    /// Adds the headers ARM puts on every response, errors included.
    mutating func addARMHeaders(_ response: inout SimResponse, request: SimRequest, throttled: Bool) {
        armReads += 1
        let remaining: Int
        if throttled {
            remaining = 0
        } else if let n = options.throttleEvery, n > 0 {
            remaining = n - throttleCounter % n
        } else {
            remaining = 249 - armReads % 200
        }
        let requestID = currentRequestID
        let correlation = request[header: "x-ms-correlation-request-id"] ?? requestID
        response.headers += [
            ("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Expires", "-1"),
            ("x-ms-ratelimit-remaining-subscription-reads", String(remaining)),
            ("x-ms-ratelimit-remaining-subscription-global-reads", String(remaining * 15 + (throttled ? 0 : 14))),
            ("x-ms-request-id", requestID), ("x-ms-correlation-request-id", correlation),
            ("x-ms-routing-request-id", "\(options.routingRegion):\(SimFormat.routingTime(now)):\(requestID)"),
            ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"), ("X-Content-Type-Options", "nosniff"),
        ]
        if let client = request[header: "x-ms-client-request-id"] { response.headers.append(("x-ms-client-request-id", client)) }
    }

    /// The caller's token when it is a valid ARM token; otherwise ARM's 401 (§1.4).
    func armAuthenticate(_ request: SimRequest) -> Result<SimToken, SimAuthFailure> {
        authenticate(request, audiences: Self.armAudiences, exact: true)
    }

    /// The 401 for a failed bearer check, in ARM's words (also used by Log Analytics).
    func armUnauthorized(_ failure: SimAuthFailure, allowed audiences: [String]) -> SimResponse {
        var r: SimResponse
        switch failure {
        case .missing:
            r = armError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        case .badHeader:
            r = armError(
                401, "AuthenticationFailedInvalidHeader", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
        case .unknown:
            r = armError(401, "InvalidAuthenticationToken", "The access token is invalid.")
        case .expired(let token):
            r = armError(
                401, "ExpiredAuthenticationToken",
                "The access token expiry UTC time '\(SimFormat.usDate(token.expires))' is earlier than current UTC time '\(SimFormat.usDate(now))'.")
        case .wrongAudience(let token):
            let list = audiences.map { "'\($0)'" }.joined(separator: ",")
            r = armError(
                401, "InvalidAuthenticationTokenAudience",
                "The access token has been obtained for wrong audience or resource '\(token.audience)'. It should exactly match with one of the allowed audiences \(list).")
        }
        r.headers.append(("x-ms-failure-cause", "gateway"))
        return r
    }

    /// 400 when `api-version` is missing, or not one of `supported` (when given).
    func checkAPIVersion(_ request: SimRequest, supported: [String] = [], type: String = "") -> SimResponse? {
        guard let version = SimFormat.query(request, "api-version"), !version.isEmpty else {
            return armError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        }
        if !supported.isEmpty, !supported.contains(version) {
            return armError(
                400, "NoRegisteredProviderFound",
                "No registered resource provider found for location 'global' and API version '\(version)' for type '\(type)'. The supported api-versions are '\(supported.joined(separator: ", "))'. The supported locations are ', global'.")
        }
        return nil
    }

    // MARK: - Paging

    /// One page of an ARM list (`{"value":[…],"nextLink":…}`) of pre-rendered JSON items, the
    /// position carried in an opaque `$skipToken`.
    func armPage(_ items: [String], request: SimRequest) -> SimResponse {
        var offset = 0
        if let token = SimFormat.query(request, "$skiptoken") {
            guard let o = Self.decodeOffset(token), o >= 0, o <= items.count else {
                return armError(400, "InvalidSkipToken", "The skip token '\(token)' is not valid.")
            }
            offset = o
        }
        let size = max(1, options.pageSize)
        let end = min(items.count, offset + size)
        var body = #"{"value":["# + items[offset..<end].joined(separator: ",") + "]"
        if end < items.count {
            body += #","nextLink":"# + SimFormat.json(nextLink(request, skipToken: Self.encodeOffset(end)))
        }
        return SimResponse.json(200, body + "}")
    }

    /// The absolute URL of the next page: this request's URL (scheme and host from its
    /// headers, so it points back at whatever address the client used) with `$skipToken`.
    func nextLink(_ request: SimRequest, skipToken: String) -> String {
        let host = request[header: "host"] ?? "127.0.0.1"
        let scheme = request[header: "x-forwarded-proto"] ?? "http"
        var parts: [String] = []
        if let v = SimFormat.query(request, "api-version") { parts.append("api-version=" + SimFormat.percentEncode(v)) }
        for (k, v) in request.query.sorted(by: { $0.key < $1.key }) {
            let lower = k.lowercased()
            if lower == "api-version" || lower == "$skiptoken" { continue }
            let key = k.hasPrefix("$") ? "$" + SimFormat.percentEncode(String(k.dropFirst())) : SimFormat.percentEncode(k)
            parts.append(key + "=" + SimFormat.percentEncode(v))
        }
        parts.append("$skipToken=" + SimFormat.percentEncode(skipToken))
        return scheme + "://" + host + SimFormat.percentEncodePath(request.path) + "?" + parts.joined(separator: "&")
    }

    static func encodeOffset(_ n: Int) -> String { SimFormat.base64url(Array("offset:\(n)".utf8)) }

    static func decodeOffset(_ token: String) -> Int? {
        guard let bytes = SimFormat.base64urlDecode(token) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("offset:") else { return nil }
        return Int(text.dropFirst(7))
    }
}
