import AuditCore
import Foundation

/// A role assignment the simulator holds.
public struct SimRoleAssignment: Sendable, Equatable {
    /// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    public var id: String
    /// The assignment's GUID.
    public var name: String
    /// Where it lives: a subscription, resource group or account id.
    public var scope: String
    /// The role definition's GUID.
    public var roleDefinitionID: String
    /// The principal's object id.
    public var principalID: String
    /// `User`, `Group` or `ServicePrincipal`.
    public var principalType: String
    /// When it was made, UTC microseconds.
    public var createdOn: Int64
    /// Object id of whoever made it.
    public var createdBy: String

    /// An assignment of `roleDefinitionID` to `principalID` at `scope`.
    public init(
        id: String, name: String, scope: String, roleDefinitionID: String, principalID: String, principalType: String, createdOn: Int64,
        createdBy: String
    ) {
        self.id = id
        self.name = name
        self.scope = scope
        self.roleDefinitionID = roleDefinitionID
        self.principalID = principalID
        self.principalType = principalType
        self.createdOn = createdOn
        self.createdBy = createdBy
    }
}

/// A built-in role definition (formats.md §11.2).
struct SimRoleDefinition {
    var id: String
    var name: String
    var description: String
    var actions: [String]
    var dataActions: [String]
}

/// Role assignments and role definitions (formats.md §11): list at a scope with `atScope()`
/// (at or above: inherited from the subscription and resource group), no filter (above and
/// below), `principalId eq '…'` and `assignedTo('…')`; one assignment; built-in definitions.
extension SimAzureState {
    static let openAIUser = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
    static let openAIContributor = "a001fd3d-188f-4b5d-821b-7da978bf7442"
    static let cognitiveServicesUser = "a97b65f3-24c7-4388-baec-2e87135dc908"
    static let cognitiveServicesContributor = "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68"
    static let aiDeveloper = "64702f94-c441-49e6-a78b-ef80e0188fee"
    static let reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

