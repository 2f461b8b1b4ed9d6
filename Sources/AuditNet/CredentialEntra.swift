import AuditCore
import Foundation

/// Service principal with a client secret: the client-credentials grant against
/// `{login}/{tenant}/oauth2/v2.0/token` (formats.md §7.1). The secret is kept only to be sent;
/// no description, mirror or error shows it.
public final class ClientSecretCredential: TokenProvider, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let tenantID: String
    public let clientID: String
    /// The login endpoint without a trailing slash (`https://login.microsoftonline.com`).
    public let authority: String
    private let clientSecret: String
    private let http: any HTTPTransport
    private let cache: TokenCache

    public init(tenantID: String, clientID: String, clientSecret: String, authority: String, http: any HTTPTransport,
                now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) throws(AuthError)
    {
        try EntraTokenEndpoint.validate(tenant: tenantID, clientID: clientID, method: .clientSecret)
        self.tenantID = tenantID
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authority = EntraTokenEndpoint.normalize(authority: authority)
        self.http = http
        self.cache = TokenCache(now: now)
    }

    public var method: AuthMethod { .clientSecret }

    public func token(scope: String) throws(AuthError) -> AccessToken {
        try cache.token(scope: scope) { (scope: String) throws(AuthError) -> AccessToken in
            try EntraTokenEndpoint.request(
                authority: authority, tenant: tenantID, clientID: clientID, scope: scope,
                credentialFields: [("client_secret", clientSecret)], secrets: [clientSecret],
                method: .clientSecret, http: http, now: cache.now())
        }
    }

    public var description: String { "ClientSecretCredential(tenant: \(tenantID), client: \(clientID), authority: \(authority))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["tenantID": tenantID, "clientID": clientID, "authority": authority], displayStyle: .class) }
}

/// Workload identity (AKS, GitHub OIDC): a federated token file traded for an access token
/// (formats.md §14.5). The file is read afresh for every token request — the projected
/// service-account token rotates underneath — and its content is never shown.
public final class WorkloadIdentityCredential: TokenProvider, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let tenantID: String
    public let clientID: String
    public let tokenFilePath: String
    public let authority: String
    private let http: any HTTPTransport
    private let cache: TokenCache

    public init(tenantID: String, clientID: String, tokenFilePath: String, authority: String, http: any HTTPTransport,
                now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) throws(AuthError)
    {
        try EntraTokenEndpoint.validate(tenant: tenantID, clientID: clientID, method: .workloadIdentity)
        self.tenantID = tenantID
        self.clientID = clientID
        self.tokenFilePath = tokenFilePath
        self.authority = EntraTokenEndpoint.normalize(authority: authority)
        self.http = http
        self.cache = TokenCache(now: now)
    }

    public var method: AuthMethod { .workloadIdentity }

    public func token(scope: String) throws(AuthError) -> AccessToken {
        try cache.token(scope: scope) { (scope: String) throws(AuthError) -> AccessToken in
            let assertion = try readAssertion()
            return try EntraTokenEndpoint.request(
                authority: authority, tenant: tenantID, clientID: clientID, scope: scope,
                credentialFields: [
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", assertion),
                ],
                secrets: [assertion], method: .workloadIdentity, http: http, now: cache.now())
        }
    }

    private func readAssertion() throws(AuthError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: tokenFilePath))
        } catch {
            let reason = FileManager.default.fileExists(atPath: tokenFilePath) ? "it is not readable" : "it does not exist"
            throw AuthError(method: .workloadIdentity, message: "cannot read the federated token file \(tokenFilePath) (AZURE_FEDERATED_TOKEN_FILE): \(reason); check the projected service-account token volume and the pod's azure.workload.identity/use label")
        }
        let assertion = String(decoding: data, as: UTF8.self).trimmingSpaces
        guard !assertion.isEmpty else {
            throw AuthError(method: .workloadIdentity, message: "the federated token file \(tokenFilePath) (AZURE_FEDERATED_TOKEN_FILE) is empty; check the projected service-account token volume")
        }
        return assertion
    }

    public var description: String { "WorkloadIdentityCredential(tenant: \(tenantID), client: \(clientID), token file: \(tokenFilePath), authority: \(authority))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["tenantID": tenantID, "clientID": clientID, "tokenFilePath": tokenFilePath, "authority": authority], displayStyle: .class)
    }
}

