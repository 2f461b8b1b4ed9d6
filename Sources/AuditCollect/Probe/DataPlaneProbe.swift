import AuditCore
import AuditNet
import AuditStore
import Foundation

// MARK: - Target and credentials

/// How a probe authenticates: `key` (`api-key` header) or `entra` (a bearer token for
/// `https://cognitiveservices.azure.com/.default`).
public enum ProbeAuthKind: String, Sendable, CaseIterable {
    case key
    case entra
}

/// The secret a probe sends. Its value never appears in a description, a mirror, an error, the
/// output or the database; only the header name is ever shown.
public struct ProbeSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let kind: ProbeAuthKind
    fileprivate let value: String

    /// An api key (the `api-key` header).
    public static func apiKey(_ key: String) -> ProbeSecret { ProbeSecret(kind: .key, value: key) }
    /// An Entra access token (`Authorization: Bearer …`).
    public static func bearer(_ token: String) -> ProbeSecret { ProbeSecret(kind: .entra, value: token) }

    var header: (name: String, value: String) { kind == .key ? ("api-key", value) : ("Authorization", "Bearer " + value) }
    /// The token's claims (entra only; nil for a key or an opaque token).
    public var claims: JWTClaims? { kind == .entra ? try? JWTClaims.decode(value) : nil }

    public var description: String { kind == .key ? "api-key <redacted>" : "Bearer <redacted>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["kind": kind], displayStyle: .struct) }
}

/// Where a probe goes: `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=V`
/// (formats.md §5).
public struct ProbeTarget: Sendable, Equatable {
    /// `https://name.openai.azure.com` (scheme and authority only, no trailing slash).
    public var endpoint: String
    /// The host as given, lower-cased (what is stored: never a key, never a query).
    public var host: String
    public var deployment: String
    public var apiVersion: String

    /// The GA api-version the probe uses unless told otherwise.
    public static let defaultAPIVersion = "2024-10-21"
    /// Host suffixes of Azure OpenAI / AI Services endpoints whose first label is the account.
    static let accountSuffixes = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com", ".openai.azure.us", ".openai.azure.cn"]

    /// Checks and normalises `--endpoint`: `https://` (or `http://` to loopback only), a host,
    /// an optional trailing `/` or `/openai`, no query, no credentials.
    public init(endpoint raw: String, deployment: String, apiVersion: String = ProbeTarget.defaultAPIVersion) throws(ProbeError) {
        var text = raw.trimmingSpaces
        guard let schemeEnd = text.range(of: "://") else {
            throw .usage("--endpoint '\(Redactor.redactURL(raw))' is not a URL; use https://NAME.openai.azure.com")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw .usage("--endpoint must start with https:// (http:// only to loopback), not \(scheme)://")
        }
        guard !text.contains("?"), !text.contains("#") else {
            throw .usage("--endpoint takes the resource endpoint only (https://NAME.openai.azure.com), without a query")
        }
        while text.hasSuffix("/") { text.removeLast() }
        if text.lowercased().hasSuffix("/openai") { text.removeLast("/openai".count) }
        while text.hasSuffix("/") { text.removeLast() }
        let authority = String(text[schemeEnd.upperBound...])
        guard !authority.isEmpty, !authority.contains("/") else {
            throw .usage("--endpoint takes the resource endpoint only (https://NAME.openai.azure.com), not a path")
        }
        guard !authority.contains("@") else { throw .usage("--endpoint must not carry credentials; pass the key with --key-env") }
        var host = authority.lowercased()
        if host.hasPrefix("[") {
            host = String(host.prefix { $0 != "]" }) + "]"
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        let loopback = host == "localhost" || host == "[::1]" || host.hasPrefix("127.")
        if scheme == "http" && !loopback {
            throw .usage("refusing http://\(host): plain http is only allowed to loopback; use https://")
        }
        let d = deployment.trimmingSpaces
        guard !d.isEmpty, d.count <= 256, d.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw .usage("--deployment '\(deployment.prefixForDisplay(80))' is not a deployment name (letters, digits, - _ .)")
        }
        let v = apiVersion.trimmingSpaces
        guard !v.isEmpty, v.count <= 64, v.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
            throw .usage("--api-version '\(apiVersion.prefixForDisplay(80))' is not an api-version (e.g. \(Self.defaultAPIVersion))")
        }
        self.endpoint = scheme + "://" + authority
        self.host = host
        self.deployment = d
        self.apiVersion = v
    }

    /// The request URL (no secret in it: the key travels in a header).
    public var url: String { "\(endpoint)/openai/deployments/\(deployment)/chat/completions?api-version=\(apiVersion)" }

    /// The account name the host names (`aoai-prod` of `aoai-prod.openai.azure.com`), nil for
    /// other hosts (loopback, a gateway).
    public var accountName: String? {
        for suffix in Self.accountSuffixes where host.hasSuffix(suffix) {
            let label = String(host.dropLast(suffix.count))
            if !label.isEmpty, !label.contains(".") { return label }
        }
        return nil
    }
}

