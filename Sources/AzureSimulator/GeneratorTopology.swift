/// The made-up estate the generator writes traffic for: a tenant, its subscriptions, the
/// Azure OpenAI accounts in them, the applications calling each account, and the people and
/// pipelines making control-plane changes. Derived entirely from the seed.
struct GeneratorTopology {
    /// An Azure region: ARM name, display name, UTC offset of its users, short code for names.
    struct Region {
        var name: String
        var display: String
        var utcOffset: Int
        var short: String
    }

    /// A model deployment: deployment name, model, model version.
    struct Deployment {
        var name: String
        var model: String
        var version: String
    }

    /// What a data-plane caller mostly does.
    enum Profile: CaseIterable {
        case chat, rag, legacy
    }

    /// An application calling one account.
    struct Caller {
        /// `a.b.c.***`, as RequestResponse records mask it.
        var maskedIp: String
        /// Entra object id, or "" for api-key callers.
        var objectId: String
        var profile: Profile
        var apiVersions: [String]
        var chat: Deployment
        var streamingShare: Double
    }

    struct Account {
        var name: String
        var resourceGroup: String
        var subscription: Int
        var region: Region
        /// Original-case ARM id (REST shape).
        var resourceId: String
        /// Upper-cased id (diagnostic export shape).
        var upperResourceId: String
        var keyVault: String
        var weight: Double
        var callers: [Caller]
        var callerCumulative: [Double]
        /// Index of the api-key caller that sends the background 401 trickle.
        var staleCaller: Int
    }

    /// Someone who changes things through ARM.
    struct Admin {
        /// The Activity Log `caller`: a UPN, or the object id of a service principal.
        var caller: String
        var upn: String?
        var objectId: GeneratorGUID
        var appId: String
        var ip: String
        var isServicePrincipal: Bool
        var role: String
    }

    var tenant: GeneratorGUID
    var subscriptions: [GeneratorGUID]
    var accounts: [Account]
    var admins: [Admin]

    static let regions: [Region] = [
        Region(name: "eastus", display: "East US", utcOffset: -5, short: "eus"),
        Region(name: "westeurope", display: "West Europe", utcOffset: 1, short: "weu"),
        Region(name: "swedencentral", display: "Sweden Central", utcOffset: 1, short: "swc"),
        Region(name: "eastus2", display: "East US 2", utcOffset: -5, short: "eus2"),
        Region(name: "northcentralus", display: "North Central US", utcOffset: -6, short: "ncus"),
        Region(name: "japaneast", display: "Japan East", utcOffset: 9, short: "jpe"),
        Region(name: "australiaeast", display: "Australia East", utcOffset: 10, short: "aue"),
        Region(name: "uksouth", display: "UK South", utcOffset: 0, short: "uks"),
    ]

    static let environments = ["prod", "chat", "batch", "dev", "eval", "agents"]

    static let chatDeployments: [Deployment] = [
        Deployment(name: "gpt-4o-prod", model: "gpt-4o", version: "2024-08-06"),
        Deployment(name: "gpt-4o-mini", model: "gpt-4o-mini", version: "2024-07-18"),
        Deployment(name: "gpt-41", model: "gpt-4.1", version: "2025-04-14"),
    ]
    static let embeddingDeployment = Deployment(name: "embed-3-large", model: "text-embedding-3-large", version: "1")
    static let completionsDeployment = Deployment(
        name: "instruct-0914", model: "gpt-35-turbo-instruct", version: "0914")
    /// A deployment that no longer exists, for the occasional 404.
    static let missingDeployment = Deployment(name: "gpt-4-legacy", model: "", version: "")

    static let apiVersions = [
        "2024-10-21", "2024-06-01", "2024-08-01-preview", "2024-12-01-preview",
        "2025-01-01-preview", "2024-02-15-preview", "2023-05-15",
    ]
    /// How likely each of `apiVersions` is to be a caller's main version (the GA 2024-10-21 most).
    static let apiVersionWeights: [Double] = [5, 2, 2, 1, 1, 1, 1]

