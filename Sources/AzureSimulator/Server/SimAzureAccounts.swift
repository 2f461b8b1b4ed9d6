import AuditCore
import Foundation

/// An Azure OpenAI account of the estate.
struct SimAccount: Sendable {
    /// Original-case ARM id.
    var resourceID: String
    var name: String
    var subscription: String
    var resourceGroup: String
    var location: String
    var disableLocalAuth = false
    var publicNetworkAccess = "Enabled"
    var networkDefaultAction = "Allow"
    var keys: [String]
    /// Deployment name (lower-cased) → (name, model).
    var deployments: [String: (name: String, model: String)] = [:]
    /// Entra object ids seen calling it.
    var entraCallers: Set<String> = []
    var etag: String
    var created: Int64
    var modified: Int64
}

/// Cognitive Services accounts through ARM (formats.md §12): GET, list per subscription or
/// resource group (`kind: OpenAI`), deployments, `listKeys`; the estate discovered from the
/// diagnostics records (accounts, deployments, Entra callers) and its default role assignments.
extension SimAzureState {
    static let adminObjectID = "aaaaaaaa-0000-1111-2222-333333333333"

    /// Display names for `x-ms-region` (the data plane writes the region that way).
    static let regionNames: [String: String] = [
        "eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus3": "West US 3", "westeurope": "West Europe",
        "northcentralus": "North Central US", "southcentralus": "South Central US", "swedencentral": "Sweden Central",
        "eastasia": "East Asia", "japaneast": "Japan East", "australiaeast": "Australia East", "uksouth": "UK South",
        "francecentral": "France Central", "canadaeast": "Canada East",
    ]

    /// Deterministic 32-hex keys of an account (`options.accountKeys` wins).
    func defaultKeys(_ name: String) -> [String] {
        if let keys = options.accountKeys[name.lowercased()], !keys.isEmpty { return keys }
        return (1...2).map { n in
            let a = SimFormat.fnv1a("key\(n)|\(name.lowercased())|\(options.seed)")
            return SimFormat.hex(a, 16) + SimFormat.hex(SimIDs.mix(a), 16)
        }
    }

    /// Creates the account of `id` (original case when some source had it, else lower case);
    /// returns its key (the canonical id).
    @discardableResult
    mutating func ensureAccount(_ id: String, location: String) -> String {
        let key = ResourceID.canonical(id)
        if accounts[key] != nil { return key }
        let original = knownIDs[key] ?? (id == id.uppercased() ? key : id)
        let parts = original.split(separator: "/").map(String.init)
        func after(_ label: String) -> String {
            guard let i = parts.firstIndex(where: { $0.caseInsensitiveEquals(label) }), i + 1 < parts.count else { return "" }
            return parts[i + 1]
        }
        let sub = after("subscriptions").lowercased(), rg = after("resourceGroups"), name = after("accounts")
        let t = baseNow - 90 * Timestamp.microsPerDay
        accounts[key] = SimAccount(
            resourceID: "/subscriptions/\(sub)/resourceGroups/\(rg)/providers/Microsoft.CognitiveServices/accounts/\(name)", name: name,
            subscription: sub, resourceGroup: rg, location: location.lowercased(), keys: defaultKeys(name),
            etag: SimFormat.guid(for: key + "|etag"), created: t, modified: t)
        return key
    }

    /// Registers what a record shows about its account: the account itself, a deployment, an Entra caller.
    mutating func discoverAccount(from r: SimDiagnosticRecord) {
        guard r.resourceID.contains("/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/") else { return }
        let key = ensureAccount(r.resourceID, location: r.location)
        if !r.deployment.isEmpty, r.status != 404, accounts[key]?.deployments[r.deployment.lowercased()] == nil {
            accounts[key]?.deployments[r.deployment.lowercased()] = (r.deployment, r.model)
        }
        if !r.objectID.isEmpty { accounts[key]?.entraCallers.insert(r.objectID.lowercased()) }
    }

    /// Default role assignments of one account: its Entra callers as Cognitive Services OpenAI
    /// User on it, an admin as Cognitive Services Contributor on its resource group, the
    /// configured client as Reader on its subscription.
    mutating func grantDefaults(_ key: String) {
        guard let a = accounts[key] else { return }
        let created = baseNow - 60 * Timestamp.microsPerDay
        let sub = "/subscriptions/\(a.subscription)"
        assign(
            scope: sub, role: Self.reader, principal: options.clientObjectID, principalType: "ServicePrincipal", createdBy: Self.adminObjectID,
            createdOn: created)
        assign(
            scope: sub + "/resourceGroups/\(a.resourceGroup)", role: Self.cognitiveServicesContributor, principal: Self.adminObjectID,
            principalType: "User", createdBy: Self.adminObjectID, createdOn: created)
        for oid in a.entraCallers.sorted() {
            assign(
                scope: a.resourceID, role: Self.openAIUser, principal: oid, principalType: "ServicePrincipal", createdBy: Self.adminObjectID,
                createdOn: created + Timestamp.microsPerDay)
        }
    }