/// Why a probe could not run (exit 1), or a bad option.
public enum ProbeError: Error, Sendable, CustomStringConvertible, LocalizedError {
    case usage(String)
    case cannotRun(String)

    public var description: String {
        switch self {
        case .usage(let m), .cannotRun(let m): return m
        }
    }
    public var errorDescription: String? { description }
}

// MARK: - Classification

/// What a probe's answer means (formats.md §5). The raw values are the contract: the `class`
/// column of `probes`, `class` in `probe --format json`.
///
/// A probe is **evidence of a failure class, never a cause**: it shows what the service answers
/// this credential now, not what changed. Correlation should therefore never rank a probe as a
/// candidate; it should cite the latest probe of the burst's resource inside the burst window
/// (from 5 minutes before its start to an hour after its end) as confirming — or contradicting —
/// the burst's signature. ``burstSignatures`` says which signatures a class confirms; the
/// named query `probes` does exactly that join.
public enum ProbeClass: String, Sendable, CaseIterable {
    /// 2xx: endpoint, deployment and credential work.
    case ok
    /// 401 `code:"401"` / `"Unauthorized"`: the key is not a current key of this resource, or the
    /// endpoint is another resource or region.
    case invalidKeyOrEndpoint = "invalid_key_or_endpoint"
    /// 403 `AuthenticationTypeDisabled`: `disableLocalAuth` is true, keys are refused.
    case keyAuthDisabled = "key_auth_disabled"
    /// 401 with a top-level `statusCode`: the Entra token is missing, expired, for the wrong
    /// audience, or otherwise refused.
    case tokenRejected = "token_rejected"
    /// 401 `PermissionDenied`: a valid token whose principal has no data-plane role.
    case noDataPlaneRole = "no_data_plane_role"
    /// 404 `DeploymentNotFound`.
    case deploymentNotFound = "deployment_not_found"
    /// 429.
    case throttled
    /// Anything else (the code says what).
    case other

    /// Burst signatures (`bursts.signature`, set by `correlate`) this class confirms: a probe of
    /// the burst's resource answering this class reproduces the burst's failure.
    public var burstSignatures: [String] {
        switch self {
        case .invalidKeyOrEndpoint: return ["key_error", "mixed"]
        case .keyAuthDisabled: return ["auth_type_disabled", "mixed"]
        case .tokenRejected, .noDataPlaneRole: return ["token_or_permission_error", "mixed"]
        case .other: return ["forbidden"]
        case .ok, .deploymentNotFound, .throttled: return []
        }
    }

    /// Words for people (and the search index).
    public var title: String {
        switch self {
        case .ok: return "ok"
        case .invalidKeyOrEndpoint: return "invalid key or wrong endpoint"
        case .keyAuthDisabled: return "key auth disabled"
        case .tokenRejected: return "token rejected (missing, expired or wrong audience)"
        case .noDataPlaneRole: return "principal lacks a data-plane role"
        case .deploymentNotFound: return "deployment not found"
        case .throttled: return "throttled"
        case .other: return "other error"
        }
    }
}

