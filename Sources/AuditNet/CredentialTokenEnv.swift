import AuditCore
import Foundation

/// A bearer token handed over in `AZURE_ACCESS_TOKEN` (`auth: token-env`). The same token is
/// returned for every scope: it was issued for one audience, and `doctor` says which. Its
/// expiry is the JWT's `exp` when readable, else one hour from when the credential was made.
public final class TokenEnvCredential: TokenProvider, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public static let variable = "AZURE_ACCESS_TOKEN"

    private let accessToken: AccessToken
    private let now: @Sendable () -> Int64

    public init(environment: [String: String], now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) throws(AuthError) {
        guard var value = Credentials.value(Self.variable, in: environment) else {
            throw AuthError(method: .tokenEnv, message: "\(Self.variable) is not set; export a token, e.g. AZURE_ACCESS_TOKEN=$(az account get-access-token --scope https://management.azure.com/.default --query accessToken -o tsv)")
        }
        if value.lowercased().hasPrefix("bearer ") { value = String(value.dropFirst(7)).trimmingSpaces }
        self.now = now
        self.accessToken = AccessToken(value: value, expiresOnMicros: TokenResponse.jwtExpiry(value) ?? now() + TokenResponse.defaultLifetimeMicros)
    }

    public var method: AuthMethod { .tokenEnv }

    /// Expiry of the token, UTC microseconds.
    public var expiresOnMicros: Int64 { accessToken.expiresOnMicros }

    public func token(scope: String) throws(AuthError) -> AccessToken {
        guard accessToken.expiresOnMicros > now() else {
            throw AuthError(method: .tokenEnv, message: "the token in \(Self.variable) expired at \(Timestamp.isoSeconds(accessToken.expiresOnMicros)); get a new one")
        }
        return accessToken
    }

    public var description: String { "TokenEnvCredential(\(Self.variable), expires \(Timestamp.isoSeconds(accessToken.expiresOnMicros)))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["variable": Self.variable, "expiresOnMicros": accessToken.expiresOnMicros], displayStyle: .class) }
}
