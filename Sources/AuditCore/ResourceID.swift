/// ARM resource ids: canonical form and their parts.
public struct ResourceID: Sendable, Equatable {
    /// Lower-cased, no trailing slash.
    public let canonical: String
    public let subscription: String?
    public let resourceGroup: String?
    public let provider: String?
    public let type: String?
    public let name: String?

    public init(_ raw: String) {
        var s = raw.trimmingSpaces.asciiLowercased
        while s.count > 1, s.hasSuffix("/") { s.removeLast() }
        canonical = s
        let parts = s.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var sub: String?, rg: String?, prov: String?, type: String?, name: String?
        var i = 0
        while i < parts.count {
            let p = parts[i]
            if p == "subscriptions", i + 1 < parts.count { sub = parts[i + 1]; i += 2; continue }
            if p == "resourcegroups", i + 1 < parts.count { rg = parts[i + 1]; i += 2; continue }
            if p == "providers", i + 1 < parts.count {
                prov = parts[i + 1]
                let rest = Array(parts[(i + 2)...])
                if rest.count >= 2 {
                    // type/name pairs: accounts/x/deployments/y → type accounts/deployments, name y
                    var types: [String] = []
                    var j = 0
                    while j + 1 < rest.count { types.append(rest[j]); name = rest[j + 1]; j += 2 }
                    type = ([parts[i + 1]] + types).joined(separator: "/")
                }
                break
            }
            i += 1
        }
        subscription = sub; resourceGroup = rg; provider = prov; self.type = type; self.name = name
    }

    /// Canonical form of a raw id: trimmed, lower-cased, no trailing slash (without parsing
    /// the parts, which is the hot path of every import).
    public static func canonical(_ raw: String) -> String {
        var s = raw.trimmingSpaces.asciiLowercased
        while s.utf8.count > 1, s.utf8.last == UInt8(ascii: "/") { s.removeLast() }
        return s
    }

    /// A resource as users give it (`--resource`, a query parameter): an ARM id, made
    /// canonical, or an account name, lower-cased. Matched against stored ids as
    /// `id = R OR id LIKE '%/' || R`.
    public static func argument(_ text: String) -> String {
        text.contains("/") ? canonical(text) : text.trimmingSpaces.asciiLowercased
    }

    /// The account name of an ARM id, or the last path segment.
    public var shortName: String { name ?? canonical.split(separator: "/").last.map(String.init) ?? canonical }
}