/// The verdict on one answer: class, the service's code, what it means here and the fix.
public struct ProbeVerdict: Sendable, Equatable {
    public var classification: ProbeClass
    /// `error.code` (or `statusCode` for the token body); nil for a 2xx.
    public var errorCode: String?
    /// What the answer means for this endpoint and credential, one line.
    public var detail: String
    /// What to do, one line.
    public var fix: String
    /// The principal (token `oid`, or the one the service named), when known.
    public var principalID: String?
}

/// What the probe knows when it reads an answer.
public struct ProbeContext: Sendable {
    public var target: ProbeTarget
    public var auth: ProbeAuthKind
    /// Claims of the token sent (entra), nil otherwise or when it is not a readable JWT.
    public var claims: JWTClaims?
    /// An ARM id or account name of the resource, for the fix's `--scope`.
    public var resource: String?
    /// UTC microseconds.
    public var nowUs: Int64

    public init(target: ProbeTarget, auth: ProbeAuthKind, claims: JWTClaims?, resource: String?, nowUs: Int64) {
        self.target = target
        self.auth = auth
        self.claims = claims
        self.resource = resource
        self.nowUs = nowUs
    }

    /// The account's name when known (from `--resource` or the host).
    var accountName: String? { resource.map { ResourceID($0).shortName } ?? target.accountName }
    /// The account for sentences: its name, else "the resource at HOST".
    var accountLabel: String { accountName ?? "the resource at \(target.host)" }
    /// The account for commands: its name, else a placeholder.
    var accountArg: String { accountName ?? "<account>" }
}

public enum ProbeClassifier {
    /// The audience Azure OpenAI accepts (some 401 texts show it with a trailing slash).
    public static let audience = "https://cognitiveservices.azure.com"
    public static let scope = audience + "/.default"
    /// The role that grants chat completions.
    public static let dataPlaneRole = "Cognitive Services OpenAI User"
    /// Clock skew tolerated around `exp`/`nbf` (formats.md §16.2).
    static let skewUs: Int64 = 300 * Timestamp.microsPerSecond

