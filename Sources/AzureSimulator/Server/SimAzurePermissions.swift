import AuditCore
import Foundation

/// The caller's effective permissions at a scope (`Microsoft.Authorization/permissions`), as
/// `aoai-audit doctor` asks for them:
///
/// ```http
/// GET /subscriptions/{sub}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01
/// GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01
/// ```
///
/// ```json
/// {"value":[{"actions":["*/read"],"notActions":[],"dataActions":[],"notDataActions":[]}]}
/// ```
///
/// One entry per role assignment the simulator holds for the token's `oid` at the scope or
/// above it (inherited from the subscription or resource group), with the role's actions and
/// data actions. A subscription in `SimAzureOptions.activityForbidden` adds
/// `Microsoft.Insights/eventtypes/values/read` to every entry's `notActions`, so the answer
/// agrees with the Activity Log's 403 there. A caller without assignments gets
/// `{"value":[]}`.
extension SimAzureState {
    /// The Activity Log read action (formats.md §1.4).
    static let activityReadAction = "Microsoft.Insights/eventtypes/values/read"

    /// True for `…/providers/Microsoft.Authorization/permissions` (the last provider segment).
    static func isPermissionsPath(_ path: String) -> Bool {
        let lower = path.lowercased()
        let trimmed = lower.hasSuffix("/") ? String(lower.dropLast()) : lower
        return trimmed.hasSuffix("/providers/microsoft.authorization/permissions")
    }

    mutating func handlePermissions(_ request: SimRequest) -> SimResponse {
        guard request.method == "GET" else {
            return armError(405, "MethodNotAllowed", "The requested resource does not support http method '\(request.method)'.")
        }
        if let bad = checkAPIVersion(request) { return bad }
        let token: SimToken
        switch armAuthenticate(request) {
        case .success(let t): token = t
        case .failure(let f): return armUnauthorized(f, allowed: Self.armAudiences)
        }
        let marker = "/providers/microsoft.authorization/permissions"
        guard let r = request.path.lowercased().range(of: marker, options: .backwards) else {
            return armError(404, "InvalidResourceType", "The resource type could not be found.")
        }
        let offset = request.path.lowercased().distance(from: request.path.lowercased().startIndex, to: r.lowerBound)
        let scope = String(request.path.prefix(offset))
        guard !scope.isEmpty else {
            return armError(400, "InvalidScope", "The permissions API needs a subscription, resource group or resource scope.")
        }
        let denied = ResourceID(scope).subscription.map { sub in
            options.activityForbidden.contains { $0.caseInsensitiveEquals(sub) }
        } ?? false
        func list(_ items: [String]) -> String { "[" + items.map(SimFormat.json).joined(separator: ",") + "]" }
        let items = assignments
            .filter { $0.principalID.caseInsensitiveEquals(token.objectID) && Self.isAtOrAbove($0.scope, scope) }
            .sorted { ($0.scope.count, $0.name) < ($1.scope.count, $1.name) }
            .compactMap { a -> String? in
                guard let role = Self.role(a.roleDefinitionID) else { return nil }
                return #"{"actions":"# + list(role.actions) + #","notActions":"# + list(denied ? [Self.activityReadAction] : [])
                    + #","dataActions":"# + list(role.dataActions) + #","notDataActions":[]}"#
            }
        return armPage(items, request: request)
    }
}
