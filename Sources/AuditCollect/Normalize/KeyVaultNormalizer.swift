import Foundation
import AuditCore

/// Normalizes Key Vault `AuditEvent` resource-log records and Key Vault Event Grid events into
/// changes (a new secret version is how a rotated Azure OpenAI key reaches the apps).
public enum KeyVaultNormalizer {
    public struct Failure: Error, Sendable { public var reason: String }

    /// Operations that change what apps read from the vault.
    static let changingOperations: Set<String> = [
        "secretset", "secretupdate", "secretdelete", "secretrestore", "secretrecover", "secretpurge",
        "keyrotate", "keyrotateifdue", "keycreate", "keyimport", "keyupdate", "keydelete",
        "vaultaccesspolicychangedeventgridnotification", "vaultput", "vaultpatch",
    ]

    public static func isAuditEvent(_ o: JSONObject) -> Bool {
        o["category"]?.text?.caseInsensitiveEquals("AuditEvent") == true
    }

    public static func isEventGrid(_ o: JSONObject) -> Bool {
        o["eventType"]?.text?.hasPrefix("Microsoft.KeyVault.") == true
    }

    /// A change for a changing operation; nil for reads (`SecretGet`, `SecretList`, …) and
    /// failed requests, which change nothing.
    public static func change(auditEvent o: JSONObject) throws(Failure) -> ChangeRecord? {
        guard let timeText = o["time"]?.nonEmptyText, let time = Timestamp.parse(timeText) else { throw Failure(reason: "missing or unreadable time") }
        guard let op = o["operationName"]?.localizedValue else { throw Failure(reason: "missing operationName") }
        guard changingOperations.contains(op.asciiLowercased) else { return nil }
        let props = o["properties"]?.embeddedObject ?? JSONObject()
        // resultType is "Success" even for 4xx: use httpStatusCode (formats.md §13.2).
        if let code = props["httpStatusCode"]?.int64, code >= 400 { return nil }
        let vault = ResourceID(o["resourceId"]?.nonEmptyText ?? "")
        let claims = o["identity"]?["claim"]?.objectValue ?? o["identity"]?["claims"]?.objectValue ?? JSONObject()
        let oid = claims.first("oid", "http://schemas.microsoft.com/identity/claims/objectidentifier")?.nonEmptyText?.asciiLowercased
        let actor = claims.first("upn", "unique_name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "appid")?.nonEmptyText ?? oid
        let objectURI = props["id"]?.nonEmptyText ?? props["requestUri"]?.nonEmptyText ?? ""
        let (name, version) = secretNameAndVersion(objectURI)
        let what = name.map { "secret \($0)" } ?? "vault object"
        let ver = version.map { " (version \($0.prefix(8)))" } ?? ""
        let summary = "\(op): \(what)\(ver) in \(vault.shortName)" + (actor.map { " by \($0)" } ?? "")
        var detail: [(key: String, value: JSONValue)] = [("operation", .string(op))]
        if let name { detail.append(("secret_name", .string(name))) }  // not "secret": the redactor masks that key
        if let version { detail.append(("version", .string(version))) }
        if let ci = props["clientInfo"]?.nonEmptyText { detail.append(("client_info", .string(ci))) }
        let corr = o["correlationId"]?.nonEmptyText
        return ChangeRecord(
            dedupeKey: "keyvault:" + StableHash.hex(vault.canonical, op, String(time), objectURI, oid ?? ""), timeUs: time,
            kind: ChangeKind.keyvaultSecretSet, resourceId: vault.canonical, actor: actor.map(Redactor.redact),
            summary: Redactor.redact(summary), detail: Redactor.redact(json: .object(JSONObject(detail))).serialized,
            sourceKind: "keyvault", sourceId: corr ?? objectURI, correlationId: corr, principalId: oid)
    }

    /// An Event Grid `Microsoft.KeyVault.SecretNewVersionCreated` (and similar) event.
    public static func change(eventGrid o: JSONObject) throws(Failure) -> ChangeRecord? {
        guard let type = o["eventType"]?.nonEmptyText else { throw Failure(reason: "missing eventType") }
        guard type.hasSuffix("NewVersionCreated") || type.hasSuffix("VaultAccessPolicyChanged") else { return nil }
        guard let t = o["eventTime"]?.nonEmptyText, let time = Timestamp.parse(t) else { throw Failure(reason: "missing or unreadable eventTime") }
        // The documented sample has padded keys ("ObjectName ", " Version"): trim and match case-insensitively.
        var data: [String: String] = [:]
        for m in o["data"]?.objectValue?.members ?? [] { data[m.key.trimmingSpaces.asciiLowercased] = m.value.nonEmptyText }
        let vault = ResourceID(o["topic"]?.nonEmptyText ?? "")
        let name = data["objectname"] ?? o["subject"]?.nonEmptyText
        let version = data["version"]
        let summary = "\(type.replacingOccurrences(of: "Microsoft.KeyVault.", with: "")): \(name ?? "object")" + (version.map { " (version \($0.prefix(8)))" } ?? "") + " in \(vault.shortName)"
        return ChangeRecord(
            dedupeKey: "keyvault-eventgrid:" + (o["id"]?.nonEmptyText ?? StableHash.hex(type, t, name ?? "")), timeUs: time,
            kind: ChangeKind.keyvaultSecretSet, resourceId: vault.canonical, actor: nil, summary: Redactor.redact(summary),
            detail: Redactor.redact(json: .object(o)).serialized, sourceKind: "keyvault", sourceId: o["id"]?.nonEmptyText,
            correlationId: nil)
    }

    /// `https://v.vault.azure.net/secrets/name/version` → (name, version).
    static func secretNameAndVersion(_ uri: String) -> (String?, String?) {
        let path = uri.split(separator: "?").first.map(String.init) ?? uri
        let parts = path.split(separator: "/").map(String.init)
        guard let i = parts.firstIndex(where: { $0 == "secrets" || $0 == "keys" || $0 == "certificates" }), i + 1 < parts.count else { return (nil, nil) }
        return (parts[i + 1], i + 2 < parts.count ? parts[i + 2] : nil)
    }
}