    /// Classifies one answer by status and body exactly as formats.md §5 lists them:
    /// `code:"401"`/`"Unauthorized"` → invalid key or endpoint; `AuthenticationTypeDisabled` →
    /// key auth disabled; a top-level `statusCode` 401 → token refused (the token's `aud`/`exp`
    /// say why); `PermissionDenied` → no data-plane role; `DeploymentNotFound`; 429; 2xx; else
    /// `other` with the code.
    public static func classify(status: Int, headers: [String: String], body: [UInt8], context c: ProbeContext) -> ProbeVerdict {
        if (200..<300).contains(status) {
            return ProbeVerdict(classification: .ok, errorCode: nil,
                                detail: "\(c.target.deployment) answered with \(c.auth == .key ? "the api key" : "the Entra token")",
                                fix: "nothing to fix: endpoint, deployment and credential work", principalID: c.claims?.oid)
        }
        let json = try? JSONParser.parse(body)
        let error = json?["error"]?.objectValue
        let code = error?["code"]?.nonEmptyText
        let message = (error?["message"]?.nonEmptyText ?? json?["message"]?.nonEmptyText).map { Redactor.redact($0).prefixForDisplay(300) }
        let topStatus = error == nil ? json?["statusCode"]?.int64 : nil
        let account = c.accountLabel, name = c.accountArg
        let lower = code?.lowercased()

        if lower == "401" || lower == "unauthorized" {
            let missing = message?.lowercased().contains("missing subscription key") == true
            let detail = missing
                ? "no api key reached the service (\(message ?? "missing subscription key"))"
                : c.auth == .key
                    ? "the api key is not a current key of \(account), or \(c.target.host) is not that resource's endpoint (another resource or region)"
                    : "the service wanted an api key for this request: the endpoint is not an Azure OpenAI resource that accepts Entra tokens"
            return ProbeVerdict(
                classification: .invalidKeyOrEndpoint, errorCode: code, detail: detail,
                fix: "use key1 or key2 of \(account) (az cognitiveservices account keys list --name \(name) --resource-group <rg>) with its own endpoint; after a key regeneration update every app setting and Key Vault secret that holds the old key",
                principalID: nil)
        }
        if lower == "authenticationtypedisabled" {
            return ProbeVerdict(
                classification: .keyAuthDisabled, errorCode: code,
                detail: "key based authentication is disabled on \(account) (disableLocalAuth: true): every api key is refused with 403",
                fix: "move the caller to Entra ID (token scope \(scope), role \(dataPlaneRole)), or re-enable keys: az resource update --ids <account id> --set properties.disableLocalAuth=false",
                principalID: nil)
        }
        if status == 401, topStatus == 401 || (error == nil && message?.contains("Access token") == true) {
            return tokenVerdict(code: topStatus.map(String.init) ?? "401", message: message, context: c)
        }
        if lower == "permissiondenied" {
            let named = principalInMessage(message)
            let oid = c.claims?.oid ?? named.principal
            let who = oid.map { "principal \($0)" } ?? "the token's principal"
            let action = named.action.map { " (missing data action \($0))" } ?? ""
            let scopeArg = c.resource.flatMap { $0.contains("/") ? $0 : nil } ?? "<account id of \(name)>"
            let type = c.claims.map { $0.isAppOnly ? "ServicePrincipal" : "User" } ?? "ServicePrincipal"
            return ProbeVerdict(
                classification: .noDataPlaneRole, errorCode: code,
                detail: "the token is valid but \(who) has no data-plane role on \(account)\(action): it needs \(dataPlaneRole) (control-plane roles such as Owner or Contributor do not grant inference)",
                fix: "az role assignment create --assignee-object-id \(oid ?? "<principal oid>") --assignee-principal-type \(type) --role \"\(dataPlaneRole)\" --scope \(scopeArg) (takes up to 5 minutes to apply)",
                principalID: oid)
        }
        if lower == "deploymentnotfound" {
            return ProbeVerdict(
                classification: .deploymentNotFound, errorCode: code,
                detail: "\(account) has no deployment named '\(c.target.deployment)' (credential accepted)",
                fix: "use an existing deployment name (az cognitiveservices account deployment list --name \(name) --resource-group <rg> -o table); a deployment created in the last 5 minutes may not answer yet",
                principalID: c.claims?.oid)
        }
        if status == 429 {
            let wait = RetryPolicy.serverDelay(headers: headers, now: Date(timeIntervalSince1970: Double(c.nowUs) / 1e6))
            let waitText = wait.map { "Retry-After \(formatSeconds($0))" } ?? "no Retry-After"
            return ProbeVerdict(
                classification: .throttled, errorCode: code ?? "429",
                detail: "\(c.target.deployment) is over its rate limit (\(waitText)); the credential was accepted",
                fix: "retry after the Retry-After delay with exponential backoff; raise the deployment's TPM/RPM quota or spread load if 429s persist",
                principalID: c.claims?.oid)
        }
        let shown = code ?? topStatus.map(String.init) ?? String(status)
        let text = message.map { ": \($0)" } ?? ""
        let fix: String
        switch status {
        case 403 where message?.lowercased().contains("public access is disabled") == true || message?.lowercased().contains("virtual network") == true
            || message?.lowercased().contains("private endpoint") == true:
            fix = "the resource's network rules refuse this client: probe from an allowed network or private endpoint, or add this address to networkAcls"
        case 403: fix = "the service refused the request: check the resource's network rules and the caller's role"
        case 400: fix = "the request was refused as malformed: check --api-version \(c.target.apiVersion) and the deployment's model"
        case 404: fix = "no such path: check --endpoint (the resource's own endpoint) and --api-version \(c.target.apiVersion)"
        case 500...599: fix = "a service-side error: retry later and check Azure status for the region"
        default: fix = "see the service's message"
        }
        return ProbeVerdict(classification: .other, errorCode: shown, detail: "HTTP \(status) (code \(shown))\(text)", fix: fix, principalID: c.claims?.oid)
    }

