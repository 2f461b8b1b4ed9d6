import AuditCore
import AuditNet
import AuditStore
import Foundation

/// Shared pieces of the Azure collectors: query encoding, ARM/Storage error bodies turned
/// into one line that says what to do, and same-origin checks for `nextLink`s (a bearer
/// token is never sent to a host the config did not name).
enum AzureResponses {
    /// RFC 3986 unreserved characters stay; everything else is percent-encoded (for query values).
    static func encodeQueryValue(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `scheme://host[:port]` of a URL, lower-cased, for same-origin checks.
    static func origin(_ url: String) -> String? {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return nil }
        return "\(scheme.lowercased())://\(host.lowercased())" + (c.port.map { ":\($0)" } ?? "")
    }

    /// ARM's `{"error":{"code","message"}}` (also flat `{"code","message"}` and PascalCase keys).
    static func armError(_ body: [UInt8]) -> (code: String?, message: String) {
        guard let v = try? JSONParser.parse(body), case .object(let o) = v else {
            return (nil, String(decoding: body.prefix(300), as: UTF8.self))
        }
        let e: JSONObject
        if case .object(let inner)? = o.first("error", "Error") { e = inner } else { e = o }
        return (e.first("code", "Code")?.nonEmptyText, e.first("message", "Message")?.nonEmptyText ?? "")
    }

    /// Storage's `<Error><Code>…</Code><Message>…</Message></Error>` (BOM tolerated), or the
    /// `x-ms-error-code` header.
    static func storageError(_ response: HTTPResponse) -> (code: String?, message: String) {
        let text = response.text
        func element(_ name: String) -> String? {
            guard let a = text.range(of: "<\(name)>"), let b = text.range(of: "</\(name)>", range: a.upperBound..<text.endIndex) else { return nil }
            return String(text[a.upperBound..<b.lowerBound])
        }
        let code = element("Code") ?? response[header: "x-ms-error-code"]
        // The message carries RequestId/Time lines: keep the first line.
        let message = element("Message").map { String($0.split(separator: "\n", maxSplits: 1).first ?? "") } ?? ""
        return (code, message)
    }

    /// The one-line error for a failed ARM call, with what to do for the codes users meet.
    static func armFailure(source: String, url: String, response: HTTPResponse, permission: String) -> CollectError {
        let (code, message) = armError(response.body)
        var hint: String
        switch (response.status, code ?? "") {
        case (403, _):
            hint = "the identity lacks permission '\(permission)' on this scope: assign it a role that includes it (e.g. Reader or Monitoring Reader), then retry"
        case (401, "ExpiredAuthenticationToken"):
            hint = "the token expired; check the machine clock and the credential (az login / AZURE_CLIENT_SECRET)"
        case (401, "InvalidAuthenticationTokenAudience"):
            hint = "the token was issued for another audience; check `cloud.arm` in the config matches the cloud the credential belongs to"
        case (401, _):
            hint = "authentication failed; check the credential (auth:, AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET or az login) and the tenant"
        case (404, _):
            hint = "check the subscription or resource id in the config"
        case (400, _):
            hint = "the request was refused as invalid"
        default:
            hint = ""
        }
        if !response.requestIDs.isEmpty { hint += (hint.isEmpty ? "" : " ") + "(\(response.requestIDs.joined(separator: ", ")))" }
        return .service(source: source, url: pathOnly(url), status: response.status, code: code, message: Redactor.redact(message), hint: hint)
    }

    /// The one-line error for a failed Storage call.
    static func storageFailure(source: String, url: String, response: HTTPResponse) -> CollectError {
        let (code, message) = storageError(response)
        let hint: String
        switch (response.status, code ?? "") {
        case (403, "AuthorizationPermissionMismatch"):
            hint = "the identity needs the 'Storage Blob Data Reader' role on the container (Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read); ARM Owner/Contributor is not enough"
        case (403, "AuthenticationFailed"):
            hint = "the SAS was refused: check it is not expired and grants read and list (sp=rl) on this container"
        case (403, "KeyBasedAuthenticationNotPermitted"):
            hint = "the storage account disallows SAS/shared keys: drop sas_env and use an Entra identity with Storage Blob Data Reader"
        case (401, _):
            hint = "the bearer token was refused; check the credential and that the token is for https://storage.azure.com"
        case (404, "ContainerNotFound"):
            hint = "check `container` and `account_url` in the config"
        default:
            hint = ""
        }
        return .service(source: source, url: pathOnly(url), status: response.status, code: code, message: Redactor.redact(message), hint: hint)
    }

    /// The URL without its query (filters, markers and SAS parameters make error lines long
    /// and say nothing the message does not).
    static func pathOnly(_ url: String) -> String {
        HTTPRequest.display(String(url.prefix { $0 != "?" }))
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