    static let roles: [SimRoleDefinition] = [
        .init(
            id: openAIUser, name: "Cognitive Services OpenAI User", description: "Read access to view files, models, deployments. The ability to create completion and embedding calls.",
            actions: ["Microsoft.CognitiveServices/*/read", "Microsoft.Authorization/roleAssignments/read", "Microsoft.Authorization/roleDefinitions/read"],
            dataActions: ["Microsoft.CognitiveServices/accounts/OpenAI/*/read", "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action", "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action", "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action"]),
        .init(
            id: openAIContributor, name: "Cognitive Services OpenAI Contributor", description: "Full access including the ability to fine-tune, deploy and generate text",
            actions: ["Microsoft.CognitiveServices/*/read", "Microsoft.CognitiveServices/accounts/deployments/write", "Microsoft.CognitiveServices/accounts/deployments/delete", "Microsoft.Authorization/roleAssignments/read", "Microsoft.Authorization/roleDefinitions/read"],
            dataActions: ["Microsoft.CognitiveServices/accounts/OpenAI/*"]),
        .init(
            id: cognitiveServicesUser, name: "Cognitive Services User", description: "Lets you read and list keys of Cognitive Services.",
            actions: ["Microsoft.CognitiveServices/*/read", "Microsoft.CognitiveServices/accounts/listkeys/action", "Microsoft.Insights/alertRules/read", "Microsoft.Insights/diagnosticSettings/read", "Microsoft.Insights/logDefinitions/read", "Microsoft.Insights/metricdefinitions/read", "Microsoft.Insights/metrics/read"],
            dataActions: ["Microsoft.CognitiveServices/*"]),
        .init(
            id: cognitiveServicesContributor, name: "Cognitive Services Contributor", description: "Lets you create, read, update, delete and manage keys of Cognitive Services.",
            actions: ["Microsoft.Authorization/*/read", "Microsoft.CognitiveServices/*", "Microsoft.Features/features/read", "Microsoft.Features/providers/features/read", "Microsoft.Insights/alertRules/*", "Microsoft.Insights/diagnosticSettings/*", "Microsoft.Insights/logDefinitions/read", "Microsoft.Insights/metricdefinitions/read", "Microsoft.Insights/metrics/read", "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"],
            dataActions: []),
        .init(
            id: aiDeveloper, name: "Azure AI Developer", description: "Can perform all actions within an Azure AI resource besides managing the resource itself.",
            actions: ["Microsoft.MachineLearningServices/workspaces/*/read", "Microsoft.CognitiveServices/*/read"],
            dataActions: ["Microsoft.CognitiveServices/accounts/OpenAI/*", "Microsoft.CognitiveServices/accounts/SpeechServices/*", "Microsoft.CognitiveServices/accounts/ContentSafety/*"]),
        .init(
            id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", name: "Owner", description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
            actions: ["*"], dataActions: []),
        .init(
            id: "b24988ac-6180-42a0-ab88-20f7382dd24c", name: "Contributor", description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
            actions: ["*"], dataActions: []),
        .init(id: reader, name: "Reader", description: "View all resources, but does not allow you to make any changes.", actions: ["*/read"], dataActions: []),
        .init(
            id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", name: "User Access Administrator", description: "Lets you manage user access to Azure resources.",
            actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], dataActions: []),
        .init(
            id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", name: "Storage Blob Data Reader", description: "Allows for read access to Azure Storage blob containers and data",
            actions: ["Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"],
            dataActions: ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]),
        .init(
            id: "43d0d8ad-25c7-4714-9337-8ba259a9fe05", name: "Monitoring Reader", description: "Can read all monitoring data.",
            actions: ["*/read", "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"], dataActions: []),
    ]

    /// Roles whose data actions cover chat completions on an Azure OpenAI account.
    static let dataPlaneRoles: Set<String> = [openAIUser, openAIContributor, cognitiveServicesUser, aiDeveloper]

    /// A role by GUID, full definition id, or name.
    static func role(_ text: String) -> SimRoleDefinition? {
        let key = String(text.split(separator: "/").last ?? "").lowercased()
        return roles.first { $0.id == key } ?? roles.first { $0.name.caseInsensitiveEquals(text) }
    }

    /// True when `scope` is `target` or an ancestor of it (subscription, resource group).
    static func isAtOrAbove(_ scope: String, _ target: String) -> Bool {
        let s = ResourceID.canonical(scope), t = ResourceID.canonical(target)
        return s == t || s == "/" || t.hasPrefix(s + "/")
    }

    /// Adds an assignment (no duplicate of the same principal, role and scope); returns its id.
    @discardableResult
    mutating func assign(scope: String, role: String, principal: String, principalType: String, createdBy: String, createdOn: Int64) -> String {
        var s = scope
        while s.count > 1, s.hasSuffix("/") { s.removeLast() }
        if let existing = assignments.first(where: {
            ResourceID.canonical($0.scope) == ResourceID.canonical(s) && $0.roleDefinitionID == role && $0.principalID.caseInsensitiveEquals(principal)
        }) {
            return existing.id
        }
        let name = SimFormat.guid(for: ResourceID.canonical(s) + "|" + role + "|" + principal.lowercased())
        let id = s + "/providers/Microsoft.Authorization/roleAssignments/" + name
        assignments.append(
            SimRoleAssignment(
                id: id, name: name, scope: s, roleDefinitionID: role, principalID: principal, principalType: principalType, createdOn: createdOn,
                createdBy: createdBy))
        return id
    }

    /// Whether `principal` holds a role with data actions on chat completions at `accountID` or above.
    func hasDataPlaneRole(_ principal: String, accountID: String) -> Bool {
        assignments.contains {
            Self.dataPlaneRoles.contains($0.roleDefinitionID) && $0.principalID.caseInsensitiveEquals(principal)
                && Self.isAtOrAbove($0.scope, accountID)
        }
    }

    func roleDefinitionPath(_ role: String, scope: String) -> String {
        let sub = ResourceID(scope).subscription
        return (sub.map { "/subscriptions/\($0)" } ?? "") + "/providers/Microsoft.Authorization/roleDefinitions/" + role
    }

    func renderAssignment(_ a: SimRoleAssignment) -> String {
        let created = SimFormat.json(SimFormat.iso7(a.createdOn))
        return #"{"properties":{"roleDefinitionId":"# + SimFormat.json(roleDefinitionPath(a.roleDefinitionID, scope: a.scope))
            + #","principalId":"# + SimFormat.json(a.principalID) + #","principalType":"# + SimFormat.json(a.principalType)
            + #","scope":"# + SimFormat.json(a.scope) + #","condition":null,"conditionVersion":null,"createdOn":"# + created
            + #","updatedOn":"# + created + #","createdBy":"# + SimFormat.json(a.createdBy) + #","updatedBy":"# + SimFormat.json(a.createdBy)
            + #","delegatedManagedIdentityResourceId":null,"description":null},"id":"# + SimFormat.json(a.id)
            + #","type":"Microsoft.Authorization/roleAssignments","name":"# + SimFormat.json(a.name) + "}"
    }

    func renderRole(_ r: SimRoleDefinition, scope: String) -> String {
        func list(_ items: [String]) -> String { "[" + items.map(SimFormat.json).joined(separator: ",") + "]" }
        return #"{"properties":{"roleName":"# + SimFormat.json(r.name) + #","type":"BuiltInRole","description":"# + SimFormat.json(r.description)
            + #","assignableScopes":["/"],"permissions":[{"actions":"# + list(r.actions) + #","notActions":[],"dataActions":"# + list(r.dataActions)
            + #","notDataActions":[]}],"createdOn":"2015-02-02T21:55:09.8806423Z","updatedOn":"2024-05-14T15:00:00.0000000Z","createdBy":null,"updatedBy":null},"id":"#
            + SimFormat.json(roleDefinitionPath(r.id, scope: scope)) + #","type":"Microsoft.Authorization/roleDefinitions","name":"# + SimFormat.json(r.id)
            + "}"
    }

    mutating func handleRBAC(_ request: SimRequest) -> SimResponse {
        guard request.method == "GET" else {
            return armError(405, "MethodNotAllowed", "The requested resource does not support http method '\(request.method)'.")
        }
        if let bad = checkAPIVersion(request) { return bad }
        switch armAuthenticate(request) {
        case .success: break
        case .failure(let f): return armUnauthorized(f, allowed: Self.armAudiences)
        }
        let marker = "/providers/microsoft.authorization/"
        guard let r = request.path.lowercased().range(of: marker, options: .backwards) else {
            return armError(404, "InvalidResourceType", "The resource type could not be found.")
        }
        let offset = request.path.lowercased().distance(from: request.path.lowercased().startIndex, to: r.lowerBound)
        let scope = String(request.path.prefix(offset))
        let rest = request.path.dropFirst(offset + marker.count).split(separator: "/").map(String.init)
        guard let kind = rest.first?.lowercased() else { return armError(404, "InvalidResourceType", "The resource type could not be found.") }
        switch (kind, rest.count) {
        case ("roleassignments", 1): return listAssignments(request, scope: scope.isEmpty ? "/" : scope)
        case ("roleassignments", 2):
            guard let a = assignments.first(where: { $0.name.caseInsensitiveEquals(rest[1]) && ResourceID.canonical($0.scope) == ResourceID.canonical(scope) }) else {
                return armError(404, "RoleAssignmentNotFound", "The role assignment '\(rest[1])' is not found.")
            }
            return SimResponse.json(200, renderAssignment(a))
        case ("roledefinitions", 1):
            var roles = Self.roles
            if let filter = SimFormat.query(request, "$filter"), !filter.isEmpty {
                guard let clauses = Self.parseFilter(filter) else {
                    return armError(400, "BadRequest", "The filter '\(filter)' is not supported.")
                }
                for clause in clauses {
                    switch clause {
                    case .compare(let field, "eq", let value) where field.lowercased() == "rolename":
                        roles = roles.filter { $0.name.caseInsensitiveEquals(value) }
                    case .compare(let field, "eq", let value) where field.lowercased() == "type":
                        if !value.caseInsensitiveEquals("BuiltInRole") { roles = [] }
                    case .call(let name, _) where name.lowercased() == "atscopeandbelow":
                        continue
                    default:
                        return armError(400, "BadRequest", "The filter '\(filter)' is not supported.")
                    }
                }
            }
            return armPage(roles.map { renderRole($0, scope: scope) }, request: request)
        case ("roledefinitions", 2):
            guard let role = Self.roles.first(where: { $0.id.caseInsensitiveEquals(rest[1]) }) else {
                return armError(404, "RoleDefinitionDoesNotExist", "The specified role definition with ID '\(rest[1])' does not exist.")
            }
            return SimResponse.json(200, renderRole(role, scope: scope))
        default:
            return armError(404, "InvalidResourceType", "The resource type '\(rest.joined(separator: "/"))' could not be found in the namespace 'Microsoft.Authorization'.")
        }
    }

    func listAssignments(_ request: SimRequest, scope: String) -> SimResponse {
        var atScope = false
        var principal: String?
        if let filter = SimFormat.query(request, "$filter"), !filter.trimmingSpaces.isEmpty {
            let unsupported = armError(
                400, "UnsupportedQuery",
                "The filter '\(filter)' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'.")
            guard let clauses = Self.parseFilter(filter) else { return unsupported }
            for clause in clauses {
                switch clause {
                case .call(let name, let args) where name.lowercased() == "atscope" && args.isEmpty: atScope = true
                case .call(let name, let args) where name.lowercased() == "assignedto" && args.count == 1: principal = args[0]
                case .compare(let field, "eq", let value) where field.lowercased() == "principalid": principal = value
                default: return unsupported
                }
            }
        }
        let items = assignments.filter { a in
            if let principal, !a.principalID.caseInsensitiveEquals(principal) { return false }
            if Self.isAtOrAbove(a.scope, scope) { return true }
            return !atScope && Self.isAtOrAbove(scope, a.scope)
        }
        .sorted { ($0.scope.count, $0.name) < ($1.scope.count, $1.name) }
        return armPage(items.map(renderAssignment), request: request)
    }
}