    /// Why a token was refused, from its own claims (formats.md §16.2, checks 2–3).
    static func tokenVerdict(code: String, message: String?, context c: ProbeContext) -> ProbeVerdict {
        let refresh = "get a fresh token for \(scope) (az account get-access-token --scope \(scope)) and let the client refresh it before exp"
        guard c.auth == .entra else {
            return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                                detail: "the service expected an Entra access token and none was sent",
                                fix: "send Authorization: Bearer <token for \(scope)> (probe --entra)", principalID: nil)
        }
        guard let claims = c.claims else {
            return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                                detail: "the token is missing or not a readable JWT, so the service refused it",
                                fix: refresh, principalID: nil)
        }
        func norm(_ s: String) -> String { (s.hasSuffix("/") ? String(s.dropLast()) : s).lowercased() }
        if let exp = claims.expiresOnMicros, exp <= c.nowUs {
            return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                                detail: "the token expired at \(Timestamp.isoSeconds(exp)) (\(ago(c.nowUs - exp)) ago)",
                                fix: refresh, principalID: claims.oid)
        }
        if !claims.aud.contains(where: { norm($0) == norm(audience) }) {
            let aud = claims.aud.isEmpty ? "no audience" : "audience \(claims.aud.joined(separator: ", "))"
            return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                                detail: "the token has \(aud), not \(audience)",
                                fix: "request the token for scope \(scope) (not the ARM or another resource's scope)", principalID: claims.oid)
        }
        if let nbf = claims.nbf, nbf * Timestamp.microsPerSecond > c.nowUs + skewUs {
            return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                                detail: "the token is not valid before \(Timestamp.isoSeconds(nbf * Timestamp.microsPerSecond)): this host's clock is behind",
                                fix: "fix the host clock (NTP) and get a new token", principalID: claims.oid)
        }
        if let exp = claims.expiresOnMicros, exp <= c.nowUs + skewUs {
            return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                                detail: "the token expires at \(Timestamp.isoSeconds(exp)), within clock skew of now: the service's clock already treats it as expired",
                                fix: refresh, principalID: claims.oid)
        }
        let tenant = claims.tid.map { " (tenant \($0))" } ?? ""
        return ProbeVerdict(classification: .tokenRejected, errorCode: code,
                            detail: "the token is for \(audience) and not expired (exp \(claims.expiresOnMicros.map(Timestamp.isoSeconds) ?? "?")), yet refused: issued by another tenant or cloud\(tenant), revoked, or the service's clock is far ahead",
                            fix: "get a new token from the resource's own tenant and cloud (check AZURE_TENANT_ID / tenant:) and retry", principalID: claims.oid)
    }

    /// `The principal <oid> lacks the required data action <action> …` (Foundry wording).
    static func principalInMessage(_ message: String?) -> (principal: String?, action: String?) {
        guard let m = message else { return (nil, nil) }
        let words = m.split(separator: " ").map(String.init)
        var principal: String?
        var action: String?
        for (i, w) in words.enumerated() {
            if w.lowercased() == "principal", i + 1 < words.count, words[i + 1].count >= 32, words[i + 1].contains("-") { principal = words[i + 1] }
            if w.lowercased() == "action", i + 1 < words.count, words[i + 1].contains("/") { action = words[i + 1] }
        }
        return (principal, action)
    }

    static func ago(_ us: Int64) -> String {
        let s = max(0, us / Timestamp.microsPerSecond)
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        return "\(s / 3600) h \((s % 3600) / 60) min"
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.3f s", s)
    }
}

// MARK: - Running

