import AuditCore
import AuditNet
import Foundation

/// A resource whose tokens collectors ask for.
enum TokenTarget: Int, CaseIterable, Sendable {
    case arm, storage, logAnalytics

    var label: String {
        switch self {
        case .arm: return "ARM"
        case .storage: return "storage"
        case .logAnalytics: return "Log Analytics"
        }
    }

    func scope(_ cloud: CloudEndpoints) -> String {
        switch self {
        case .arm: return cloud.armScope
        case .storage: return CloudEndpoints.storageScope
        case .logAnalytics: return cloud.logAnalyticsScope
        }
    }

    /// The `aud` values the service accepts for tokens of `scope` (formats.md §16.1),
    /// lower-cased: the resource with or without its trailing slash, and for ARM the
    /// `management.core…` form the Azure CLI asks for.
    func acceptedAudiences(scope: String) -> Set<String> {
        var resource = scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
        while resource.hasSuffix("/") { resource.removeLast() }
        var out: Set<String> = [resource.lowercased(), resource.lowercased() + "/"]
        if self == .arm {
            let cores = [
                "https://management.azure.com": "https://management.core.windows.net",
                "https://management.usgovcloudapi.net": "https://management.core.usgovcloudapi.net",
                "https://management.chinacloudapi.cn": "https://management.core.chinacloudapi.cn",
            ]
            if let core = cores[resource.lowercased()] { out.formUnion([core, core + "/"]) }
        }
        return out
    }
}

/// The credential of one (`auth:`, tenant) pair, as the credentials check left it.
struct DoctorCredential {
    var method: AuthMethod?
    var tenant: String?
    var sources: [String]
    var targets: [TokenTarget]
    var provider: (any TokenProvider)?
    /// Targets a token was obtained for, with its claims when it decoded.
    var obtained: [TokenTarget: JWTClaims?] = [:]
    /// `method (tenant …)` for findings.
    var label: String

    /// Who the tokens are for, as `az role assignment create --assignee` takes it.
    var assignee: String? {
        for t in TokenTarget.allCases {
            if case let c?? = obtained[t] { if let a = c.userName ?? c.clientID ?? c.oid { return a } }
        }
        return nil
    }

    /// `client 1234… (oid dddd…)` for findings about permissions.
    var principal: String {
        for t in TokenTarget.allCases {
            if case let c?? = obtained[t] {
                var parts: [String] = []
                if let u = c.userName { parts.append("user \(u)") } else if let a = c.clientID { parts.append("client \(a)") }
                if let o = c.oid { parts.append("object id \(o)") }
                if !parts.isEmpty { return "the identity (" + parts.joined(separator: ", ") + ")" }
            }
        }
        return "the identity"
    }
}

extension DoctorChecks {
    /// Well-known client ids (formats.md §16.1).
    static let knownClients = [
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Azure CLI",
        "1950a258-227b-4e31-a9cf-717495945fc2": "Azure PowerShell",
    ]
    /// Clock skew tolerated on `nbf`.
    static let skew: Int64 = 300 * Timestamp.microsPerSecond
    /// A token expiring sooner than this is a warning.
    static let shortLife: Int64 = 10 * Timestamp.microsPerMinute

    // MARK: - 2. Credentials

