import AuditCore
import Foundation

/// The claims of an Entra access token (formats.md §16) that say who it is for, from whom and
/// how long it lasts — for `doctor` and for token expiry. Decoding reads the payload only and
/// checks no signature. The token itself is never stored, and nothing here prints it.
public struct JWTClaims: Sendable, Equatable, CustomStringConvertible {
    /// `aud`: a string in Entra tokens, an array in some others; always a list here.
    public var aud: [String]
    public var iss: String?
    public var tid: String?
    /// `appid` (v1 tokens) and `azp` (v2 tokens): the client that asked for the token.
    public var appid: String?
    public var azp: String?
    /// `appidacr` / `azpacr`: `0` public client, `1` secret, `2` certificate or managed identity.
    public var appidacr: String?
    public var oid: String?
    public var sub: String?
    /// `upn`, `unique_name` and `preferred_username` (user tokens only).
    public var upn: String?
    public var uniqueName: String?
    public var preferredUsername: String?
    public var roles: [String]
    /// `scp`, split on spaces (delegated tokens only).
    public var scp: [String]
    /// Epoch seconds (ints in tokens, strings when re-emitted in logs — both accepted).
    public var exp: Int64?
    public var nbf: Int64?
    public var iat: Int64?
    /// `idtyp` (`app` for app-only tokens) and `ver` (`1.0` / `2.0`).
    public var idtyp: String?
    public var ver: String?
    /// `xms_mirid`: the managed identity's ARM resource id.
    public var xmsMirid: String?
    /// `xms_cc` (`["cp1"]` for CAE-capable clients).
    public var xmsCC: [String]

    public init(aud: [String] = [], iss: String? = nil, tid: String? = nil, appid: String? = nil, azp: String? = nil, appidacr: String? = nil,
                oid: String? = nil, sub: String? = nil, upn: String? = nil, uniqueName: String? = nil, preferredUsername: String? = nil,
                roles: [String] = [], scp: [String] = [], exp: Int64? = nil, nbf: Int64? = nil, iat: Int64? = nil,
                idtyp: String? = nil, ver: String? = nil, xmsMirid: String? = nil, xmsCC: [String] = [])
    {
        self.aud = aud
        self.iss = iss
        self.tid = tid
        self.appid = appid
        self.azp = azp
        self.appidacr = appidacr
        self.oid = oid
        self.sub = sub
        self.upn = upn
        self.uniqueName = uniqueName
        self.preferredUsername = preferredUsername
        self.roles = roles
        self.scp = scp
        self.exp = exp
        self.nbf = nbf
        self.iat = iat
        self.idtyp = idtyp
        self.ver = ver
        self.xmsMirid = xmsMirid
        self.xmsCC = xmsCC
    }

    /// The client id: `appid` (v1) else `azp` (v2).
    public var clientID: String? { appid ?? azp }
    /// The signed-in user's name, when the token is a user's.
    public var userName: String? { upn ?? uniqueName ?? preferredUsername }
    /// An app-only token: `idtyp: app`, or no `scp`.
    public var isAppOnly: Bool { idtyp == "app" || scp.isEmpty }
    /// Expiry as UTC microseconds.
    public var expiresOnMicros: Int64? { exp.map { $0 * Timestamp.microsPerSecond } }

    public var description: String {
        var parts: [String] = []
        if !aud.isEmpty { parts.append("aud=\(aud.joined(separator: ","))") }
        if let tid { parts.append("tid=\(tid)") }
        if let clientID { parts.append("client=\(clientID)") }
        if let oid { parts.append("oid=\(oid)") }
        if let exp { parts.append("exp=\(Timestamp.isoSeconds(exp * Timestamp.microsPerSecond))") }
        return "JWTClaims(" + parts.joined(separator: " ") + ")"
    }

    /// Why a string is not a readable JWT. Never holds the string.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "not a JWT: \(reason)" }
    }

    /// Decodes the payload of a compact JWS (`header.payload.signature`, base64url). A
    /// leading `Bearer ` is ignored.
    public static func decode(_ token: String) throws(DecodeError) -> JWTClaims {
        var t = token.trimmingSpaces
        if t.lowercased().hasPrefix("bearer ") { t = String(t.dropFirst(7)).trimmingSpaces }
        let segments = t.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            let looksLikeKey = !t.contains(".") && t.count >= 32 && t.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
            throw DecodeError(reason: "expected three dot-separated base64url segments, found \(segments.count)" + (looksLikeKey ? " (this looks like an API key, not a token)" : ""))
        }
        guard let payload = base64URLDecode(segments[1]) else { throw DecodeError(reason: "the payload is not base64url") }
        guard let json = try? JSONParser.parse(payload), let o = json.objectValue else { throw DecodeError(reason: "the payload is not a JSON object") }
        return JWTClaims(object: o)
    }

    init(object o: JSONObject) {
        func str(_ k: String) -> String? { o[k]?.nonEmptyText }
        func list(_ k: String) -> [String] {
            guard let v = o[k] else { return [] }
            if let a = v.arrayValue { return a.compactMap(\.nonEmptyText) }
            return v.nonEmptyText.map { [$0] } ?? []
        }
        self.init(
            aud: list("aud"), iss: str("iss"), tid: str("tid"), appid: str("appid"), azp: str("azp"), appidacr: str("appidacr") ?? str("azpacr"),
            oid: str("oid"), sub: str("sub"), upn: str("upn"), uniqueName: str("unique_name"), preferredUsername: str("preferred_username"),
            roles: list("roles"), scp: (str("scp") ?? "").split(separator: " ").map(String.init),
            exp: o["exp"]?.int64, nbf: o["nbf"]?.int64, iat: o["iat"]?.int64,
            idtyp: str("idtyp"), ver: str("ver"), xmsMirid: str("xms_mirid"), xmsCC: list("xms_cc"))
    }

    /// base64url without padding (RFC 7515 §2) → bytes.
    static func base64URLDecode(_ s: Substring) -> [UInt8]? {
        var b64 = String(s).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !b64.contains("=") || b64.hasSuffix("=") else { return nil }
        while b64.count % 4 != 0 { b64 += "=" }
        return Data(base64Encoded: b64).map { [UInt8]($0) }
    }
}