/// One request of a probe and what it showed. Holds no secret.
public struct ProbeResult: Sendable {
    /// 1-based position in the series (`--repeat`).
    public var seq: Int
    /// When the request was sent, UTC microseconds.
    public var timeUs: Int64
    public var status: Int
    public var verdict: ProbeVerdict
    /// Wall time of the one request (send to last body byte), milliseconds.
    public var latencyMs: Double
    public var apimRequestID: String?
    /// The `x-ms-client-request-id` the probe sent (find it in the resource logs).
    public var clientRequestID: String
    /// `x-ms-region` (display name, `East US`).
    public var region: String?
    public var remainingRequests: Int64?
    public var remainingTokens: Int64?
    /// `retry-after-ms` / `Retry-After`, seconds.
    public var retryAfterSeconds: Double?

    public var classification: ProbeClass { verdict.classification }
}

/// Sends probe requests: one `POST` with a one-token completion, never retried, timed around
/// the send alone.
public struct DataPlaneProbe: Sendable {
    public let target: ProbeTarget
    /// An ARM id or account name of the resource (for the fix text and the store), or nil.
    public let resource: String?
    let http: any HTTPTransport
    let now: @Sendable () -> Int64

    /// The smallest request that exercises auth, the deployment and the quota.
    public static let body = #"{"messages":[{"role":"user","content":"ping"}],"max_tokens":1}"#

    /// - Parameter http: a transport configured with `maxAttempts: 1`; the request also lists
    ///   429 and 5xx as `noRetryStatuses`, so even a retrying client returns them at once.
    public init(target: ProbeTarget, resource: String?, http: any HTTPTransport, now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) {
        self.target = target
        self.resource = resource
        self.http = http
        self.now = now
    }

    /// HTTP client options for a probe: one attempt, 30 s total.
    public static func httpOptions(base: HTTPClientOptions = HTTPClientOptions()) -> HTTPClientOptions {
        var o = base
        o.maxAttempts = 1
        o.totalTimeout = min(o.totalTimeout, 30)
        return o
    }

    /// Sends one request with `secret` and classifies the answer.
    /// - Throws: ``HTTPError`` when nothing came back (DNS, connect, TLS, timeout).
    public func send(_ secret: ProbeSecret, seq: Int) throws(HTTPError) -> ProbeResult {
        let clientID = UUID().uuidString.lowercased()
        var request = HTTPRequest(
            method: "POST", url: target.url,
            headers: [secret.header, ("Content-Type", "application/json"), ("Accept", "application/json"), ("x-ms-client-request-id", clientID)],
            body: Array(Self.body.utf8))
        request.noRetryStatuses = RetryPolicy.retryableStatuses
        let sent = now()
        let clock = ContinuousClock()
        let start = clock.now
        let response = try http.send(request)
        let elapsed = clock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let claims = secret.claims
        let context = ProbeContext(target: target, auth: secret.kind, claims: claims, resource: resource, nowUs: now())
        let verdict = ProbeClassifier.classify(status: response.status, headers: response.headers, body: response.body, context: context)
        func int(_ name: String) -> Int64? { response.headers[name].flatMap { Int64($0.trimmingSpaces) } }
        return ProbeResult(
            seq: seq, timeUs: sent, status: response.status, verdict: verdict, latencyMs: ms,
            apimRequestID: response.headers["apim-request-id"], clientRequestID: clientID, region: response.headers["x-ms-region"],
            remainingRequests: int("x-ratelimit-remaining-requests"), remainingTokens: int("x-ratelimit-remaining-tokens"),
            retryAfterSeconds: RetryPolicy.serverDelay(headers: response.headers, now: Date(timeIntervalSince1970: Double(sent) / 1e6)))
    }

    /// Parses `--interval`: `500ms`, `2s`, `1m`, or plain seconds; nil when unreadable.
    public static func parseInterval(_ text: String) -> Double? {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v.isFinite, v >= 0 else { return nil }
            return v * factor
        }
        guard let v = Double(t), v.isFinite, v >= 0 else { return nil }
        return v
    }
}

