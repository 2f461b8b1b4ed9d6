import AuditCore
import Foundation

/// Turns Entra ID token-endpoint errors (formats.md §7.1) into one-line messages that name the
/// AADSTS code and say what to check. Nothing here ever sees a secret: callers pass the
/// tenant and the client id, and every text taken from a response is scrubbed first.
public enum AuthErrors {
    /// What to check for the AADSTS codes a service principal or a federated credential meets
    /// most. Codes are matched without the `AADSTS` prefix.
    static let hints: [String: String] = [
        "7000215": "invalid client secret: use the secret's Value, not its ID, and check it has not expired (AZURE_CLIENT_SECRET)",
        "7000222": "the client secret has expired: create a new secret for the app registration and update AZURE_CLIENT_SECRET",
        "700016": "application not found in the tenant: check AZURE_CLIENT_ID, and that the app is registered in (or consented to) this tenant",
        "90002": "tenant not found: check AZURE_TENANT_ID or `tenant:` in the config, and that the login endpoint matches the cloud",
        "70011": "invalid scope: the scope must be one resource ending in /.default; check the `cloud:` endpoints in the config",
        "7000218": "the request carried no client secret or assertion: check AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE",
        "70021": "no federated credential of the app matches the token's issuer, subject and audience (api://AzureADTokenExchange)",
        "700213": "no federated credential of the app matches the token's subject: check the service account named in the federated credential",
        "700024": "the federated token is expired or not yet valid: check that AZURE_FEDERATED_TOKEN_FILE is refreshed (projected token volume)",
    ]

    /// The what-to-check hint for an AADSTS code (`"AADSTS7000215"` or `"7000215"`), if known.
    public static func hint(forAADSTS code: String) -> String? {
        let digits = code.hasPrefix("AADSTS") ? String(code.dropFirst(6)) : code
        return hints[digits]
    }

    /// One line for a failed token request: `AADSTS<code>: <hint or Entra's first line>`,
    /// the client and tenant, the HTTP status and Entra's `error`, and the correlation id when
    /// Entra gave one. `secrets` are literal values (client secret, assertion) that must not
    /// appear even if a misbehaving server echoes them.
    static func entraMessage(status: Int, body: [UInt8], tenant: String, clientID: String, endpoint: String, secrets: [String]) -> String {
        let who = "client \(clientID) in tenant \(tenant)"
        guard let json = try? JSONParser.parse(body), let object = json.objectValue else {
            let line = firstLine(String(decoding: body, as: UTF8.self))
            let shown = line.isEmpty ? "" : ": " + scrub(line, secrets: secrets).prefixForDisplay(200)
            return "token request for \(who) failed: HTTP \(status) from \(endpoint)\(shown); check the login endpoint (`cloud:` in the config) and any proxy"
        }
        let errorName = object["error"]?.nonEmptyText
        let description = object["error_description"]?.nonEmptyText.map { scrub(firstLine($0), secrets: secrets) }
        var code = object["error_codes"]?.arrayValue?.first?.int64.map { "AADSTS\($0)" }
        if code == nil, let description { code = aadstsCode(in: description) }
        var text: String
        if let code, let hint = hint(forAADSTS: code) {
            text = "\(code): \(hint)"
        } else if let description {
            text = description.prefixForDisplay(300)
            if let code, !text.contains(code) { text = "\(code): " + text }
        } else {
            text = code ?? errorName.map { scrub($0, secrets: secrets) } ?? "no error description"
        }
        var tail = "HTTP \(status)"
        if let errorName { tail += " " + scrub(errorName, secrets: secrets).prefixForDisplay(60) }
        if let correlation = object["correlation_id"]?.nonEmptyText, isPlainID(correlation) { tail += ", correlation id \(correlation)" }
        return "token request for \(who) failed: \(text) (\(tail))"
    }

    /// `AADSTS` followed by digits, the first one in `text`.
    static func aadstsCode(in text: String) -> String? {
        guard let r = text.range(of: "AADSTS") else { return nil }
        let digits = text[r.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return digits.isEmpty ? nil : "AADSTS" + digits
    }

    /// The first line of a server text: up to a line break or Entra's ` Trace ID:` suffix.
    static func firstLine(_ text: String) -> String {
        var s = Substring(text.trimmingSpaces)
        if let nl = s.firstIndex(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) { s = s[..<nl] }
        if let trace = s.range(of: "Trace ID") { s = s[..<trace.lowerBound] }
        return s.trimmingSpaces
    }

    /// Redactor's rules plus the literal secrets the caller knows about.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var s = Redactor.redact(text)
        for secret in secrets where secret.count >= 4 {
            s = s.replacingOccurrences(of: secret, with: Redactor.mask)
        }
        return s
    }

    /// A GUID-like id (hex digits and dashes) — safe to print.
    static func isPlainID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isHexDigit || $0 == "-" }
    }

    /// The description of a transport failure, with the HTTP client's own (secret-free) text.
    static func transportMessage(_ error: HTTPError, what: String) -> String {
        "cannot reach \(what): \(error.description)"
    }
}