// MARK: - Public API

extension SimAzure {
    /// Role assignments at `scope` and above it (as `atScope()` lists them), or every one.
    public func roleAssignments(scope: String? = nil) -> [SimRoleAssignment] {
        locked { s in s.assignments.filter { a in scope.map { SimAzureState.isAtOrAbove(a.scope, $0) } ?? true } }
    }

    /// Assigns a role.
    ///
    /// - Parameters:
    ///   - scope: a subscription, resource group or account id.
    ///   - role: a role GUID, a role definition id, or a built-in role name
    ///     (`Cognitive Services OpenAI User`).
    ///   - principalID: the principal's object id.
    ///   - principalType: `ServicePrincipal`, `User` or `Group`.
    /// - Returns: the assignment's id (`{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`),
    ///   or nil when the role is unknown.
    @discardableResult
    public func addRoleAssignment(scope: String, role: String, principalID: String, principalType: String = "ServicePrincipal") -> String? {
        guard let definition = SimAzureState.role(role) else { return nil }
        return locked { s in
            s.assign(
                scope: scope, role: definition.id, principal: principalID, principalType: principalType, createdBy: s.options.clientObjectID,
                createdOn: s.now)
        }
    }

    /// Removes an assignment by id or GUID name (no tombstone is left, as in Azure).
    ///
    /// - Returns: false when there was none.
    @discardableResult
    public func removeRoleAssignment(id: String) -> Bool {
        locked { s in
            let before = s.assignments.count
            s.assignments.removeAll { $0.id.caseInsensitiveEquals(id) || $0.name.caseInsensitiveEquals(id) }
            return s.assignments.count < before
        }
    }
}
