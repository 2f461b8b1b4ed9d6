import AuditCore
import AuditNet
import AuditStore
import Foundation

/// `type: rbac-snapshot` — who may call each Azure OpenAI account, and how it authenticates,
/// as a periodic snapshot diffed against the previous one (formats.md §11–12).
///
/// Per account: the account itself (`disableLocalAuth`, `publicNetworkAccess`, `networkAcls`)
/// and its role assignments including inherited ones (`$filter=atScope()`), role names resolved
/// (well-known built-in GUIDs without a call, others once per run). The state lives in
/// `rbac_state` (item `assignment:<id>` or `property:<name>`); a difference becomes a change
/// of the same kind the Activity Log path derives (`role_assignment_created`/`_deleted`,
/// `local_auth_disabled`/`_enabled`, `network_rule_change`), so correlation treats both alike.
///
/// The moment of a change is unknown — only that it happened between the previous snapshot
/// (T1) and this one (T2). The change is dated T2, and its summary and detail say "between T1
/// and T2" (`time_exact: false`). Dating it T2 keeps correlation honest: a change recorded after
/// a burst began is never ranked as its cause. The first snapshot of an account records its
/// state and emits nothing. State, changes and the cursor `snapshot_at` commit in one
/// transaction.
public struct RBACSnapshotCollector: Collector {
    public static let type = "rbac-snapshot"
    public static let keys = ["subscriptions", "accounts"]
    public static let needsCredentials = true

    public static let accountAPIVersion = "2023-05-01"
    public static let authorizationAPIVersion = "2022-04-01"
    public static let checkpointKey = "snapshot_at"
    /// `ChangeRecord.sourceKind` of the changes this collector derives.
    public static let sourceKind = "rbac-snapshot"
    /// Account kinds that serve Azure OpenAI (compared case-insensitively).
    static let openAIKinds: Set<String> = ["openai", "aiservices"]

    public let name: String
    public let subscriptions: [String]
    /// Account resource ids from the config; empty = every OpenAI/AIServices account found.
    public let accounts: [String]

    public init(source: SourceConfig) throws(ConfigError) {
        name = source.name
        subscriptions = try source.strings("subscriptions", required: true).map { $0.trimmingSpaces.lowercased() }
        for s in subscriptions where !s.isGUID {
            throw source.invalid("subscriptions", "'\(s)' is not a subscription id (a GUID such as 11111111-2222-3333-4444-555555555555)")
        }
        accounts = try source.strings("accounts").map { $0.trimmingSpaces }
        for a in accounts {
            let r = ResourceID(a)
            guard r.subscription != nil, r.provider == "microsoft.cognitiveservices", r.type == "microsoft.cognitiveservices/accounts", r.name != nil else {
                throw source.invalid("accounts", "'\(a)' is not an account resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.CognitiveServices/accounts/NAME)")
            }
        }
    }

    // MARK: - What one snapshot holds

    struct Assignment {
        var id: String
        var principalId: String
        var principalType: String?
        var roleDefinitionId: String
        var role: String
        /// Where the assignment lives (the account, or a parent scope it is inherited from).
        var scope: String
        var createdBy: String?
        var createdOn: String?

        /// The `rbac_state` value: what matters to diff and to describe a deletion later.
        var stateValue: String {
            var m: [(key: String, value: JSONValue)] = [("principal_id", .string(principalId))]
            if let principalType { m.append(("principal_type", .string(principalType))) }
            m += [("role", .string(role)), ("role_definition_id", .string(roleDefinitionId)), ("scope", .string(scope))]
            return JSONValue.object(JSONObject(m)).serialized
        }

        init(id: String, principalId: String, principalType: String?, roleDefinitionId: String, role: String, scope: String, createdBy: String? = nil, createdOn: String? = nil) {
            self.id = id; self.principalId = principalId; self.principalType = principalType; self.roleDefinitionId = roleDefinitionId
            self.role = role; self.scope = scope; self.createdBy = createdBy; self.createdOn = createdOn
        }