    /// Accounts and assignments of the loaded scenario.
    mutating func buildEstate() {
        for key in accounts.keys.sorted() {
            accounts[key]?.created = baseNow - 90 * Timestamp.microsPerDay
            accounts[key]?.modified = baseNow - 30 * Timestamp.microsPerDay
            grantDefaults(key)
        }
    }

    func renderAccount(_ a: SimAccount) -> String {
        let e = SimFormat.json("https://\(a.name.lowercased()).openai.azure.com/")
        let internalID = SimFormat.hex(SimFormat.fnv1a(a.resourceID.lowercased()), 16) + SimFormat.hex(SimFormat.fnv1a(a.name), 16)
        let endpoints: [String] = [
            "OpenAI Language Model Instance API", "OpenAI Dall-E API", "OpenAI Whisper API", "OpenAI Model Scaleset API",
            "OpenAI Realtime API", "Token Service API",
        ].map { SimFormat.json($0) + ":" + e }
        let properties: [String] = [
            #""endpoint":"# + e,
            #""internalId":"# + SimFormat.json(internalID),
            #""dateCreated":"# + SimFormat.json(SimFormat.iso7(a.created)),
            #""isMigrated":false"#,
            #""customSubDomainName":"# + SimFormat.json(a.name.lowercased()),
            #""networkAcls":{"defaultAction":"# + SimFormat.json(a.networkDefaultAction) + #","virtualNetworkRules":[],"ipRules":[]}"#,
            #""privateEndpointConnections":[]"#,
            #""publicNetworkAccess":"# + SimFormat.json(a.publicNetworkAccess),
            #""disableLocalAuth":"# + (a.disableLocalAuth ? "true" : "false"),
            #""capabilities":[{"name":"VirtualNetworks"},{"name":"CustomerManagedKey"},{"name":"MaxFineTuneCount","value":"100"}]"#,
            #""endpoints":{"# + endpoints.joined(separator: ",") + "}",
            #""provisioningState":"Succeeded""#,
        ]
        let systemData: [String] = [
            #""createdBy":"ops@contoso.com","createdByType":"User""#,
            #""createdAt":"# + SimFormat.json(SimFormat.iso7(a.created)),
            #""lastModifiedBy":"ops@contoso.com","lastModifiedByType":"User""#,
            #""lastModifiedAt":"# + SimFormat.json(SimFormat.iso7(a.modified)),
        ]
        let top: [String] = [
            #""id":"# + SimFormat.json(a.resourceID),
            #""name":"# + SimFormat.json(a.name),
            #""type":"Microsoft.CognitiveServices/accounts""#,
            #""etag":"# + SimFormat.json("\"\(a.etag)\""),
            #""location":"# + SimFormat.json(a.location),
            #""sku":{"name":"S0"},"kind":"OpenAI","tags":{}"#,
            #""properties":{"# + properties.joined(separator: ",") + "}",
            #""systemData":{"# + systemData.joined(separator: ",") + "}",
        ]
        return "{" + top.joined(separator: ",") + "}"
    }

