import Foundation

/// Removes secrets from text before it is stored, logged, exported or shown: API keys,
/// `Authorization` / `api-key` values, SAS signatures, client secrets, JWTs and passwords.
///
/// Redaction is deliberately greedy around the markers it knows and leaves everything else
/// untouched, so ids, times and error messages stay readable.
public enum Redactor {
    public static let mask = "[REDACTED]"

    /// Keys whose values are secrets wherever they appear (JSON member names, form or query
    /// parameters, headers). Compared case-insensitively.
    static let secretKeys: Set<String> = [
        "key1", "key2", "key", "apikey", "api-key", "api_key", "authorization", "access_token", "accesstoken",
        "refresh_token", "id_token", "client_secret", "clientsecret", "password", "secret", "sig", "signature",
        "primarykey", "secondarykey", "primarymasterkey", "secondarymasterkey", "connectionstring",
        "sharedaccesskey", "x-api-key", "ocp-apim-subscription-key", "client_assertion",
    ]

    /// Redacts a JSON value recursively: secret members are masked, strings are scrubbed.
    public static func redact(json: JSONValue) -> JSONValue {
        switch json {
        case .string(let s): return .string(redact(s))
        case .array(let items): return .array(items.map(redact(json:)))
        case .object(let o):
            var members = o.members
            for i in members.indices {
                let k = members[i].key.asciiLowercased
                if secretKeys.contains(k) {
                    if case .null = members[i].value { continue }
                    if case .string(let s) = members[i].value, s.isEmpty || s == mask { continue }
                    members[i].value = .string(mask)
                } else {
                    members[i].value = redact(json: members[i].value)
                }
            }
            return .object(JSONObject(members))
        default: return json
        }
    }

    /// Scrubs secrets out of free text: JWTs, bearer tokens, `sig=` and other secret query/form
    /// parameters, `api-key:` headers, and `"key1":"..."`-style JSON fragments inside strings.
    public static func redact(_ text: String) -> String {
        guard mayContainSecret(text) else { return text }
        var s = text
        s = redactJWTs(s)
        s = redactAfterMarkers(s)
        return s
    }

    /// Cheap pre-check so that the common case (no secret) costs one scan.
    static func mayContainSecret(_ text: String) -> Bool {
        let u = text.utf8
        guard u.count >= 8 else { return false }
        var prev: UInt8 = 0
        for b in u {
            // "eyJ" (JWT), '=' (query/form), ':' (header / JSON), "Bearer"
            if b == UInt8(ascii: "=") || b == UInt8(ascii: ":") { return true }
            if prev == UInt8(ascii: "e") && b == UInt8(ascii: "y") { return true }
            prev = b
        }
        return false
    }

    /// Replaces `eyJ…` base64url segments joined by dots (JWS/JWE) with the mask.
    static func redactJWTs(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 3 <= bytes.count, bytes[i] == UInt8(ascii: "e"), bytes[i + 1] == UInt8(ascii: "y"), bytes[i + 2] == UInt8(ascii: "J"),
               i == 0 || !isB64(bytes[i - 1])
            {
                var j = i
                var dots = 0
                while j < bytes.count, isB64(bytes[j]) || bytes[j] == UInt8(ascii: ".") {
                    if bytes[j] == UInt8(ascii: ".") { dots += 1 }
                    j += 1
                }
                if dots >= 1 && j - i >= 16 {
                    out.append(contentsOf: mask.utf8)
                    i = j
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always) static func isB64(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
    }

    /// Markers after which a secret value follows, up to a delimiter.
    static let markers: [(String, String)] = [
        // (lower-cased marker, delimiters that end the value)
        ("sig=", "&\"' \n\r<>"), ("client_secret=", "&\"' \n\r"), ("access_token=", "&\"' \n\r"),
        ("refresh_token=", "&\"' \n\r"), ("password=", "&\"'; \n\r"), ("accountkey=", ";\"' \n\r"),
        ("sharedaccesskey=", ";\"' \n\r"), ("api-key:", "\n\r\","), ("api-key=", "&\"' \n\r"),
        ("authorization:", "\n\r\","), ("bearer ", "\"' \n\r,"), ("ocp-apim-subscription-key:", "\n\r\","),
        ("\"key1\":\"", "\""), ("\"key2\":\"", "\""), ("\"key1\": \"", "\""), ("\"key2\": \"", "\""),
        ("\\\"key1\\\":\\\"", "\\"), ("\\\"key2\\\":\\\"", "\\"), ("\"client_secret\":\"", "\""),
        ("\"access_token\":\"", "\""), ("\"accesstoken\":\"", "\""), ("\"primarykey\":\"", "\""), ("\"secondarykey\":\"", "\""),
        ("\\\"client_secret\\\":\\\"", "\\"), ("\\\"access_token\\\":\\\"", "\\"),
    ]

    static func redactAfterMarkers(_ text: String) -> String {
        let lower = Array(text.asciiLowercased.utf8)
        let bytes = Array(text.utf8)
        guard lower.count == bytes.count else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        outer: while i < bytes.count {
            for (marker, delims) in markers {
                let m = Array(marker.utf8)
                if i + m.count <= lower.count, lower[i] == m[0], Array(lower[i..<(i + m.count)]) == m {
                    out.append(contentsOf: bytes[i..<(i + m.count)])
                    var j = i + m.count
                    // Header values may carry a scheme ("Bearer x", "SharedKey a:b"): skip leading spaces.
                    while j < bytes.count, bytes[j] == 0x20 { out.append(0x20); j += 1 }
                    let d = Set(delims.utf8)
                    var k = j
                    while k < bytes.count, !d.contains(bytes[k]) { k += 1 }
                    if k > j {
                        let value = String(decoding: bytes[j..<k], as: UTF8.self)
                        if value != mask && value.lowercased() != "bearer" && value.lowercased() != "[redacted]" {
                            // "Authorization: Bearer xyz": keep the scheme word, hide the credential.
                            if marker == "authorization:", let space = value.firstIndex(of: " ") {
                                out.append(contentsOf: value[..<space].utf8)
                                out.append(0x20)
                            }
                            out.append(contentsOf: mask.utf8)
                        } else {
                            out.append(contentsOf: bytes[j..<k])
                        }
                    }
                    i = k
                    continue outer
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A URL safe to print: query values of secret parameters masked, user info removed.
    public static func redactURL(_ url: String) -> String {
        var s = url
        if let schemeEnd = s.range(of: "://"), let at = s[schemeEnd.upperBound...].firstIndex(of: "@"),
           !s[schemeEnd.upperBound..<at].contains("/")
        {
            s.removeSubrange(schemeEnd.upperBound...at)
        }
        guard let q = s.firstIndex(of: "?") else { return s }
        let base = s[..<q]
        let query = s[s.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).lowercased()
            if parts.count == 2, name == "sig" || name == "client_secret" || name == "access_token" || name == "api-key" || name == "key" || name == "token" || name == "code" {
                return "\(parts[0])=\(mask)"
            }
            return String(pair)
        }
        return base + "?" + query.joined(separator: "&")
    }
}
