import AuditCore
import Foundation

extension HTTPRequest {
    /// The form of `url` that errors and logs may show: user info and fragment removed, and the
    /// value of every credential-looking query parameter (`sig`, `signature`, `code`, `key`,
    /// `token`, `client_secret`, `access_token`, `password`, …; matched after percent-decoding,
    /// case-insensitively) replaced by `[REDACTED]`. Other parameters (`api-version`,
    /// `$filter`, SAS `sv`/`se`/`sp`) stay readable.
    ///
    /// ```swift
    /// HTTPRequest.display("https://a.blob.core.windows.net/c?sv=2022-11-02&sig=abc%2B")
    /// // "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=[REDACTED]"
    /// ```
    public static func display(_ url: String) -> String {
        var s = Substring(url)
        // A fragment never reaches the server, and OAuth puts tokens there (`#access_token=`).
        if let hash = s.firstIndex(of: "#") { s = s[..<hash] }
        var query: Substring?
        if let q = s.firstIndex(of: "?") {
            query = s[s.index(after: q)...]
            s = s[..<q]
        }
        var out = removingUserInfo(s)
        if let query {
            let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
                guard let eq = pair.firstIndex(of: "=") else { return String(pair) }
                let name = pair[..<eq]
                return isSecretParameter(percentDecoded(name)) ? "\(name)=\(Redactor.mask)" : String(pair)
            }
            out += "?" + pairs.joined(separator: "&")
        }
        return out
    }

    /// `scheme://user:pass@host/…` → `scheme://host/…`.
    private static func removingUserInfo(_ s: Substring) -> String {
        guard let schemeEnd = s.range(of: "://") else { return String(s) }
        let rest = s[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "\\" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return String(s) }
        return String(s[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
    }

    private static let secretNames: Set<String> = [
        "sig", "signature", "code", "key", "apikey", "api-key", "api_key", "subscription-key", "token", "access_token",
        "refresh_token", "id_token", "client_secret", "client_assertion", "assertion", "password", "secret",
    ]
    private static let secretFragments = ["sig", "secret", "token", "password", "passwd", "key", "assertion", "credential"]

    /// Exact known names, plus anything whose name contains a credential word (over-redacting
    /// `$skiptoken` costs nothing; leaking a key costs a rotation).
    static func isSecretParameter(_ rawName: String) -> Bool {
        let name = rawName.trimmingCharacters(in: .whitespaces).lowercased()
        return secretNames.contains(name) || secretFragments.contains { name.contains($0) }
    }

    /// Percent-decodes a query component (`+` as a space, invalid escapes kept verbatim).
    static func percentDecoded(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let hi = hexValue(it[it.startIndex]), let lo = hexValue(it[it.startIndex + 1]) {
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                bytes.append(b == UInt8(ascii: "+") ? 0x20 : b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
