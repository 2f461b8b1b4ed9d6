/// The made-up estate of a planted scenario, like scenario-1's: a tenant, two subscriptions,
/// 3–5 Azure OpenAI accounts (at least two of them in one region, so a regional incident hits a
/// fleet), 4–8 applications each calling one account with an api key or an Entra identity, a
/// forgotten job or two still calling with a stale key, and the people and pipelines that change
/// things through ARM. Derived entirely from the seed.
struct PlantedEstate {
    /// Who a data-plane caller is.
    enum Role: Equatable {
        /// `apps[index]`, which has a repository.
        case app(Int)
        /// A forgotten job with an old key: every request it sends fails with 401 (the trickle).
        case staleJob
        /// A caller that shows up during an `unexplained` burst and is gone after it.
        case newcomer
    }

    /// One caller of one account, as the `RequestResponse` records show it.
    struct Caller {
        var role: Role
        /// `a.b.c.***`.
        var ip: String
        /// Entra object id, or "" for api-key callers.
        var objectId: String
        var apiVersion: String
        var profile: GeneratorTopology.Profile
        var chat: GeneratorTopology.Deployment
        var streamingShare: Double
        /// Share of the account's traffic (apps; 0 for the others, which have their own rates).
        var share: Double

        var usesKey: Bool { objectId.isEmpty }
    }

    struct Account {
        var name: String
        var region: GeneratorTopology.Region
        var subscription: Int
        var resourceGroup: String
        /// Original-case ARM id.
        var resourceId: String
        var callers: [Caller]
    }

    struct App {
        var name: String
        var account: Int
        var entra: Bool
        var objectId: String
        var ip: String
        /// The `openai` pin in `requirements.txt` at the start of the window.
        var openai: String
        /// The pin before the last bump ahead of the window, when there was one (an old SDK bump).
        var previousOpenAI: String?
    }

    var tenant: GeneratorGUID
    var subscriptions: [GeneratorGUID]
    var accounts: [Account]
    var apps: [App]
    var admins: [GeneratorTopology.Admin]
    /// Requests per minute of each stale-key job.
    var staleRate: Double

    static let regions: [GeneratorTopology.Region] = [
        .init(name: "eastus", display: "East US", utcOffset: -5, short: "eus"),
        .init(name: "westeurope", display: "West Europe", utcOffset: 1, short: "weu"),
        .init(name: "swedencentral", display: "Sweden Central", utcOffset: 1, short: "swc"),
        .init(name: "eastasia", display: "East Asia", utcOffset: 8, short: "eas"),
        .init(name: "eastus2", display: "East US 2", utcOffset: -5, short: "eu2"),
        .init(name: "japaneast", display: "Japan East", utcOffset: 9, short: "jpe"),
        .init(name: "uksouth", display: "UK South", utcOffset: 0, short: "uks"),
    ]
    static let words = ["agents", "eval", "chat", "prod", "search", "batch", "docs", "core", "assist"]
    static let appNames = [
        "app-checkout", "app-support", "app-search", "app-summarize", "app-ingest", "app-copilot", "app-triage",
        "app-translate", "app-reports", "app-faq", "app-billing", "app-agent",
    ]
    static let groups = ["rg-ai-core", "rg-ai-apps", "rg-ai-prod", "rg-openai", "rg-ml-platform"]
    /// Api-versions apps pin before any bump (the GA one most often).
    static let apiVersions = ["2024-10-21", "2024-10-21", "2024-10-21", "2024-06-01", "2024-08-01-preview"]
    /// What a newer SDK switches to.
    static let newAPIVersions = ["2025-01-01-preview", "2024-12-01-preview", "2025-03-01-preview"]
    static let openAIPins = ["1.40.0", "1.42.0", "1.45.1", "1.47.0"]
    static let olderPins = ["1.30.5", "1.35.0", "1.37.1"]
    static let newerPins = ["1.51.0", "1.54.4", "1.58.1", "1.61.0"]

