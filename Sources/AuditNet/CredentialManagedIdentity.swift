import AuditCore
import Foundation

/// A managed identity (formats.md §14.2–14.3), used only when `auth: managed-identity` names
/// it: the instance metadata address is never probed otherwise.
///
/// With `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` set (App Service, Functions, Container Apps)
/// the local identity endpoint is asked; otherwise IMDS at `169.254.169.254`. `AZURE_CLIENT_ID`,
/// when set, selects a user-assigned identity. The `X-IDENTITY-HEADER` value is never shown.
public final class ManagedIdentityCredential: TokenProvider, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// `IDENTITY_ENDPOINT` (App Service / Functions / Container Apps), api-version 2019-08-01.
        case appService(endpoint: String)
        /// The instance metadata service, api-version 2018-02-01.
        case imds

        public var description: String {
            switch self {
            case .appService(let endpoint): return "IDENTITY_ENDPOINT \(Redactor.redactURL(endpoint))"
            case .imds: return "IMDS \(ManagedIdentityCredential.imdsEndpoint)"
            }
        }
    }

    public static let imdsEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

    public let source: Source
    /// A user-assigned identity's client id (`AZURE_CLIENT_ID`), or nil for the system-assigned one.
    public let clientID: String?
    private let identityHeader: String?
    private let http: any HTTPTransport
    private let cache: TokenCache

    /// Picks the source from `environment` as described above.
    public convenience init(environment: [String: String], http: any HTTPTransport, now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) {
        let endpoint = Credentials.value("IDENTITY_ENDPOINT", in: environment)
        let header = Credentials.value("IDENTITY_HEADER", in: environment)
        let clientID = Credentials.value("AZURE_CLIENT_ID", in: environment)
        if let endpoint, let header {
            self.init(source: .appService(endpoint: endpoint), identityHeader: header, clientID: clientID, http: http, now: now)
        } else {
            self.init(source: .imds, identityHeader: nil, clientID: clientID, http: http, now: now)
        }
    }

    public init(source: Source, identityHeader: String?, clientID: String?, http: any HTTPTransport, now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) {
        self.source = source
        self.identityHeader = identityHeader
        self.clientID = clientID
        self.http = http
        self.cache = TokenCache(now: now)
    }

    public var method: AuthMethod { .managedIdentity }

    /// Managed identity endpoints take a v1 resource, not a scope: `…/.default` is dropped.
    public static func resource(forScope scope: String) -> String {
        scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
    }

    /// The request for `scope` (exposed for `doctor` and tests).
    public func request(scope: String) -> HTTPRequest {
        let resource = Self.resource(forScope: scope)
        switch source {
        case .appService(let endpoint):
            var query = [("api-version", "2019-08-01"), ("resource", resource)]
            if let clientID { query.append(("client_id", clientID)) }
            let separator = endpoint.contains("?") ? "&" : "?"
            return HTTPRequest(url: endpoint + separator + FormEncoding.encode(query),
                               headers: [("X-IDENTITY-HEADER", identityHeader ?? ""), ("Accept", "application/json")])
        case .imds:
            var query = [("api-version", "2018-02-01"), ("resource", resource)]
            if let clientID { query.append(("client_id", clientID)) }
            var r = HTTPRequest(url: Self.imdsEndpoint + "?" + FormEncoding.encode(query), headers: [("Metadata", "true"), ("Accept", "application/json")])
            r.allowPlainHTTPToMetadataAddress = true
            return r
        }
    }

    public func token(scope: String) throws(AuthError) -> AccessToken {
        try cache.token(scope: scope) { (scope: String) throws(AuthError) -> AccessToken in
            guard !scope.trimmingSpaces.isEmpty else { throw AuthError(method: .managedIdentity, message: "no scope given for the token request") }
            let secrets = identityHeader.map { [$0] } ?? []
            let request = request(scope: scope)
            let response: HTTPResponse
            do throws(HTTPError) {
                response = try http.send(request)
            } catch {
                throw AuthError(method: .managedIdentity, message: AuthErrors.scrub(transportMessage(error), secrets: secrets))
            }
            guard (200..<300).contains(response.status) else {
                throw AuthError(method: .managedIdentity, message: AuthErrors.scrub(failureMessage(response), secrets: secrets))
            }
            guard let token = TokenResponse.parse(response.body, now: cache.now()) else {
                throw AuthError(method: .managedIdentity, message: "\(source) answered HTTP \(response.status) without an access_token")
            }
            return token
        }
    }

    private var who: String { clientID.map { "user-assigned identity \($0)" } ?? "the system-assigned identity" }

    private func transportMessage(_ error: HTTPError) -> String {
        switch (source, error) {
        case (.imds, .insecureURL):
            return "the HTTP client refused plain http to IMDS (169.254.169.254): it must honour HTTPRequest.allowPlainHTTPToMetadataAddress"
        case (.imds, _):
            return AuthErrors.transportMessage(error, what: "IMDS (169.254.169.254)") + "; managed identity needs an Azure VM, VM scale set or AKS node with an identity assigned, and IMDS must not go through a proxy (NO_PROXY=169.254.169.254)"
        case (.appService, .insecureURL):
            return AuthErrors.transportMessage(error, what: "IDENTITY_ENDPOINT") + "; IDENTITY_ENDPOINT must be a loopback or https address"
        case (.appService, _):
            return AuthErrors.transportMessage(error, what: "IDENTITY_ENDPOINT") + "; check that managed identity is enabled for this app"
        }
    }

    private func failureMessage(_ response: HTTPResponse) -> String {
        var detail = ""
        if let o = (try? JSONParser.parse(response.body))?.objectValue {
            let error = o["error"]?.nonEmptyText ?? o["statusCode"]?.nonEmptyText
            let text = (o["error_description"]?.nonEmptyText ?? o["message"]?.nonEmptyText ?? o["Message"]?.nonEmptyText).map(AuthErrors.firstLine)
            detail = [error, text].compactMap { $0 }.joined(separator: ": ")
        } else {
            detail = AuthErrors.firstLine(response.text)
        }
        detail = Redactor.redact(detail).prefixForDisplay(300)
        var hint: String
        switch (source, response.status) {
        case (.imds, 400):
            hint = clientID == nil
                ? "no identity is assigned to this machine, or several are and AZURE_CLIENT_ID must pick one"
                : "\(who) is not assigned to this machine: check AZURE_CLIENT_ID"
        case (_, 401), (_, 403):
            hint = "the identity endpoint refused the request: check IDENTITY_HEADER and that managed identity is enabled"
        default:
            hint = "check that \(who) exists and is enabled for this resource"
        }
        if detail.contains("AADSTS"), let code = AuthErrors.aadstsCode(in: detail), let known = AuthErrors.hint(forAADSTS: code) { hint = known }
        return "\(source) answered HTTP \(response.status)" + (detail.isEmpty ? "" : " (\(detail))") + " for \(who); \(hint)"
    }

    public var description: String { "ManagedIdentityCredential(\(source)" + (clientID.map { ", client: \($0)" } ?? "") + ")" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["source": source, "clientID": clientID as Any], displayStyle: .class) }
}