    /// One finding per credential that could not be made, and per token: obtained and
    /// decoded, or why not. Returns the credentials by `Planned.groupKey`.
    func checkCredentials(_ config: Config, _ planned: [Planned], _ report: inout DoctorReport) -> [String: DoctorCredential] {
        let env = options.environment, http = options.http
        let login = config.cloud.login
        let standard: CredentialsFactory = { (m: AuthMethod?, t: String?) throws(AuthError) -> any TokenProvider in
            try Credentials.make(method: m, tenant: t, login: login, environment: env, http: http)
        }
        let factory: CredentialsFactory
        if let make = options.credentials { factory = make(config) } else { factory = standard }
        var groups: [String: DoctorCredential] = [:]
        var order: [String] = []
        for p in planned where !p.targets.isEmpty {
            if groups[p.groupKey] == nil {
                order.append(p.groupKey)
                groups[p.groupKey] = DoctorCredential(method: p.method, tenant: p.tenant, sources: [], targets: [], label: "")
            }
            groups[p.groupKey]?.sources.append(p.name)
            for t in p.targets where !(groups[p.groupKey]?.targets.contains(t) ?? true) { groups[p.groupKey]?.targets.append(t) }
        }
        if order.isEmpty {
            report.findings.append(.ok("credentials", "no configured source needs Azure tokens (SAS, status feeds and git need none)"))
        }
        for key0 in order {
            guard var g = groups[key0] else { continue }
            g.targets.sort { $0.rawValue < $1.rawValue }
            let who = "sources " + g.sources.joined(separator: ", ")
            var provider: (any TokenProvider)?
            var failure: String?
            do {
                provider = try factory(g.method, g.tenant)
            } catch {
                failure = String(describing: error)
            }
            guard let provider else {
                g.label = (g.method?.rawValue ?? "default chain") + (g.tenant.map { " (tenant \($0))" } ?? "")
                report.findings.append(.fail("credentials", "\(g.label) for \(who): \(failure ?? "no credential")", fix: Self.authFix(g.method, tenant: g.tenant)))
                groups[key0] = g
                continue
            }
            g.provider = provider
            let tenant = Self.expectedTenant(g.tenant, method: provider.method, environment: options.environment)
            g.label = (g.method == nil ? "default chain → " : "") + provider.method.rawValue
                + Self.identityHint(provider.method, tenant: tenant, environment: options.environment)
            // The same refusal for several scopes (a wrong secret) is one finding.
            var refused: (targets: [TokenTarget], text: String, key: String, index: Int)?
            for target in g.targets {
                let scope = target.scope(config.cloud)
                let token: AccessToken
                do {
                    token = try provider.token(scope: scope)
                } catch {
                    let text = String(describing: error)
                    let key = Self.withoutCorrelationID(text)
                    if var r = refused, r.key == key {
                        r.targets.append(target)
                        refused = r
                    } else {
                        refused = ([target], text, key, report.findings.count)
                        report.findings.append(.fail("credentials", "", fix: Self.authFix(provider.method, tenant: tenant)))
                    }
                    if let r = refused {
                        let needing = planned.filter { $0.groupKey == key0 && $0.targets.contains { r.targets.contains($0) } }.map(\.name)
                        let scopes = r.targets.map { "\($0.label) (\($0.scope(config.cloud)))" }.joined(separator: ", ")
                        report.findings[r.index].detail = DoctorFinding.oneLine(
                            "\(g.label): no token for \(scopes), needed by \(needing.joined(separator: ", ")): \(r.text)")
                    }
                    continue
                }
                let claims: JWTClaims
                do {
                    claims = try JWTClaims.decode(token.value)
                } catch {
                    g.obtained[target] = .some(nil)
                    report.findings.append(.fail("credentials", "\(g.label): the \(target.label) token is \(error)",
                                                 fix: "AZURE_ACCESS_TOKEN (token-env) must hold an Entra access token (az account get-access-token --resource \(Self.resource(of: scope))), not an API key"))
                    continue
                }
                g.obtained[target] = claims
                report.findings.append(Self.inspect(claims, target: target, scope: scope, tenant: tenant, now: options.now(), label: g.label, method: provider.method))
            }
            groups[key0] = g
        }
        return groups
    }

    /// An error text without Entra's per-request `correlation id …` (equal refusals compare equal).
    static func withoutCorrelationID(_ text: String) -> String {
        guard let r = text.range(of: ", correlation id ") else { return text }
        let rest = text[r.upperBound...]
        let end = rest.firstIndex { !($0.isHexDigit || $0 == "-") } ?? rest.endIndex
        return String(text[..<r.lowerBound]) + String(rest[end...])
    }

    /// The tenant tokens must come from: `tenant:` in the config, else `AZURE_TENANT_ID` for
    /// the methods that use it; nil when nothing says (the Azure CLI's default tenant).
    static func expectedTenant(_ configured: String?, method: AuthMethod, environment: [String: String]) -> String? {
        if let configured { return configured }
        switch method {
        case .clientSecret, .workloadIdentity:
            return environment["AZURE_TENANT_ID"].flatMap { $0.trimmingSpaces.isEmpty ? nil : $0.trimmingSpaces }
        default:
            return nil
        }
    }

