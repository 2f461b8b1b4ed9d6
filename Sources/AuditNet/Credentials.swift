import AuditCore
import Foundation

/// Picks and builds the credential for `auth:` (contracts.md, design.md: the Azure Identity
/// conventions).
///
/// Without `auth:` the default chain takes the first available of
/// 1. `client-secret`: `AZURE_TENANT_ID` (or `tenant:`), `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`;
/// 2. `workload-identity`: `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and a tenant;
/// 3. `azure-cli`: an `az` executable on `PATH`.
///
/// `managed-identity` and `token-env` are used only when named: the instance metadata address
/// is never probed unasked. Availability is decided from the environment alone — making a
/// credential sends no request.
public enum Credentials {
    /// Builds the credential for `method` (nil: the default chain).
    /// - Parameters:
    ///   - tenant: `tenant:` from the config; overrides `AZURE_TENANT_ID`.
    ///   - login: the login endpoint (`CloudEndpoints.login`); `AZURE_AUTHORITY_HOST` overrides
    ///     it for workload identity.
    ///   - environment: the process environment (injected for tests).
    ///   - runCommand: how `az` is found and run.
    ///   - now: the clock, UTC microseconds (tests move it to check the cache).
    public static func make(
        method: AuthMethod?, tenant: String?, login: String, environment: [String: String], http: any HTTPTransport,
        runCommand: CommandRunner = .system, now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }
    ) throws(AuthError) -> any TokenProvider {
        let tenant = tenant.flatMap { $0.trimmingSpaces.isEmpty ? nil : $0.trimmingSpaces }
        guard let method else {
            for candidate in defaultChain(tenant: tenant, environment: environment, runCommand: runCommand) where candidate.isAvailable {
                return try make(method: candidate.method, tenant: tenant, login: login, environment: environment, http: http, runCommand: runCommand, now: now)
            }
            throw AuthError(method: nil, message: noCredentialsMessage(tenant: tenant, environment: environment, runCommand: runCommand))
        }
        let env = { (name: String) in value(name, in: environment) }
        switch method {
        case .clientSecret:
            let missing = missingForClientSecret(tenant: tenant, environment: environment)
            guard missing.isEmpty, let t = tenant ?? env("AZURE_TENANT_ID"), let id = env("AZURE_CLIENT_ID"), let secret = env("AZURE_CLIENT_SECRET") else {
                throw AuthError(method: method, message: "\(missing.joined(separator: ", ")) not set; set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (the secret's Value)")
            }
            return try ClientSecretCredential(tenantID: t, clientID: id, clientSecret: secret, authority: login, http: http, now: now)
        case .workloadIdentity:
            let missing = missingForWorkloadIdentity(tenant: tenant, environment: environment)
            guard missing.isEmpty, let t = tenant ?? env("AZURE_TENANT_ID"), let id = env("AZURE_CLIENT_ID"), let file = env("AZURE_FEDERATED_TOKEN_FILE") else {
                throw AuthError(method: method, message: "\(missing.joined(separator: ", ")) not set; on AKS label the pod azure.workload.identity/use=true and give its service account the azure.workload.identity/client-id annotation")
            }
            return try WorkloadIdentityCredential(tenantID: t, clientID: id, tokenFilePath: file, authority: env("AZURE_AUTHORITY_HOST") ?? login, http: http, now: now)
        case .azureCLI:
            guard let az = runCommand.locate("az", environment) else {
                throw AuthError(method: method, message: "the Azure CLI (az) was not found on PATH; \(AzureCLICredential.notFoundHint)")
            }
            return try AzureCLICredential(executable: az, tenantID: tenant, environment: environment, runner: runCommand, now: now)
        case .managedIdentity:
            return ManagedIdentityCredential(environment: environment, http: http, now: now)
        case .tokenEnv:
            return try TokenEnvCredential(environment: environment, now: now)
        }
    }

    /// One step of the default chain and why it is (not) available — for `doctor`.
    public struct Candidate: Sendable, Equatable {
        public var method: AuthMethod
        /// What is missing (environment variable names, or `az on PATH`); empty when available.
        public var missing: [String]
        public var isAvailable: Bool { missing.isEmpty }
    }

    /// The default chain in order, each with what it lacks.
    public static func defaultChain(tenant: String?, environment: [String: String], runCommand: CommandRunner = .system) -> [Candidate] {
        [
            Candidate(method: .clientSecret, missing: missingForClientSecret(tenant: tenant, environment: environment)),
            Candidate(method: .workloadIdentity, missing: missingForWorkloadIdentity(tenant: tenant, environment: environment)),
            Candidate(method: .azureCLI, missing: runCommand.locate("az", environment) == nil ? ["az on PATH"] : []),
        ]
    }

    /// A variable's value, nil when unset or blank.
    static func value(_ name: String, in environment: [String: String]) -> String? {
        guard let v = environment[name]?.trimmingSpaces, !v.isEmpty else { return nil }
        return v
    }

    static func missingForClientSecret(tenant: String?, environment: [String: String]) -> [String] {
        var missing: [String] = []
        if tenant == nil && value("AZURE_TENANT_ID", in: environment) == nil { missing.append("AZURE_TENANT_ID") }
        if value("AZURE_CLIENT_ID", in: environment) == nil { missing.append("AZURE_CLIENT_ID") }
        if value("AZURE_CLIENT_SECRET", in: environment) == nil { missing.append("AZURE_CLIENT_SECRET") }
        return missing
    }

    static func missingForWorkloadIdentity(tenant: String?, environment: [String: String]) -> [String] {
        var missing: [String] = []
        if value("AZURE_FEDERATED_TOKEN_FILE", in: environment) == nil { missing.append("AZURE_FEDERATED_TOKEN_FILE") }
        if value("AZURE_CLIENT_ID", in: environment) == nil { missing.append("AZURE_CLIENT_ID") }
        if tenant == nil && value("AZURE_TENANT_ID", in: environment) == nil { missing.append("AZURE_TENANT_ID") }
        return missing
    }

    static func noCredentialsMessage(tenant: String?, environment: [String: String], runCommand: CommandRunner) -> String {
        let looked = defaultChain(tenant: tenant, environment: environment, runCommand: runCommand).map { c -> String in
            switch c.method {
            case .clientSecret: return "client secret (missing \(c.missing.joined(separator: ", ")))"
            case .workloadIdentity: return "workload identity (missing \(c.missing.joined(separator: ", ")))"
            default: return "Azure CLI (no az on PATH)"
            }
        }
        return "no credentials found; looked for " + looked.joined(separator: ", ")
            + ". Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or run az login, or name a method with `auth:` in the config ("
            + AuthMethod.allCases.map(\.rawValue).joined(separator: ", ") + "); managed identity and AZURE_ACCESS_TOKEN are used only when named"
    }
}

// `dump()` and other Mirror-based printers would otherwise show the token's value.
extension AccessToken: CustomReflectable, CustomDebugStringConvertible {
    public var customMirror: Mirror { Mirror(self, children: ["expiresOnMicros": expiresOnMicros], displayStyle: .struct) }
    public var debugDescription: String { description }
}