        /// Back from a stored value (for a deleted assignment).
        init?(id: String, stateValue: String) {
            guard case .object(let o)? = try? JSONParser.parse(stateValue) else { return nil }
            self.init(id: id, principalId: o["principal_id"]?.text ?? "", principalType: o["principal_type"]?.nonEmptyText,
                      roleDefinitionId: o["role_definition_id"]?.text ?? "", role: o["role"]?.text ?? "a role", scope: o["scope"]?.text ?? "")
        }
    }

    struct AccountSnapshot {
        /// Canonical (lower-cased) account id: the `rbac_state` scope.
        var scope: String
        var items: [String: String] = [:]
        var assignments: [String: Assignment] = [:]
    }

    // MARK: - Collect

    public func collect(_ context: CollectContext) throws -> SourceOutcome {
        var outcome = SourceOutcome(name: name, type: Self.type)
        var arm = ARM(collector: self, context: context, auth: try context.bearer(context.endpoints.armScope))
        let t2 = context.now
        let targets = accounts.isEmpty ? try arm.discoverAccounts(subscriptions) : accounts
        var snapshots: [AccountSnapshot] = []
        for id in targets {
            if let s = try arm.snapshot(account: id) { snapshots.append(s) }
        }
        outcome.pages = arm.requests
        outcome.warnings += arm.warnings

        // The previous state of every account, read before the write (a source runs once at a time).
        let previousRows = try context.store.withConnection { db in
            try db.rows("SELECT scope, item, value, seen_us FROM rbac_state WHERE source = ?1", [.text(name)])
        }
        var previous: [String: (items: [String: String], seen: Int64)] = [:]
        for r in previousRows {
            guard let scope = r[0].text, let item = r[1].text, let value = r[2].text else { continue }
            var p = previous[scope] ?? ([:], 0)
            p.items[item] = value
            p.seen = max(p.seen, r[3].integer ?? 0)
            previous[scope] = p
        }
        let checkpointT1 = context.checkpoints[Self.checkpointKey].flatMap { Int64($0) }

        var batch = RecordBatch()
        var coverage: [CoverageWindow] = []
        for s in snapshots {
            outcome.records += s.items.count
            batch.read += s.items.count
            let prev = previous[s.scope]
            let t1 = prev.map { $0.seen > 0 ? $0.seen : (checkpointT1 ?? t2) } ?? t2
            coverage.append(CoverageWindow(scope: "account:\(s.scope)", fromUs: t1, toUs: t2, records: s.items.count))
            guard let prev else {
                context.log("\(ResourceID(s.scope).shortName): first snapshot (\(s.assignments.count) role assignments), no changes derived")
                continue
            }
            let changes = Self.diff(account: s.scope, previous: prev.items, current: s, t1: t1, t2: t2)
            batch.changes += changes
            context.log("\(ResourceID(s.scope).shortName): \(s.assignments.count) role assignments, \(changes.count) change\(changes.count == 1 ? "" : "s") since \(Timestamp.isoSeconds(t1))")
        }
        let source = name
        outcome.counts += try context.store.write(batch, source: name, checkpoints: [(Self.checkpointKey, String(t2))], coverage: coverage) { db in
            for s in snapshots {
                try db.run("DELETE FROM rbac_state WHERE source = ?1 AND scope = ?2", [.text(source), .text(s.scope)])
                for (item, value) in s.items.sorted(by: { $0.key < $1.key }) {
                    try db.run("INSERT INTO rbac_state(source, scope, item, value, seen_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                               [.text(source), .text(s.scope), .text(item), .text(value), .integer(t2)])
                }
            }
        }
        outcome.lagSeconds = 0
        return outcome
    }

    // MARK: - Diff

    /// The changes between the stored state of `account` and `current`, dated `t2`.
    static func diff(account: String, previous: [String: String], current: AccountSnapshot, t1: Int64, t2: Int64) -> [ChangeRecord] {
        var out: [ChangeRecord] = []
        let between = "between \(Timestamp.isoSeconds(t1)) and \(Timestamp.isoSeconds(t2))"
        let seenBy = " (RBAC snapshot: changed \(between), exact time unknown)"
        let window: [(key: String, value: JSONValue)] = [
            ("observed_between", .object(JSONObject([("from", .string(Timestamp.iso(t1))), ("to", .string(Timestamp.iso(t2)))]))),
            ("time_exact", .bool(false)), ("snapshot_of", .string(account)),
        ]
        func add(_ kind: String, resource: String, item: String, summary: String, detail: [(key: String, value: JSONValue)], actor: String? = nil, principal: String? = nil, sourceID: String) {
            let resource = ResourceID.canonical(resource)
            out.append(ChangeRecord(
                dedupeKey: "rbac:" + resource + "|" + item + "|" + String(t2), timeUs: t2, kind: kind, resourceId: resource, actor: actor,
                summary: Redactor.redact(summary + seenBy), detail: Redactor.redact(json: .object(JSONObject(detail + window))).serialized,
                sourceKind: sourceKind, sourceId: sourceID, correlationId: nil, principalId: principal))
        }
        func assignmentChange(_ a: Assignment, item: String, deleted: Bool) {
            let who = a.principalId.isEmpty ? "a principal" : "\(a.principalType.map { $0 + " " } ?? "")\(a.principalId)"
            var d: [(key: String, value: JSONValue)] = [("scope", .string(a.scope)), ("role_assignment", .string(a.id))]
            if !a.principalId.isEmpty { d.append(("principal_id", .string(a.principalId))) }
            if let t = a.principalType { d.append(("principal_type", .string(t))) }
            d += [("role_definition_id", .string(a.roleDefinitionId)), ("role", .string(a.role))]
            if !deleted, let c = a.createdOn { d.append(("created_on", .string(c))) }
            if !deleted, let c = a.createdBy { d.append(("created_by", .string(c))) }
            add(deleted ? ChangeKind.roleAssignmentDeleted : ChangeKind.roleAssignmentCreated, resource: a.scope, item: item,
                summary: "role assignment \(deleted ? "removed" : "added"): \(a.role) for \(who) at \(ResourceID(a.scope).shortName)",
                detail: d, actor: deleted ? nil : a.createdBy, principal: a.principalId.isEmpty ? nil : a.principalId, sourceID: a.id)
        }

        // Role assignments: keyed by id, presence only (an assignment's role, principal and
        // scope cannot change in place).
        for (item, a) in current.assignments.sorted(by: { $0.key < $1.key }) where previous[item] == nil {
            assignmentChange(a, item: item, deleted: false)
        }
        for (item, value) in previous.sorted(by: { $0.key < $1.key }) where item.hasPrefix("assignment:") && current.items[item] == nil {
            let id = String(item.dropFirst("assignment:".count))
            assignmentChange(Assignment(id: id, stateValue: value) ?? Assignment(id: id, principalId: "", principalType: nil, roleDefinitionId: "", role: "a role", scope: id),
                             item: item, deleted: true)
        }

        // Account properties.
        let name = ResourceID(account).shortName
        func changed(_ item: String) -> (old: String, new: String)? {
            guard let old = previous[item], let new = current.items[item], old != new else { return nil }
            return (old, new)
        }
        if let (old, new) = changed("property:disableLocalAuth") {
            let disabled = new == "true"
            add(disabled ? ChangeKind.localAuthDisabled : ChangeKind.localAuthEnabled, resource: account, item: "property:disableLocalAuth",
                summary: "key (local) authentication \(disabled ? "disabled" : "enabled") on \(name)",
                detail: [("disableLocalAuth", .bool(disabled)), ("previous", .bool(old == "true"))], sourceID: account + "#disableLocalAuth")
        }
        if let (old, new) = changed("property:publicNetworkAccess") {
            add(ChangeKind.networkRuleChange, resource: account, item: "property:publicNetworkAccess",
                summary: "network rules changed on \(name) (public network access \(old) → \(new))",
                detail: [("publicNetworkAccess", .string(new)), ("previous", .string(old))], sourceID: account + "#publicNetworkAccess")
        }
        if let (old, new) = changed("property:networkAcls") {
            let newValue = (try? JSONParser.parse(new)) ?? .string(new)
            let oldValue = (try? JSONParser.parse(old)) ?? .string(old)
            let a = oldValue["defaultAction"]?.text ?? "?", b = newValue["defaultAction"]?.text ?? "?"
            let what = a != b ? "default action \(a) → \(b)" : "firewall rules changed"
            add(ChangeKind.networkRuleChange, resource: account, item: "property:networkAcls",
                summary: "network rules changed on \(name) (\(what))",
                detail: [("networkAcls", newValue), ("previous", oldValue)], sourceID: account + "#networkAcls")
        }
        return out
    }

    // MARK: - State from ARM answers

    /// The property items of an account GET (formats.md §12.2). Absent or null values are
    /// stored as what they mean (keys allowed, public access enabled, no firewall), so an
    /// answer that omits them does not look like a change.
    static func propertyItems(_ account: JSONObject) -> [String: String] {
        let p = account["properties"]?.objectValue ?? JSONObject()
        let disable = p["disableLocalAuth"]?.bool ?? false
        let pna = p["publicNetworkAccess"]?.nonEmptyText ?? "Enabled"
        return ["property:disableLocalAuth": disable ? "true" : "false",
                "property:publicNetworkAccess": pna,
                "property:networkAcls": networkAcls(p["networkAcls"]?.objectValue).serialized]
    }

    /// `networkAcls` as compact JSON: default action, bypass when given, IP rules and virtual
    /// network rules (sorted, so the order ARM returns them in is no change).
    static func networkAcls(_ acls: JSONObject?) -> JSONValue {
        var m: [(key: String, value: JSONValue)] = [("defaultAction", .string(acls?["defaultAction"]?.nonEmptyText ?? "Allow"))]
        if let b = acls?["bypass"]?.nonEmptyText { m.append(("bypass", .string(b))) }
        let ips = (acls?["ipRules"]?.arrayValue ?? []).compactMap { $0["value"]?.nonEmptyText ?? $0.nonEmptyText }.sorted()
        let vnets = (acls?["virtualNetworkRules"]?.arrayValue ?? []).compactMap { ($0["id"]?.nonEmptyText ?? $0.nonEmptyText).map(ResourceID.canonical) }.sorted()
        m.append(("ipRules", .array(ips.map { .string($0) })))
        m.append(("virtualNetworkRules", .array(vnets.map { .string($0) })))
        return .object(JSONObject(m))
    }

    // MARK: - ARM calls

    /// The ARM calls of one run: bearer, same-origin `nextLink`s, role-name cache, counts.
    struct ARM {
        let collector: RBACSnapshotCollector
        let context: CollectContext
        let auth: (name: String, value: String)
        var requests = 0
        var warnings: [String] = []
        var roleNames: [String: String] = [:]
        var roleLookupFailed = false

        init(collector: RBACSnapshotCollector, context: CollectContext, auth: (name: String, value: String)) {
            self.collector = collector
            self.context = context
            self.auth = auth
        }

        var base: String { context.endpoints.arm }

        mutating func get(_ url: String) throws -> HTTPResponse {
            guard RBACSnapshotCollector.origin(url) == RBACSnapshotCollector.origin(base) else {
                throw CollectError.service(source: collector.name, url: RBACSnapshotCollector.display(url), status: 0, code: nil,
                                           message: "nextLink points at another host than cloud.arm", hint: "refusing to send the token there; check `cloud.arm`")
            }
            let response = try context.http.send(HTTPRequest(url: url, headers: [auth, ("Accept", "application/json")]))
            requests += 1
            return response
        }

        /// Every item of a pageable ARM list (`value` + `nextLink`).
        mutating func list(_ first: String, permission: String) throws -> [JSONObject] {
            var url: String? = first
            var out: [JSONObject] = []
            var seen = Set<String>()
            while let u = url, seen.insert(u).inserted {
                let r = try get(u)
                guard r.status == 200 else { throw collector.armFailure(r, url: u, permission: permission) }
                guard case .object(let o)? = try? JSONParser.parse(r.body), let items = o["value"]?.arrayValue else {
                    throw CollectError.service(source: collector.name, url: RBACSnapshotCollector.display(u), status: 200, code: nil,
                                               message: "the answer has no `value` array", hint: "check `cloud.arm` points at Azure Resource Manager")
                }
                out += items.compactMap(\.objectValue)
                url = o["nextLink"]?.nonEmptyText
            }
            return out
        }

        /// Every OpenAI / AIServices account of the subscriptions.
        mutating func discoverAccounts(_ subscriptions: [String]) throws -> [String] {
            var out: [String] = []
            for sub in subscriptions {
                let url = "\(base)/subscriptions/\(sub)/providers/Microsoft.CognitiveServices/accounts?api-version=\(RBACSnapshotCollector.accountAPIVersion)"
                for a in try list(url, permission: "Microsoft.CognitiveServices/accounts/read") {
                    guard let kind = a["kind"]?.nonEmptyText, RBACSnapshotCollector.openAIKinds.contains(kind.asciiLowercased), let id = a["id"]?.nonEmptyText else { continue }
                    out.append(id)
                }
                context.log("subscription \(sub): \(out.count) Azure OpenAI account\(out.count == 1 ? "" : "s") so far")
            }
            var seen = Set<String>()
            return out.filter { seen.insert(ResourceID.canonical($0)).inserted }
        }

        /// The account's properties and role assignments; nil (with a warning) when the account
        /// is gone.
        mutating func snapshot(account id: String) throws -> AccountSnapshot? {
            let url = "\(base)\(id)?api-version=\(RBACSnapshotCollector.accountAPIVersion)"
            let r = try get(url)
            if r.status == 404 {
                warnings.append("account \(id) was not found (deleted, or a wrong id in `accounts`); its last snapshot is kept")
                return nil
            }
            guard r.status == 200 else { throw collector.armFailure(r, url: url, permission: "Microsoft.CognitiveServices/accounts/read") }
            guard case .object(let account)? = try? JSONParser.parse(r.body) else {
                throw CollectError.service(source: collector.name, url: RBACSnapshotCollector.display(url), status: 200, code: nil,
                                           message: "the account answer is not a JSON object", hint: "")
            }
            var s = AccountSnapshot(scope: ResourceID.canonical(id))
            s.items = RBACSnapshotCollector.propertyItems(account)

            let listURL = "\(base)\(id)/providers/Microsoft.Authorization/roleAssignments?api-version=\(RBACSnapshotCollector.authorizationAPIVersion)&$filter=atScope()"
            for item in try list(listURL, permission: "Microsoft.Authorization/roleAssignments/read") {
                let p = item["properties"]?.objectValue ?? JSONObject()
                guard let aid = item["id"]?.nonEmptyText, let roleDef = p["roleDefinitionId"]?.nonEmptyText else { continue }
                let assignmentID = ResourceID.canonical(aid)
                let scope = p["scope"]?.nonEmptyText.map(ResourceID.canonical) ?? ActivityChanges.roleAssignmentScope(assignmentID)
                let a = Assignment(id: assignmentID, principalId: p["principalId"]?.nonEmptyText?.asciiLowercased ?? "",
                                   principalType: p["principalType"]?.nonEmptyText, roleDefinitionId: roleDef,
                                   role: try roleName(roleDef), scope: scope,
                                   createdBy: p["createdBy"]?.nonEmptyText?.asciiLowercased, createdOn: p["createdOn"]?.nonEmptyText)
                let key = "assignment:" + assignmentID
                s.assignments[key] = a
                s.items[key] = a.stateValue
            }
            return s
        }

        /// The role name of a definition id: built-in GUIDs known, others looked up once per run.
        mutating func roleName(_ definitionID: String) throws -> String {
            let guid = (definitionID.split(separator: "/").last.map(String.init) ?? definitionID).asciiLowercased
            if let known = RoleNames.known[guid] ?? RBACSnapshotCollector.moreRoles[guid] { return known }
            if let cached = roleNames[guid] { return cached }
            var name = "role \(guid)"
            if !roleLookupFailed {
                let url = "\(base)\(definitionID)?api-version=\(RBACSnapshotCollector.authorizationAPIVersion)"
                let r = try get(url)
                if r.status == 200, let n = (try? JSONParser.parse(r.body))?["properties"]?["roleName"]?.nonEmptyText {
                    name = n
                } else {
                    // A name is nice to have: carry on with the GUID, say so once.
                    roleLookupFailed = true
                    let (code, message) = RBACSnapshotCollector.armError(r.body)
                    warnings.append("role definition \(guid): HTTP \(r.status)\(code.map { " \($0)" } ?? "")\(message.isEmpty ? "" : ": \(message)"); "
                        + "roles not built in are shown by GUID (needs Microsoft.Authorization/roleDefinitions/read)")
                }
            }
            roleNames[guid] = name
            return name
        }
    }

    /// Built-in roles of formats.md §11.2 that `RoleNames` does not list.
    static let moreRoles: [String: String] = [
        "64702f94-c441-49e6-a78b-ef80e0188fee": "Azure AI Developer",
        "53ca6127-db72-4b80-b1b0-d745d6d5456d": "Azure AI User",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
        "43d0d8ad-25c7-4714-9337-8ba259a9fe05": "Monitoring Reader",
    ]

    // MARK: - Errors and URLs

    /// ARM's `{"error":{"code","message"}}` (also flat, and PascalCase keys).
    static func armError(_ body: [UInt8]) -> (code: String?, message: String) {
        guard case .object(let o)? = try? JSONParser.parse(body) else {
            return (nil, Redactor.redact(String(decoding: body.prefix(300), as: UTF8.self)))
        }
        let e = o.first("error", "Error")?.objectValue ?? o
        return (e.first("code", "Code")?.nonEmptyText, Redactor.redact(e.first("message", "Message")?.nonEmptyText ?? ""))
    }

    /// The one-line error for a failed ARM call; a 403 names the permission missing.
    func armFailure(_ response: HTTPResponse, url: String, permission: String) -> CollectError {
        let (code, message) = Self.armError(response.body)
        var hint: String
        switch response.status {
        case 403: hint = "the identity lacks '\(permission)' on this scope: assign it a role that includes it (e.g. Reader), then retry"
        case 401: hint = "authentication failed; check the credential (auth:, AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET or az login), the tenant and `cloud.arm`"
        case 404: hint = "check the subscription and account ids in the config"
        default: hint = ""
        }
        if !response.requestIDs.isEmpty { hint += (hint.isEmpty ? "" : " ") + "(\(response.requestIDs.joined(separator: ", ")))" }
        return .service(source: name, url: Self.display(url), status: response.status, code: code, message: message, hint: hint)
    }

    /// `scheme://host[:port]`, lower-cased.
    static func origin(_ url: String) -> String? {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return nil }
        return "\(scheme.lowercased())://\(host.lowercased())" + (c.port.map { ":\($0)" } ?? "")
    }

    /// A URL for messages: without its query (ARM skip tokens are long and say nothing).
    static func display(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}