    init(seed: UInt64, requestsPerMinute: Int) {
        var rng = GeneratorRandom(seed: seed, stream: 11)
        tenant = rng.guid()
        let groups = Self.shuffled(Self.groups, &rng)
        let accountCount = rng.int(in: 3...5)
        // Accounts 0 and one other share a region; the rest land anywhere.
        var regionIndexes = (0..<accountCount).map { _ in rng.int(Self.regions.count) }
        regionIndexes[1 + rng.int(accountCount - 1)] = regionIndexes[0]
        let words = Self.shuffled(Self.words, &rng)
        let subs = [rng.guid(), rng.guid()]
        subscriptions = subs
        var accounts: [Account] = []
        for i in 0..<accountCount {
            let region = Self.regions[regionIndexes[i]]
            let sub = i < 2 ? i : rng.int(2)
            let name = "aoai-\(words[i])-\(region.short)\(i)"
            let id = "/subscriptions/\(subs[sub].text)/resourceGroups/\(groups[sub])"
                + "/providers/Microsoft.CognitiveServices/accounts/\(name)"
            accounts.append(Account(name: name, region: region, subscription: sub, resourceGroup: groups[sub], resourceId: id, callers: []))
        }

        let appCount = min(8, max(4, accountCount + rng.int(in: 1...3)))
        let names = Self.shuffled(Self.appNames, &rng)
        var usedIPs: Set<String> = []
        func freshIP(_ rng: inout GeneratorRandom) -> String {
            while true {
                let ip = "\(rng.pick([20, 40, 52, 98, 104, 137, 198, 203])).\(rng.int(in: 1...254)).\(rng.int(256)).***"
                if usedIPs.insert(ip).inserted { return ip }
            }
        }
        var apps: [App] = []
        for i in 0..<appCount {
            let account = i < accountCount ? i : rng.int(accountCount)
            let entra = rng.chance(0.45)
            apps.append(
                App(
                    name: names[i], account: account, entra: entra, objectId: entra ? rng.guid().text : "", ip: freshIP(&rng),
                    openai: rng.pick(Self.openAIPins), previousOpenAI: rng.chance(0.5) ? rng.pick(Self.olderPins) : nil))
        }
        // Some account has both kinds of caller (a rotation then spares its Entra caller), and
        // both kinds exist.
        let mixed = (0..<accountCount).contains { a in Set(apps.filter { $0.account == a }.map(\.entra)).count == 2 }
        if !mixed, let a = (0..<accountCount).first(where: { a in apps.filter { $0.account == a }.count >= 2 }) {
            let first = apps.firstIndex { $0.account == a }!
            let last = apps.lastIndex { $0.account == a }!
            apps[last].entra = !apps[first].entra
            apps[last].objectId = apps[last].entra ? rng.guid().text : ""
        }
        if !apps.contains(where: \.entra) { apps[appCount - 1].entra = true; apps[appCount - 1].objectId = rng.guid().text }
        if !apps.contains(where: { !$0.entra }) { apps[0].entra = false; apps[0].objectId = "" }
        self.apps = apps

        for (index, app) in apps.enumerated() {
            accounts[app.account].callers.append(
                Caller(
                    role: .app(index), ip: app.ip, objectId: app.objectId, apiVersion: rng.pick(Self.apiVersions),
                    profile: rng.pick([.chat, .chat, .rag]), chat: rng.pick(GeneratorTopology.chatDeployments),
                    streamingShare: 0.2 + rng.unit() * 0.5, share: 0.6 + rng.unit()))
        }
        for a in accounts.indices {
            let total = accounts[a].callers.reduce(0) { $0 + $1.share }
            for c in accounts[a].callers.indices { accounts[a].callers[c].share /= total }
        }
        // One or two forgotten jobs with a stale key carry most of the ~1-in-400 trickle
        // (apps add a random 1 in 1,000 of their own).
        let jobs = accountCount >= 4 ? 2 : 1
        let jobAccounts = Array(Self.shuffled(Array(0..<accountCount), &rng).prefix(jobs))
        for a in jobAccounts {
            accounts[a].callers.append(
                Caller(
                    role: .staleJob, ip: freshIP(&rng), objectId: "", apiVersion: "2024-02-15-preview", profile: .rag,
                    chat: GeneratorTopology.chatDeployments[1], streamingShare: 0.05, share: 0))
        }
        self.accounts = accounts
        staleRate = 0.0015 * Double(requestsPerMinute) * Double(accountCount) / Double(jobs)

        let azureCli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
        let portal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
        var admins: [GeneratorTopology.Admin] = []
        for (upn, app, ip, role) in [
            ("ops@contoso.com", azureCli, "203.0.113.10", "Contributor"),
            ("alice.nguyen@contoso.com", portal, "198.51.100.23", "Cognitive Services Contributor"),
            ("iam-admin@contoso.com", portal, "203.0.113.45", "User Access Administrator"),
            ("dev1@contoso.com", azureCli, "192.0.2.77", "Contributor"),
        ] {
            admins.append(
                .init(caller: upn, upn: upn, objectId: rng.guid(), appId: app, ip: ip, isServicePrincipal: false, role: role))
        }
        for ip in ["20.42.7.133", "52.170.4.19"] {
            let oid = rng.guid()
            admins.append(
                .init(caller: oid.text, upn: nil, objectId: oid, appId: rng.guid().text, ip: ip, isServicePrincipal: true,
                      role: "Contributor"))
        }
        self.admins = admins
    }

    // MARK: - Admins by duty

    static let ops = 0, portalUser = 1, accessAdmin = 2, developer = 3, pipeline = 4, policy = 5

    // MARK: - Helpers

    /// Index of the caller of `account` that is `apps[app]`.
    func callerIndex(ofApp app: Int) -> Int {
        accounts[apps[app].account].callers.firstIndex { $0.role == .app(app) }!
    }

    /// The estate as the bulk generator's topology, for `ActivityRecordWriter` (tenant,
    /// subscriptions, admins; the accounts are not used there).
    func topology() -> GeneratorTopology {
        var options = GeneratorOptions()
        options.accounts = 1
        var t = GeneratorTopology(options: options)
        t.tenant = tenant
        t.subscriptions = subscriptions
        t.admins = admins
        t.accounts = []
        return t
    }

    /// `items` in a random order (Fisher–Yates).
    static func shuffled<T>(_ items: [T], _ rng: inout GeneratorRandom) -> [T] {
        var out = items
        if out.count < 2 { return out }
        for i in stride(from: out.count - 1, to: 0, by: -1) {
            out.swapAt(i, rng.int(i + 1))
        }
        return out
    }
}