    /// ` (client 1234…, tenant 9999…)`: ids only, never a secret.
    static func identityHint(_ method: AuthMethod, tenant: String?, environment: [String: String]) -> String {
        var parts: [String] = []
        if method == .clientSecret || method == .workloadIdentity || method == .managedIdentity,
           let id = environment["AZURE_CLIENT_ID"], !id.trimmingSpaces.isEmpty {
            parts.append("client \(id.trimmingSpaces)")
        }
        if let tenant { parts.append("tenant \(tenant)") }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    /// What to do when a credential yields no token.
    static func authFix(_ method: AuthMethod?, tenant: String?) -> String {
        switch method {
        case .clientSecret?:
            return "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (the secret's Value, not its ID; `az ad app credential reset --id <client id> --append` makes a new one)"
        case .workloadIdentity?:
            return "check that AZURE_FEDERATED_TOKEN_FILE is mounted and fresh and that the app's federated credential matches its issuer, subject and audience (api://AzureADTokenExchange)"
        case .azureCLI?:
            return "run `az login" + (tenant.map { " --tenant \($0)" } ?? "") + "` as the user aoai-audit runs as"
        case .managedIdentity?:
            return "check that the managed identity is assigned to this VM or app, and that AZURE_CLIENT_ID names it when it is user-assigned"
        case .tokenEnv?:
            return "export AZURE_ACCESS_TOKEN with a current token: az account get-access-token --resource <resource> --query accessToken -o tsv"
        case nil:
            return "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, run `az login`, or name a method with `auth:` in the config"
        }
    }

    static func resource(of scope: String) -> String {
        scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
    }

    /// The checks of formats.md §16.2 on one decoded token: expiry, not-before, audience,
    /// tenant, issuer, object id; the finding describes the identity whatever the outcome.
    static func inspect(_ c: JWTClaims, target: TokenTarget, scope: String, tenant: String?, now: Int64, label: String, method: AuthMethod) -> DoctorFinding {
        var problems: [(status: DoctorStatus, text: String, fix: String)] = []
        if let exp = c.expiresOnMicros {
            if exp <= now {
                problems.append((.fail, "expired at \(Timestamp.isoSeconds(exp)) (\(duration(now - exp)) ago)",
                                 method == .tokenEnv ? authFix(.tokenEnv, tenant: tenant) : "check the host clock (timedatectl) and the credential: it handed out an expired token"))
            } else if exp - now < shortLife {
                problems.append((.warn, "expires in \(duration(exp - now))",
                                 method == .tokenEnv ? authFix(.tokenEnv, tenant: tenant) : "check the host clock (timedatectl); a fresh token should last about an hour"))
            }
        } else {
            problems.append((.warn, "no exp claim", "check the credential hands out Entra access tokens"))
        }
        if let nbf = c.nbf, nbf * Timestamp.microsPerSecond > now + skew {
            problems.append((.fail, "not valid before \(Timestamp.isoSeconds(nbf * Timestamp.microsPerSecond)): this host's clock is behind",
                             "synchronize the clock (timedatectl set-ntp true, chrony)"))
        }
        let accepted = target.acceptedAudiences(scope: scope)
        if !c.aud.contains(where: { accepted.contains($0.lowercased()) }) {
            let shown = c.aud.isEmpty ? "none" : c.aud.joined(separator: ", ")
            problems.append((.fail, "wrong audience \(shown) (\(target.label) accepts \(accepted.sorted().joined(separator: ", ")))",
                             "request the token for \(scope)" + (method == .tokenEnv ? " (az account get-access-token --resource \(resource(of: scope)))" : "; check that the `cloud:` endpoints match the cloud of the credential")))
        }
        if let tenant, isGUID(tenant), let tid = c.tid, tid.lowercased() != tenant.lowercased() {
            problems.append((.fail, "issued by tenant \(tid), but the config (tenant: / AZURE_TENANT_ID) names \(tenant) (ARM answers InvalidAuthenticationTokenTenant)",
                             "use a credential of tenant \(tenant), or correct `tenant:` (per source when sources span tenants)"))
        }
        if let iss = c.iss, let tid = c.tid, !iss.lowercased().contains(tid.lowercased()) {
            problems.append((.warn, "issuer \(iss) does not match tid \(tid)", "check the login endpoint (`cloud.login`) and the tenant"))
        }
        if c.oid == nil {
            problems.append((target == .arm ? .fail : .warn, "no oid claim (ARM answers InvalidAuthenticationToken)",
                             "make sure the app has a service principal in the tenant: az ad sp create --id <client id>"))
        }
        let summary = describe(c, now: now)
        let head = "\(label): \(target.label) token"
        guard let worst = problems.max(by: { $0.status < $1.status }) else {
            return .ok("credentials", head + ": " + summary)
        }
        let texts = problems.map(\.text).joined(separator: "; ")
        return DoctorFinding(check: "credentials", status: worst.status, detail: head + ": " + texts + " — " + summary, fix: worst.fix)
    }

    /// `aud …, expires … (in 59m), tid …, client … (Azure CLI), object id …, app-only, no roles`.
    static func describe(_ c: JWTClaims, now: Int64) -> String {
        var parts: [String] = []
        parts.append("aud " + (c.aud.isEmpty ? "none" : c.aud.joined(separator: ",")))
        if let exp = c.expiresOnMicros {
            parts.append("expires \(Timestamp.isoSeconds(exp))" + (exp > now ? " (in \(duration(exp - now)))" : ""))
        }
        if let tid = c.tid { parts.append("tid \(tid)") }
        if let client = c.clientID { parts.append("client \(client)" + (knownClients[client.lowercased()].map { " (\($0))" } ?? "")) }
        if let oid = c.oid { parts.append("object id \(oid)") }
        if let user = c.userName { parts.append("user \(user)") }
        if let mi = c.xmsMirid { parts.append("managed identity \(mi)") }
        if !c.scp.isEmpty {
            parts.append("delegated, scp " + c.scp.joined(separator: " "))
        } else {
            parts.append("app-only")
        }
        parts.append(c.roles.isEmpty ? "no app roles (Azure RBAC decides)" : "roles " + c.roles.joined(separator: ", "))
        if c.xmsCC.contains("cp1") { parts.append("CAE-capable") }
        return parts.joined(separator: ", ")
    }

    static func isGUID(_ s: String) -> Bool { s.isGUID }
}
