import Foundation

/// An access token. Its value never appears in a description, a log line or an error.
public struct AccessToken: Sendable, CustomStringConvertible {
    public var value: String
    /// Expiry, UTC microseconds since the epoch.
    public var expiresOnMicros: Int64

    public init(value: String, expiresOnMicros: Int64) {
        self.value = value
        self.expiresOnMicros = expiresOnMicros
    }

    public var description: String { "AccessToken(<redacted>, expires \(expiresOnMicros))" }
}

/// `auth:` values (contracts.md).
public enum AuthMethod: String, Sendable, CaseIterable {
    case clientSecret = "client-secret"
    case workloadIdentity = "workload-identity"
    case managedIdentity = "managed-identity"
    case azureCLI = "azure-cli"
    case tokenEnv = "token-env"
}

/// Why no token could be had. Descriptions never hold a secret or a token; they name the
/// method, the tenant/client id, the AADSTS code when Entra gave one, and what to check.
public struct AuthError: Error, Sendable, CustomStringConvertible {
    public var method: AuthMethod?
    public var message: String
    public init(method: AuthMethod?, message: String) {
        self.method = method
        self.message = message
    }
    public var description: String { (method.map { "\($0.rawValue) credential: " } ?? "credentials: ") + message }
}

/// Gives bearer tokens for a scope (`https://management.azure.com/.default` …), cached until
/// 5 minutes before expiry.
public protocol TokenProvider: Sendable {
    func token(scope: String) throws(AuthError) -> AccessToken
    /// The method actually in use (after the default chain picked one).
    var method: AuthMethod { get }
}