    /// Builds the estate for `options` from its own random stream.
    init(options: GeneratorOptions) {
        var rng = GeneratorRandom(seed: options.seed, stream: 1)
        tenant = rng.guid()
        subscriptions = (0..<options.subscriptions).map { _ in rng.guid() }
        var accounts: [Account] = []
        for i in 0..<options.accounts {
            let env = Self.environments[i % Self.environments.count]
            let region = Self.regions[i % Self.regions.count]
            let name = "aoai-\(env)-\(region.short)" + (i >= Self.environments.count ? "-\(i)" : "")
            let group = "rg-ai-\(env)"
            let sub = i % options.subscriptions
            let id = "/subscriptions/\(subscriptions[sub].text)/resourceGroups/\(group)"
                + "/providers/Microsoft.CognitiveServices/accounts/\(name)"
            let callers = Self.makeCallers(&rng, account: i)
            let weights = callers.indices.map { $0 == 0 ? 3.0 : 0.5 + rng.unit() * 1.5 }
            accounts.append(
                Account(
                    name: name, resourceGroup: group, subscription: sub, region: region, resourceId: id,
                    upperResourceId: Self.upper(id), keyVault: "kv-\(env)-\(region.short)",
                    weight: 0.4 + rng.unit() * (i == 0 ? 1.6 : 1.0),
                    callers: callers, callerCumulative: GeneratorRandom.cumulative(weights),
                    staleCaller: callers.lastIndex(where: { $0.objectId.isEmpty }) ?? 0))
        }
        self.accounts = accounts
        admins = Self.makeAdmins(&rng)
    }

    private static func makeCallers(_ rng: inout GeneratorRandom, account: Int) -> [Caller] {
        let count = rng.int(in: 2...4)
        let versionCumulative = GeneratorRandom.cumulative(apiVersionWeights)
        var callers: [Caller] = []
        for c in 0..<count {
            // The first caller of every account uses an api key, so each account has a stale-key candidate.
            let entra = c > 0 && rng.chance(0.6)
            // Every estate of two or more accounts has an embeddings-heavy and a legacy-completions caller.
            let profile: Profile
            switch c {
            case 0: profile = .chat
            case 1: profile = account % 2 == 0 ? .rag : .legacy
            default: profile = rng.pick([.chat, .chat, .rag, .legacy])
            }
            let prefix = "\(rng.pick([20, 40, 52, 98, 104, 137, 203])).\(rng.int(in: 1...254)).\(rng.int(256))"
            var versions = [apiVersions[rng.weighted(versionCumulative)]]
            for _ in 0..<rng.int(in: 0...2) {
                let v = rng.pick(apiVersions)
                if !versions.contains(v) { versions.append(v) }
            }
            callers.append(
                Caller(
                    maskedIp: "\(prefix).***", objectId: entra ? rng.guid().text : "", profile: profile,
                    apiVersions: versions, chat: rng.pick(chatDeployments),
                    streamingShare: profile == .chat ? 0.2 + rng.unit() * 0.5 : 0.05))
        }
        return callers
    }

    private static func makeAdmins(_ rng: inout GeneratorRandom) -> [Admin] {
        let azureCli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
        let portal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
        var admins: [Admin] = []
        let people: [(String, String, String, String)] = [
            ("ops@contoso.com", azureCli, "203.0.113.10", "Contributor"),
            ("alice.nguyen@contoso.com", portal, "198.51.100.23", "Cognitive Services Contributor"),
            ("iam-admin@contoso.com", portal, "203.0.113.45", "User Access Administrator"),
            ("dev1@contoso.com", azureCli, "192.0.2.77", "Contributor"),
        ]
        for (upn, app, ip, role) in people {
            admins.append(
                Admin(
                    caller: upn, upn: upn, objectId: rng.guid(), appId: app, ip: ip, isServicePrincipal: false,
                    role: role))
        }
        for ip in ["20.42.7.133", "52.170.4.19"] {
            let oid = rng.guid()
            admins.append(
                Admin(
                    caller: oid.text, upn: nil, objectId: oid, appId: rng.guid().text, ip: ip,
                    isServicePrincipal: true, role: "Contributor"))
        }
        return admins
    }

    /// ASCII upper-casing (ARM ids are ASCII).
    static func upper(_ s: String) -> String {
        String(decoding: s.utf8.map { ($0 >= 0x61 && $0 <= 0x7A) ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    /// Entra object ids of all data-plane callers, the principals role assignments point at.
    var entraPrincipals: [String] {
        accounts.flatMap { $0.callers.map(\.objectId).filter { !$0.isEmpty } }
    }
}