    mutating func handleAccounts(_ request: SimRequest) -> SimResponse {
        if let bad = checkAPIVersion(request) { return bad }
        switch armAuthenticate(request) {
        case .success: break
        case .failure(let f): return armUnauthorized(f, allowed: Self.armAudiences)
        }
        let parts = request.path.split(separator: "/").map(String.init)
        let lower = parts.map { $0.lowercased() }
        guard lower.count >= 4, lower[0] == "subscriptions" else {
            return armError(404, "InvalidResourceType", "The resource type could not be found.")
        }
        let sub = lower[1]
        var rg: String?
        var i = 2
        if lower.count > 3, lower[2] == "resourcegroups" {
            rg = lower[3]
            i = 4
        }
        guard lower.count >= i + 3, lower[i] == "providers", lower[i + 1] == "microsoft.cognitiveservices", lower[i + 2] == "accounts" else {
            return armError(404, "InvalidResourceType", "The resource type could not be found.")
        }
        let rest = Array(parts[(i + 3)...])
        let matching = accounts.values.filter { a in a.subscription == sub && (rg.map { a.resourceGroup.lowercased() == $0 } ?? true) }
            .sorted { $0.resourceID.lowercased() < $1.resourceID.lowercased() }
        if rest.isEmpty {
            guard request.method == "GET" else { return methodNotAllowed(request) }
            return armPage(matching.map(renderAccount), request: request)
        }
        guard rg != nil, let account = matching.first(where: { $0.name.caseInsensitiveEquals(rest[0]) }) else {
            return armError(
                404, "ResourceNotFound",
                "The Resource 'Microsoft.CognitiveServices/accounts/\(rest[0])' under resource group '\(rg ?? "")' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
        }
        switch (rest.count, request.method, rest.dropFirst().first?.lowercased()) {
        case (1, "GET", _):
            var r = SimResponse.json(200, renderAccount(account))
            r.headers.append(("ETag", "\"\(account.etag)\""))
            return r
        case (2, "POST", "listkeys"):
            return SimResponse.json(200, #"{"key1":"\#(account.keys[0])","key2":"\#(account.keys.count > 1 ? account.keys[1] : account.keys[0])"}"#)
        case (2, "GET", "deployments"):
            let items = account.deployments.values.sorted { $0.name < $1.name }.map { d -> String in
                let id = SimFormat.json(account.resourceID + "/deployments/" + d.name)
                let model = #"{"format":"OpenAI","name":"# + SimFormat.json(d.model) + #","version":""}"#
                return #"{"id":"# + id + #","type":"Microsoft.CognitiveServices/accounts/deployments","name":"# + SimFormat.json(d.name)
                    + #","sku":{"name":"Standard","capacity":30},"properties":{"model":"# + model + #","provisioningState":"Succeeded"}}"#
            }
            return armPage(items, request: request)
        default:
            return methodNotAllowed(request)
        }
    }

    func methodNotAllowed(_ request: SimRequest) -> SimResponse {
        armError(405, "MethodNotAllowed", "The requested resource does not support http method '\(request.method)'.")
    }

    /// The account of a name or id.
    func accountKey(_ nameOrID: String) -> String? {
        if nameOrID.contains("/") {
            let key = ResourceID.canonical(nameOrID)
            return accounts[key] != nil ? key : nil
        }
        return accounts.first { $0.value.name.caseInsensitiveEquals(nameOrID) }?.key
    }
}

// MARK: - Public API

extension SimAzure {
    /// ARM ids of the estate's accounts (original case), sorted.
    public var accountIDs: [String] { locked { $0.accounts.values.map(\.resourceID).sorted() } }

    /// Adds an Azure OpenAI account with its deployments and Entra callers (who get Cognitive
    /// Services OpenAI User on it), plus the default Reader and Contributor assignments.
    ///
    /// - Returns: the account's id.
    @discardableResult
    public func addAccount(resourceID: String, location: String = "eastus", deployments: [String: String] = ["gpt-4o": "gpt-4o"], entraCallers: [String] = []) -> String {
        locked { s in
            s.knownIDs[ResourceID.canonical(resourceID)] = resourceID
            let key = s.ensureAccount(resourceID, location: location)
            for (name, model) in deployments { s.accounts[key]?.deployments[name.lowercased()] = (name, model) }
            for oid in entraCallers { s.accounts[key]?.entraCallers.insert(oid.lowercased()) }
            s.grantDefaults(key)
            return s.accounts[key]?.resourceID ?? resourceID
        }
    }

    /// Adds (or re-points) a model deployment of an account; false when there is no such account.
    @discardableResult
    public func addDeployment(account: String, name: String, model: String) -> Bool {
        locked { s in
            guard let key = s.accountKey(account) else { return false }
            s.accounts[key]?.deployments[name.lowercased()] = (name, model)
            return true
        }
    }

    /// Changes account properties as an `accounts/write` would (a new etag and
    /// `lastModifiedAt`); nil leaves a property as it is.
    ///
    /// - Parameters:
    ///   - resourceID: the account's id (any case) or name.
    ///   - disableLocalAuth: true: api keys get `403 AuthenticationTypeDisabled`.
    ///   - publicNetworkAccess: `Enabled` or `Disabled` (the data plane then answers 403).
    ///   - networkDefaultAction: `Allow` or `Deny` (`networkAcls.defaultAction`).
    /// - Returns: false when there is no such account.
    @discardableResult
    public func setAccountProperty(
        resourceID: String, disableLocalAuth: Bool? = nil, publicNetworkAccess: String? = nil, networkDefaultAction: String? = nil
    ) -> Bool {
        locked { s in
            guard let key = s.accountKey(resourceID) else { return false }
            if let disableLocalAuth { s.accounts[key]?.disableLocalAuth = disableLocalAuth }
            if let publicNetworkAccess { s.accounts[key]?.publicNetworkAccess = publicNetworkAccess }
            if let networkDefaultAction { s.accounts[key]?.networkDefaultAction = networkDefaultAction }
            let etag = s.ids.guid(), modified = s.now
            s.accounts[key]?.etag = etag
            s.accounts[key]?.modified = modified
            return true
        }
    }

    /// The account's `[key1, key2]`; empty when there is no such account.
    public func accountKeys(account: String) -> [String] {
        locked { s in s.accountKey(account).flatMap { s.accounts[$0]?.keys } ?? [] }
    }

    /// Regenerates one key (`key1` or `key2`): the old one stops working at once.
    ///
    /// - Returns: the new key, or nil when there is no such account.
    @discardableResult
    public func regenerateKey(account: String, keyName: String = "key1") -> String? {
        locked { s in
            guard let key = s.accountKey(account), var keys = s.accounts[key]?.keys else { return nil }
            let fresh = SimFormat.hex(s.ids.next(), 16) + SimFormat.hex(s.ids.next(), 16)
            let index = keyName.lowercased() == "key2" ? 1 : 0
            while keys.count <= index { keys.append(fresh) }
            keys[index] = fresh
            s.accounts[key]?.keys = keys
            return fresh
        }
    }
}