/// The Entra v2.0 token endpoint, shared by the client-secret and workload-identity
/// credentials.
enum EntraTokenEndpoint {
    static func normalize(authority: String) -> String {
        var a = authority.trimmingSpaces
        if !a.contains("://") { a = "https://" + a }
        while a.hasSuffix("/") { a.removeLast() }
        return a
    }

    /// Tenant ids are GUIDs or domain names (`contoso.onmicrosoft.com`); they become a path
    /// segment, so nothing else is accepted.
    static func validate(tenant: String, clientID: String, method: AuthMethod) throws(AuthError) {
        let ok = !tenant.isEmpty && tenant.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
        guard ok else {
            throw AuthError(method: method, message: "tenant '\(Redactor.redact(tenant).prefixForDisplay(80))' is not a tenant id or domain; check AZURE_TENANT_ID or `tenant:` in the config")
        }
        guard !clientID.trimmingSpaces.isEmpty else {
            throw AuthError(method: method, message: "the client id is empty; set AZURE_CLIENT_ID to the app registration's Application (client) ID")
        }
    }

    static func request(authority: String, tenant: String, clientID: String, scope: String, credentialFields: [(String, String)],
                        secrets: [String], method: AuthMethod, http: any HTTPTransport, now: Int64) throws(AuthError) -> AccessToken
    {
        guard !scope.trimmingSpaces.isEmpty else { throw AuthError(method: method, message: "no scope given for the token request") }
        let url = "\(authority)/\(tenant)/oauth2/v2.0/token"
        let form = FormEncoding.encode([("client_id", clientID), ("scope", scope)] + credentialFields + [("grant_type", "client_credentials")])
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(form.utf8))
        let response: HTTPResponse
        do throws(HTTPError) {
            response = try http.send(request)
        } catch {
            throw AuthError(method: method, message: "client \(clientID) in tenant \(tenant): " + AuthErrors.transportMessage(error, what: "the Entra token endpoint"))
        }
        guard (200..<300).contains(response.status) else {
            throw AuthError(method: method, message: AuthErrors.entraMessage(
                status: response.status, body: response.body, tenant: tenant, clientID: clientID, endpoint: authority, secrets: secrets))
        }
        guard let token = TokenResponse.parse(response.body, now: now) else {
            throw AuthError(method: method, message: "the token endpoint \(authority) answered HTTP \(response.status) for client \(clientID) in tenant \(tenant) without an access_token; check the login endpoint (`cloud:` in the config)")
        }
        return token
    }
}

/// Token responses from Entra, managed identity endpoints and `az`.
enum TokenResponse {
    /// Tokens of unknown lifetime are kept this long.
    static let defaultLifetimeMicros: Int64 = Timestamp.microsPerHour

    /// `access_token` plus an expiry from `expires_on` (epoch seconds, number or string), else
    /// `expires_in` (seconds from now, number or string), else the JWT's `exp`, else one hour.
    static func parse(_ body: [UInt8], now: Int64) -> AccessToken? {
        guard let json = try? JSONParser.parse(body), let o = json.objectValue,
              let value = o["access_token"]?.nonEmptyText
        else { return nil }
        return AccessToken(value: value, expiresOnMicros: expiry(o, token: value, now: now))
    }

    static func expiry(_ o: JSONObject, token: String, now: Int64) -> Int64 {
        if let on = o["expires_on"]?.int64, on > 0 { return on * Timestamp.microsPerSecond }
        if let inSeconds = o["expires_in"]?.int64, inSeconds > 0 { return now + inSeconds * Timestamp.microsPerSecond }
        return jwtExpiry(token) ?? now + defaultLifetimeMicros
    }

    static func jwtExpiry(_ token: String) -> Int64? {
        (try? JWTClaims.decode(token))?.expiresOnMicros
    }
}

/// `application/x-www-form-urlencoded` and query strings: everything but RFC 3986's unreserved
/// characters is percent-encoded (so `+`, `&`, `=` and `%` in a secret survive).
enum FormEncoding {
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func escape(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            let unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
            if unreserved {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
