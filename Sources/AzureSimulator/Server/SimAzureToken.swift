import AuditCore
import Foundation

/// An application the token endpoint knows.
struct SimClient: Sendable {
    var id: String
    var secret: String?
    var objectID: String
    /// The workload-identity assertion accepted instead of a secret.
    var assertion: String?
}

/// A token the simulator issued (tokens it did not issue are unknown everywhere).
struct SimToken: Sendable {
    var audience: String
    var objectID: String
    var appID: String
    var issued: Int64
    var expires: Int64
}

/// Why a bearer token was refused; each family words it its own way.
enum SimAuthFailure: Error {
    case missing
    case badHeader
    case unknown
    case expired(SimToken)
    case wrongAudience(SimToken)
}

/// The Entra ID token endpoint (formats.md §7.1, §14.5, §16): client credentials with a secret
/// (form field or HTTP Basic) or a workload-identity `client_assertion`, unsigned JWT-shaped v1
/// tokens, and the AADSTS error bodies with trace and correlation ids.
extension SimAzureState {
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    mutating func handleToken(_ request: SimRequest) -> SimResponse {
        guard request.method == "POST" else {
            return aadError(
                400, "invalid_request", 900_561, "The endpoint only accepts POST requests. Received a \(request.method) request.",
                request)
        }
        let tenant = String(request.path.split(separator: "/").first ?? "")
        if !tenant.caseInsensitiveEquals(options.tenant), !["organizations", "common"].contains(tenant.lowercased()) {
            return aadError(
                400, "invalid_request", 90_002,
                "Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
                request)
        }
        let form = SimFormat.formDecode(request.body)
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        if let auth = request[header: "authorization"], auth.lowercased().hasPrefix("basic "),
            let decoded = SimFormat.base64urlDecode(String(auth.dropFirst(6)).trimmingSpaces)
        {
            let pair = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.count == 2 {
                let parsed = SimFormat.formDecode(Array("i=\(pair[0])&s=\(pair[1])".utf8))
                clientID = clientID ?? parsed["i"]
                secret = secret ?? parsed["s"]
            }
        }
        guard let grant = form["grant_type"], !grant.isEmpty else {
            return aadError(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'grant_type'.", request)
        }
        guard grant == "client_credentials" else {
            return aadError(400, "unsupported_grant_type", 70_003, "The app requested an unsupported grant type '\(grant)'.", request)
        }
        guard let clientID, !clientID.isEmpty else {
            return aadError(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'client_id'.", request)
        }
        guard let client = clients[clientID.lowercased()] else {
            return aadError(
                400, "unauthorized_client", 700_016,
                "Application with identifier '\(clientID)' was not found in the directory '\(options.tenant)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                request)
        }
        guard let scope = form["scope"], !scope.isEmpty else {
            return aadError(400, "invalid_request", 900_144, "The request body must contain the following parameter: 'scope'.", request)
        }
        guard scope.hasSuffix("/.default"), !scope.contains(" ") else {
            return aadError(
                400, "invalid_scope", 1_002_012,
                "The provided value for scope \(scope) is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                request)
        }
        if let assertion = form["client_assertion"] {
            guard client.assertion == assertion, form["client_assertion_type"] == Self.assertionType else {
                let subject = Self.claim("sub", ofJWT: assertion) ?? ""
                return aadError(
                    400, "invalid_client", 700_213,
                    "No matching federated identity record found for presented assertion subject '\(subject)'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                    request)
            }
        } else if let secret {
            guard secret == client.secret else {
                return aadError(
                    401, "invalid_client", 7_000_215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(client.id)'.",
                    request)
            }
        } else {
            return aadError(
                401, "invalid_client", 7_000_218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                request)
        }
        let audience = String(scope.dropLast("/.default".count))
        let (token, lifetime) = issueToken(audience: audience, objectID: client.objectID, appID: client.id, lifetime: nil)
        var r = SimResponse.json(
            200, #"{"token_type":"Bearer","expires_in":\#(lifetime),"ext_expires_in":\#(lifetime),"access_token":"\#(token)"}"#)
        r.headers += [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"), ("x-ms-request-id", ids.guid())]
        if let c = request[header: "client-request-id"] { r.headers.append(("client-request-id", c)) }
        return r
    }

    /// An Entra error body: `error`, `error_description` ending in trace id, correlation id
    /// and timestamp, `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`.
    mutating func aadError(_ status: Int, _ error: String, _ code: Int, _ description: String, _ request: SimRequest) -> SimResponse {
        let trace = ids.guid()
        let correlation = request[header: "client-request-id"] ?? ids.guid()
        let stamp = SimFormat.aadTimestamp(now)
        let text = "AADSTS\(code): \(description)\r\nTrace ID: \(trace)\r\nCorrelation ID: \(correlation)\r\nTimestamp: \(stamp)"
        let body = #"{"error":"# + SimFormat.json(error) + #","error_description":"# + SimFormat.json(text)
            + #","error_codes":[\#(code)],"timestamp":"\#(stamp)","trace_id":"\#(trace)","correlation_id":"# + SimFormat.json(correlation)
            + #","error_uri":"https://login.microsoftonline.com/error?code=\#(code)"}"#
        var r = SimResponse.json(status, body)
        r.headers += [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"), ("x-ms-request-id", trace)]
        if let c = request[header: "client-request-id"] { r.headers.append(("client-request-id", c)) }
        return r
    }

    /// Issues and records a v1-style unsigned JWT (`header.payload.signature`, base64url JSON)
    /// for `audience`; returns it with its lifetime in whole seconds (`expires_in`).
    mutating func issueToken(audience: String, objectID: String, appID: String, lifetime: Double?) -> (String, Int) {
        let seconds = max(0, lifetime ?? options.expireTokensAfter ?? 3599)
        let issued = now
        let expires = issued + Int64(seconds * 1_000_000)
        let iat = issued / Timestamp.microsPerSecond
        let exp = expires / Timestamp.microsPerSecond
        let uti = SimFormat.base64url((0..<2).flatMap { _ in withUnsafeBytes(of: ids.next()) { Array($0) } })
        let tid = options.tenant
        let header = #"{"typ":"JWT","alg":"RS256","x5t":"sim-key","kid":"sim-key"}"#
        let payload = #"{"aud":"# + SimFormat.json(audience) + #","iss":"https://sts.windows.net/\#(tid)/","iat":\#(iat),"nbf":\#(iat),"exp":\#(exp),"#
            + #""aio":"sim","appid":"# + SimFormat.json(appID) + #","appidacr":"1","idp":"https://sts.windows.net/\#(tid)/","idtyp":"app","#
            + #""oid":"# + SimFormat.json(objectID) + #","rh":"sim","sub":"# + SimFormat.json(objectID) + #","tid":"\#(tid)","uti":"\#(uti)","ver":"1.0"}"#
        let token = SimFormat.base64url(Array(header.utf8)) + "." + SimFormat.base64url(Array(payload.utf8)) + "."
            + SimFormat.base64url(Array("sim-signature-\(uti)".utf8))
        tokens[token] = SimToken(audience: audience, objectID: objectID, appID: appID, issued: issued, expires: expires)
        return (token, Int(seconds.rounded(.up)))
    }

    /// The token of an `Authorization: Bearer …` header.
    func bearerToken(_ request: SimRequest) -> String? {
        guard let header = request[header: "authorization"] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces
        return token.isEmpty ? nil : token
    }

    /// Checks the request's bearer token: issued here, unexpired, for one of `audiences`
    /// (`exact`: as written, as ARM compares; otherwise a trailing `/` does not matter).
    func authenticate(_ request: SimRequest, audiences: [String], exact: Bool) -> Result<SimToken, SimAuthFailure> {
        guard request[header: "authorization"] != nil else { return .failure(.missing) }
        guard let text = bearerToken(request) else { return .failure(.badHeader) }
        guard let token = tokens[text] else { return .failure(.unknown) }
        if token.expires <= now { return .failure(.expired(token)) }
        func norm(_ s: String) -> String { exact ? s : (s.hasSuffix("/") ? String(s.dropLast()) : s).lowercased() }
        guard audiences.map(norm).contains(norm(token.audience)) else { return .failure(.wrongAudience(token)) }
        return .success(token)
    }

    /// A claim of an unverified JWT, as text.
    static func claim(_ name: String, ofJWT text: String) -> String? {
        let parts = text.split(separator: ".")
        guard parts.count >= 2, let bytes = SimFormat.base64urlDecode(String(parts[1])),
            let json = try? JSONParser.parse(bytes)
        else { return nil }
        return json[name]?.text
    }
}

// MARK: - Public API

extension SimAzure {
    /// Issues a token as the token endpoint would, for any principal (e.g. an app identity of
    /// the scenario, to call the data plane as it).
    ///
    /// - Parameters:
    ///   - audience: the resource, e.g. `https://cognitiveservices.azure.com` (no `/.default`).
    ///   - objectID: the principal's object id (`oid`); nil: the configured client's.
    ///   - appID: the `appid` claim; nil: the configured client id.
    ///   - lifetimeSeconds: nil: `expireTokensAfter`, else 3599.
    /// - Returns: the compact JWT, valid as a bearer token on this simulator.
    public func issueToken(audience: String, objectID: String? = nil, appID: String? = nil, lifetimeSeconds: Double? = nil) -> String {
        locked { s in
            s.issueToken(
                audience: audience, objectID: objectID ?? s.options.clientObjectID, appID: appID ?? s.options.clientID,
                lifetime: lifetimeSeconds
            ).0
        }
    }

    /// Makes every token issued so far expired (tokens issued later are valid again).
    public func expireAllTokens() {
        locked { s in
            let past = s.now - Timestamp.microsPerSecond
            for (key, token) in s.tokens where token.expires > past { s.tokens[key]?.expires = past }
        }
    }

    /// Registers another application with the token endpoint.
    public func addClient(id: String, secret: String?, objectID: String, assertion: String? = nil) {
        locked { $0.clients[id.lowercased()] = SimClient(id: id, secret: secret, objectID: objectID, assertion: assertion) }
    }

    /// Tokens issued so far.
    public var issuedTokenCount: Int { locked { $0.tokens.count } }
}