// MARK: - Summary

/// A series of probes summed up: status mix, latency percentiles, 429 rate.
public struct ProbeSummary: Sendable, Equatable {
    /// Requests answered (transport failures are in `unanswered`).
    public var count: Int
    public var unanswered: Int
    public var statuses: [Int: Int]
    public var classes: [String: Int]
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
    public var minMs: Double?
    public var maxMs: Double?
    public var throttled: Int
    /// 429s over answered requests (0 when none were answered).
    public var rate429: Double

    /// Percentiles by nearest rank (the smallest latency with at least p % of requests at or
    /// below it), so each is a latency that was measured.
    public init(_ results: [ProbeResult], unanswered: Int = 0) {
        count = results.count
        self.unanswered = unanswered
        statuses = results.reduce(into: [:]) { $0[$1.status, default: 0] += 1 }
        classes = results.reduce(into: [:]) { $0[$1.classification.rawValue, default: 0] += 1 }
        let sorted = results.map(\.latencyMs).sorted()
        p50 = Self.percentile(sorted, 50)
        p95 = Self.percentile(sorted, 95)
        p99 = Self.percentile(sorted, 99)
        minMs = sorted.first
        maxMs = sorted.last
        throttled = statuses[429] ?? 0
        rate429 = count == 0 ? 0 : Double(throttled) / Double(count)
    }

    public static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}

// MARK: - Store

/// Writes probes to the `probes` table (migration 0004) and failing ones to the search index.
///
/// Nothing secret is stored: the host (not the URL), deployment, api-version, the auth kind
/// (`key`/`entra`), the token's `oid`, the answer's status, class, code, request ids, region,
/// rate-limit headers and latency. The key and the token never reach this type.
///
/// How correlation uses a probe: as evidence of the failure class, never as a cause. The
/// named query `probes` lists each probe with the burst of its resource whose window holds it
/// (5 minutes before the start to an hour after the end) and `confirms` when the probe's
/// class matches the burst's signature (``ProbeClass/burstSignatures``), `not_reproduced` when
/// the probe succeeded (the failing callers' credential differs from the probe's), `differs`
/// otherwise.
public enum ProbeStore {
    /// One `probe` command: its requests share `seriesID`.
    public struct Series: Sendable {
        public var id: String
        public var target: ProbeTarget
        public var auth: ProbeAuthKind
        /// Lower-cased ARM id, else account name, else empty.
        public var resourceID: String

        public init(id: String = UUID().uuidString.lowercased(), target: ProbeTarget, auth: ProbeAuthKind, resourceID: String) {
            self.id = id
            self.target = target
            self.auth = auth
            self.resourceID = resourceID
        }
    }

    /// The resource a probe is about: `--resource` when it is an ARM id; else the account it
    /// names (or, without `--resource`, the account the host names) as the full ARM id when the
    /// store knows exactly one account of that name, else as the name; else empty (a loopback or
    /// gateway host without `--resource`).
    public static func resolveResource(explicit: String?, target: ProbeTarget, db: Database?) -> String {
        let given = explicit?.trimmingSpaces.nilIfEmpty.map(ResourceID.argument)
        if let given, given.contains("/") { return given }
        guard let name = given ?? target.accountName else { return "" }
        guard let db else { return name }
        let rows = (try? db.connection.rows(
            "SELECT DISTINCT value FROM dims WHERE kind = 'resource' AND value LIKE '%/providers/microsoft.cognitiveservices/accounts/' || ?1",
            [.text(name)])) ?? []
        let ids = rows.compactMap { $0.first?.text }.filter { ResourceID($0).name == name }
        return ids.count == 1 ? ids[0] : name
    }

    /// Stores `results` in one transaction; returns their row ids. Each probe that is the first
    /// of its class in the series and not `ok` also gets a search document (kind `probe`).
    @discardableResult
    public static func write(_ results: [ProbeResult], series: Series, db: Database) throws -> [Int64] {
        let c = db.connection
        return try c.transaction {
            var ids: [Int64] = []
            var indexed = Set<ProbeClass>()
            let resourceDim: Int64? = series.resourceID.contains("/") ? try dim(series.resourceID, c) : nil
            for r in results {
                let s = try c.prepare("""
                    INSERT INTO probes(time_us, series_id, seq, endpoint_host, resource_id, deployment, api_version, auth, principal_id,
                      status, class, error_code, detail, fix, latency_ms, apim_request_id, client_request_id, region,
                      ratelimit_remaining_requests, ratelimit_remaining_tokens, retry_after_s)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
                    """)
                try s.bind([
                    .integer(r.timeUs), .text(series.id), .integer(Int64(r.seq)), .text(series.target.host), .text(series.resourceID),
                    .text(series.target.deployment), .text(series.target.apiVersion), .text(series.auth.rawValue), SQLValue(r.verdict.principalID),
                    .integer(Int64(r.status)), .text(r.classification.rawValue), SQLValue(r.verdict.errorCode), .text(r.verdict.detail),
                    .text(r.verdict.fix), .real(r.latencyMs), SQLValue(r.apimRequestID), .text(r.clientRequestID), SQLValue(r.region),
                    SQLValue(r.remainingRequests), SQLValue(r.remainingTokens), r.retryAfterSeconds.map { .real($0) } ?? .null,
                ])
                try s.runAndReset()
                let id = c.lastInsertRowID
                ids.append(id)
                guard r.classification != .ok, indexed.insert(r.classification).inserted else { continue }
                let name = series.resourceID.isEmpty ? (series.target.accountName ?? series.target.host) : ResourceID(series.resourceID).shortName
                let title = "probe \(r.classification.title) HTTP \(r.status)" + (r.verdict.errorCode.map { " \($0)" } ?? "")
                let body = [r.verdict.detail, r.verdict.fix, "deployment \(series.target.deployment)", "api-version \(series.target.apiVersion)",
                            "auth \(series.auth.rawValue)", series.target.host, r.region, r.apimRequestID.map { "apim-request-id \($0)" }]
                    .compactMap { $0 }.joined(separator: " ")
                try addSearchDoc(refID: id, timeUs: r.timeUs, title: title, body: body, resource: name, resourceDim: resourceDim, c)
            }
            return ids
        }
    }

    /// The `dims` id of a resource id (as the store's writer keeps them), inserted on first use.
    static func dim(_ value: String, _ c: Connection) throws(StoreError) -> Int64 {
        try c.run("INSERT INTO dims(kind, value) VALUES ('resource', ?1) ON CONFLICT DO NOTHING", [.text(value)])
        guard let id = try c.scalar("SELECT id FROM dims WHERE kind = 'resource' AND value = ?1", [.text(value)])?.integer else {
            throw .sqlite(code: 0, message: "dimension value vanished", sql: "dims")
        }
        return id
    }

    /// A search document as `StoreWriter` writes them: rowid `timeUs << 8 | n`, so FTS5's
    /// descending rowid order stays newest first.
    static func addSearchDoc(refID: Int64, timeUs: Int64, title: String, body: String, resource: String, resourceDim: Int64?, _ c: Connection) throws(StoreError) {
        let doc = try c.prepare("INSERT OR IGNORE INTO search_docs(rowid, kind, ref_id, resource) VALUES (?1, 'probe', ?2, ?3)")
        var rowid = timeUs << 8
        for _ in 0..<4096 {
            doc.bind(rowid, at: 1); doc.bind(refID, at: 2); doc.bind(resourceDim, at: 3)
            try doc.runAndReset()
            if c.changes == 1 { break }
            rowid += 1
        }
        try c.run("INSERT INTO search_fts(rowid, kind, title, body, resource) VALUES (?1, 'probe', ?2, ?3, ?4)",
                  [.integer(rowid), .text(title), .text(body), .text(resource)])
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
